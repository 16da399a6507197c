-- Fair SQL, Leads Not Contacted, List: as nc_list.sql, over
-- /*FROM*/ = lead_field_list (sql/fair.sql) with /*LEADS*/ = its field and
-- value (an index-only scan in list order; or leads with the naive lead
-- filters and NOT deleted), and with the lead's latest activity instant
-- (last_activity_at, exact: every activity of the lead counts, before its
-- creation too) deciding most leads without touching activities: none or
-- before the window -> not contacted; inside the window -> contacted; only
-- a lead whose latest activity is at or after the window's end needs the
-- NOT EXISTS probe. /*NC*/ is that test, or the plain NOT EXISTS when
-- activity codes are filtered (last_activity_at is over every code).
SELECT l.lead_id, l.owner_id, to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS created_on,
       count(*) OVER () AS total
FROM /*FROM*/ l
WHERE l.org_id = %(org)s /*LEADS*/
  AND l.owner_id = ANY (ARRAY(SELECT u.user_id FROM users u WHERE u.org_id = %(org)s /*USERS*/))
  AND /*NC*/
ORDER BY l.created_at, l.lead_id
LIMIT %(limit)s OFFSET %(offset)s;
