-- Fair SQL, lead status change report over [T0, T1): one index-only range
-- scan of transitions_fair_org_at (the org's rows with occurred_at >= T0),
-- grouped by (from, to, the lead's current status): a few dozen groups.
--   suffix_rows  every row from T0 on: started[S] = current[S] - (rows into
--                S - rows out of S from T0 on)
--   pair_leads, in_leads, out_leads
--                rows of the window that are the lead's first of their pair,
--                into to_status, out of from_status (previous one < T0):
--                status_transitions, entered, left
--   first_rows   each lead's first row of the window (prev_at < T0): its
--                from_status is the status at T0 (NULL: created in the window)
--   last_rows    the row holding at T1 (valid_to >= T1) of leads with a row
--                in the window: ended[S] = started[S] - first rows out of S
--                + last rows into S
--   first_done   first rows of leads with no transition from T1 on: the
--                lead's summary pair is (from_status, cur_status)
--   first_open   first rows of the other leads (fair_status_pairs.sql)
-- Current status counts come with it (kind 'cur').
-- Parameters: org, t0, t1; /*UNIVERSE*/ a filter on lead_pk or nothing;
-- /*CURRENT*/ the current counts' query.
SELECT 'row' AS kind, from_status, to_status, cur_status,
       count(*)::int AS suffix_rows,
       count(*) FILTER (WHERE occurred_at < %(t1)s AND prev_pair_at < %(t0)s)::int AS pair_leads,
       count(*) FILTER (WHERE occurred_at < %(t1)s AND prev_in_at < %(t0)s)::int AS in_leads,
       count(*) FILTER (WHERE occurred_at < %(t1)s AND prev_out_at < %(t0)s)::int AS out_leads,
       count(*) FILTER (WHERE occurred_at < %(t1)s AND prev_at < %(t0)s)::int AS first_rows,
       count(*) FILTER (WHERE occurred_at < %(t1)s AND valid_to >= %(t1)s)::int AS last_rows,
       count(*) FILTER (WHERE occurred_at < %(t1)s AND prev_at < %(t0)s AND lead_last_at < %(t1)s)::int AS first_done,
       count(*) FILTER (WHERE occurred_at < %(t1)s AND prev_at < %(t0)s AND lead_last_at >= %(t1)s)::int AS first_open
FROM transitions_fair
WHERE org_id = %(org)s AND occurred_at >= %(t0)s /*UNIVERSE*/
GROUP BY from_status, to_status, cur_status
UNION ALL
/*CURRENT*/;
