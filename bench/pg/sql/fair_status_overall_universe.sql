-- Fair SQL, overall report narrowed by a query (/*UNIVERSE*/, a filter on
-- lead_pk): the summary tables cannot be narrowed, so the same counts from
-- the rows (a row is the lead's first of its kind when its previous
-- occurrence is '-infinity'); /*CURRENT*/: the universe's current statuses
-- from leads (kind 'cur').
SELECT 'pair' AS kind, g.from_status, g.to_status, sum(a.leads)::int, sum(a.in_leads)::int,
       sum(a.out_leads)::int
FROM (
  SELECT grp,
         count(*) FILTER (WHERE prev_pair_at = '-infinity') AS leads,
         count(*) FILTER (WHERE prev_in_at = '-infinity') AS in_leads,
         count(*) FILTER (WHERE prev_out_at = '-infinity') AS out_leads
  FROM transitions_fair WHERE org_id = %(org)s /*UNIVERSE*/
  GROUP BY grp
) a JOIN status_groups g ON g.grp = a.grp
GROUP BY g.from_status, g.to_status
UNION ALL
/*CURRENT*/;
