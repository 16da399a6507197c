-- Leads Not Contacted, List: live leads passing the lead filters (/*LEADS*/)
-- and the user filter (owner in /*USERS*/), with no activity of the codes
-- (/*CODES*/) in [from, to); sorted by CreatedOn then ProspectID; one page.
-- The user set is computed once (an InitPlan), then matched as owner_id = ANY.
-- TotalCount is counted over the whole result by the window function.
SELECT l.lead_id, l.owner_id, to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS created_on,
       count(*) OVER () AS total
FROM leads l
WHERE l.org_id = %(org)s AND NOT l.deleted /*LEADS*/
  AND l.owner_id = ANY (ARRAY(SELECT u.user_id FROM users u WHERE u.org_id = %(org)s /*USERS*/))
  AND NOT EXISTS (SELECT 1 FROM activities a
                  WHERE a.org_id = %(org)s AND a.lead_pk = l.lead_pk
                    AND a.occurred_at >= %(from)s AND a.occurred_at < %(to)s /*CODES*/)
ORDER BY l.created_at, l.lead_id
LIMIT %(limit)s OFFSET %(offset)s;
