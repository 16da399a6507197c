-- leadflow PostgreSQL baseline, the "fair" part: what a competent
-- PostgreSQL user keeps beside the plain schema for these two reports.
-- Run by pgbase.py after derive.sql and indexes.sql, before VACUUM ANALYZE;
-- each step is timed (results: pg_load.fair_seconds, steps fair_*).
-- The report SQL that reads these tables is in fair_*.sql (bench/pg/fair.py).

-- step: fair_transitions
-- The effective transitions again, each row carrying what makes "distinct
-- leads with at least one X in [T0, T1)" a filtered count without DISTINCT:
-- the instant of the same lead's previous transition (prev_at), of its
-- previous transition with the same (from, to) pair (prev_pair_at), into
-- the same status (prev_in_at) and out of the same status (prev_out_at),
-- '-infinity' when there is none. A row in [T0, T1) is the lead's first X of
-- the window iff its previous X is before T0. Rows also carry the lead's
-- current status (cur_status) and the instant of its last transition
-- (lead_last_at): when lead_last_at < T1, the lead's status at T1 is
-- cur_status, so the summary pair (status at T0, status at T1) of a lead is
-- (from_status, cur_status) of its first row in the window, with no
-- grouping per lead. The heap is written in (org_id, occurred_at) order.
CREATE TABLE transitions_fair AS
SELECT org_id, lead_pk, occurred_at, valid_to, from_status, to_status,
       coalesce(lag(occurred_at) OVER l, '-infinity') AS prev_at,
       coalesce(lag(occurred_at) OVER (PARTITION BY lead_pk, from_status, to_status ORDER BY ord), '-infinity')
         AS prev_pair_at,
       coalesce(lag(occurred_at) OVER (PARTITION BY lead_pk, to_status ORDER BY ord), '-infinity') AS prev_in_at,
       coalesce(lag(occurred_at) OVER (PARTITION BY lead_pk, from_status ORDER BY ord), '-infinity') AS prev_out_at,
       last_value(to_status) OVER lall AS cur_status,
       last_value(occurred_at) OVER lall AS lead_last_at
FROM transitions
WINDOW l AS (PARTITION BY lead_pk ORDER BY ord),
       lall AS (l ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
ORDER BY org_id, occurred_at;

-- step: fair_summaries
-- The overall report, refreshed at load: current status counts, and per
-- (from, to) pair the all-time distinct leads that made the pair, entered
-- to_status, left from_status (entered[S] = sum of in_leads over to = S,
-- left[S] = sum of out_leads over from = S).
CREATE TABLE status_current_counts AS
SELECT org_id, to_status AS status_id, count(*)::int AS leads
FROM transitions WHERE valid_to = 'infinity'
GROUP BY org_id, to_status;
CREATE TABLE transition_counts AS
SELECT org_id, from_status, to_status,
       count(*) FILTER (WHERE prev_pair_at = '-infinity')::int AS pair_leads,
       count(*) FILTER (WHERE prev_in_at = '-infinity')::int AS in_leads,
       count(*) FILTER (WHERE prev_out_at = '-infinity' AND from_status IS NOT NULL)::int AS out_leads
FROM transitions_fair
GROUP BY org_id, from_status, to_status;

-- step: fair_indexes
-- Windows: one index-only range scan of the org's rows from T0 on.
CREATE INDEX transitions_fair_org_at ON transitions_fair (org_id, occurred_at)
  INCLUDE (lead_pk, valid_to, from_status, to_status, prev_at, prev_pair_at, prev_in_at, prev_out_at,
           cur_status, lead_last_at);
CREATE INDEX status_current_counts_org ON status_current_counts (org_id);
CREATE INDEX transition_counts_org ON transition_counts (org_id);
-- Leads Not Contacted: the live leads of an org with a given Source, in
-- the list's order (CreatedOn, ProspectID), with what the user filter and
-- the last-activity test read (the heap is still visited: PostgreSQL 15
-- plans no index-only scan when a query names `fields`, even inside the
-- indexed expression).
CREATE INDEX leads_org_source_nc ON leads (org_id, (fields->>'Source'), created_at, lead_id)
  INCLUDE (owner_id, last_activity_at) WHERE NOT deleted;
