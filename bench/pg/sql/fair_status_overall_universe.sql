-- Fair SQL, overall report narrowed by a query (/*UNIVERSE*/, a filter on
-- lead_pk): the summary tables cannot be narrowed, so the same counts from
-- the rows (a row is the lead's first of its kind when its previous
-- occurrence is '-infinity'); /*CURRENT*/: the universe's current statuses
-- from leads (kind 'cur').
SELECT 'pair' AS kind, from_status, to_status,
       count(*) FILTER (WHERE prev_pair_at = '-infinity')::int AS leads,
       count(*) FILTER (WHERE prev_in_at = '-infinity')::int AS in_leads,
       count(*) FILTER (WHERE prev_out_at = '-infinity' AND from_status IS NOT NULL)::int AS out_leads
FROM transitions_fair WHERE org_id = %(org)s /*UNIVERSE*/
GROUP BY from_status, to_status
UNION ALL
/*CURRENT*/;
