-- Fair SQL, lead status change report over [T0, T1): index-only range scans
-- of transitions_fair_org_at, the org's rows with occurred_at >= T0.
-- The window's rows [T0, T1), grouped by grp (from, to, the lead's current
-- status; a few dozen groups), with filtered counts:
--   rows         every row: with the tail's, started[S] = current[S] -
--                (rows into S - rows out of S from T0 on)
--   pair_leads, in_leads, out_leads
--                rows that are the lead's first of their pair, into
--                to_status, out of from_status in the window (the previous
--                one is before T0): status_transitions, entered, left
--   first_rows   each lead's first row of the window (prev_at < T0): its
--                from_status is the status at T0 (NULL: created in the window)
--   last_rows    the row holding at T1 (valid_to >= T1) of leads with a row
--                in the window: ended[S] = started[S] - first rows out of S
--                + last rows into S
--   first_done   first rows of leads with no transition from T1 on: the
--                lead's summary pair is (from_status, cur_status); the other
--                first rows (first_rows - first_done) need fair_status_pairs.sql
-- The tail [T1, infinity) only counts its rows per (from, to) (none when T1
-- is past the data); the current status counts come last (kind 'cur').
-- Parameters: org, t0, t1; /*UNIVERSE*/ a filter on lead_pk or nothing;
-- /*CURRENT*/ the current counts' query.
SELECT 'win' AS kind, g.from_status, g.to_status, g.cur_status, a.rows, a.pair_leads, a.in_leads, a.out_leads,
       a.first_rows, a.last_rows, a.first_done
FROM (
  SELECT grp,
         count(*)::int AS rows,
         count(*) FILTER (WHERE prev_pair_at < %(t0)s)::int AS pair_leads,
         count(*) FILTER (WHERE prev_in_at < %(t0)s)::int AS in_leads,
         count(*) FILTER (WHERE prev_out_at < %(t0)s)::int AS out_leads,
         count(*) FILTER (WHERE prev_at < %(t0)s)::int AS first_rows,
         count(*) FILTER (WHERE valid_to >= %(t1)s)::int AS last_rows,
         count(*) FILTER (WHERE prev_at < %(t0)s AND lead_last_at < %(t1)s)::int AS first_done
  FROM transitions_fair
  WHERE org_id = %(org)s AND occurred_at >= %(t0)s AND occurred_at < %(t1)s /*UNIVERSE*/
  GROUP BY grp
) a JOIN status_groups g ON g.grp = a.grp
UNION ALL
SELECT 'tail', g.from_status, g.to_status, NULL, a.rows, 0, 0, 0, 0, 0, 0
FROM (
  SELECT grp, count(*)::int AS rows
  FROM transitions_fair
  WHERE org_id = %(org)s AND occurred_at >= %(t1)s /*UNIVERSE*/
  GROUP BY grp
) a JOIN status_groups g ON g.grp = a.grp
UNION ALL
/*CURRENT*/;
