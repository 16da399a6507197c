-- Fair SQL, Leads Not Contacted, Aggregate: the leads of fair_nc_list.sql
-- counted per OwnerId (the null key first), one page of groups.
SELECT l.owner_id, count(*) AS leads, count(*) OVER () AS total
FROM /*FROM*/ l
WHERE l.org_id = %(org)s /*LEADS*/
  AND l.owner_id = ANY (ARRAY(SELECT u.user_id FROM users u WHERE u.org_id = %(org)s /*USERS*/))
  AND /*NC*/
GROUP BY l.owner_id
ORDER BY l.owner_id NULLS FIRST
LIMIT %(limit)s OFFSET %(offset)s;
