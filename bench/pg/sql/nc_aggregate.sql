-- Leads Not Contacted, Aggregate: the same leads counted per OwnerId (the null
-- key first), one page of groups; TotalCount = number of groups.
SELECT l.owner_id, count(*) AS leads, count(*) OVER () AS total
FROM leads l
WHERE l.org_id = %(org)s AND NOT l.deleted /*LEADS*/
  AND l.owner_id = ANY (ARRAY(SELECT u.user_id FROM users u WHERE u.org_id = %(org)s /*USERS*/))
  AND NOT EXISTS (SELECT 1 FROM activities a
                  WHERE a.org_id = %(org)s AND a.lead_pk = l.lead_pk
                    AND a.occurred_at >= %(from)s AND a.occurred_at < %(to)s /*CODES*/)
GROUP BY l.owner_id
ORDER BY l.owner_id NULLS FIRST
LIMIT %(limit)s OFFSET %(offset)s;
