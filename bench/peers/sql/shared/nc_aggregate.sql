-- Leads Not Contacted, Aggregate: the same leads counted per OwnerId (the
-- null key first); one page of groups, TotalCount = number of groups.
SELECT l.owner_id, count(*) AS leads, count(*) OVER () AS total
FROM leads l
WHERE l.org_id = $org AND NOT l.deleted /*LEADS*/
  AND l.owner_id IN (SELECT user_id FROM users WHERE org_id = $org AND role IN $roles)
  AND NOT /*CONTACTED*/
GROUP BY l.owner_id
ORDER BY l.owner_id NULLS FIRST
LIMIT $limit OFFSET $offset;
