-- Fair SQL, overall report without a filter: the summary tables refreshed at
-- load (sql/fair.sql), a few rows each. kind 'cur': current status counts
-- (ended); kind 'pair': per (from, to) the all-time distinct leads of the
-- pair, into to_status, out of from_status.
SELECT 'cur' AS kind, NULL AS from_status, status_id AS to_status, leads, 0 AS in_leads, 0 AS out_leads
FROM status_current_counts WHERE org_id = %(org)s
UNION ALL
SELECT 'pair', from_status, to_status, pair_leads, in_leads, out_leads
FROM transition_counts WHERE org_id = %(org)s;
