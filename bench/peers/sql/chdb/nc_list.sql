-- Leads Not Contacted, List: live leads of the org passing the lead filter
-- (/*LEADS*/) whose owner is in the user set (role precomputed at load),
-- not contacted in [w0, w1) (/*CONTACTED*/, bench/peers/common.py), in
-- CreatedOn then ProspectID order; one page, TotalCount over all of them.
SELECT l.lead_id, l.owner_id, formatDateTime(fromUnixTimestamp64Milli(l.created_at, 'UTC'), '%Y-%m-%d %H:%i:%S') AS created_on,
       count(*) OVER () AS total
FROM leads l
WHERE l.org_id = $org AND NOT l.deleted /*LEADS*/
  AND l.owner_id IN (SELECT user_id FROM users WHERE org_id = $org AND role IN $roles)
  AND NOT /*CONTACTED*/
ORDER BY l.created_at, l.lead_id
LIMIT $limit OFFSET $offset;
