-- The overall report without a query: the all-time counts summed at load.
-- Columns as status_counts.sql (started is 0: not part of the overall report).
SELECT from_status, to_status, 0, ended, entered, left_, pairs
FROM overall_counts WHERE org_id = $org;
