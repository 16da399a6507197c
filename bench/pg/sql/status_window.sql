-- entered, left and status_transitions: distinct leads with a transition in
-- the window (into S, out of S, per (from, to) pair; creations have from =
-- NULL). Index-only range scan on transitions_org_at.
-- Parameters: org, t0, t1 (the overall report drops the time condition).
WITH w AS (
  SELECT DISTINCT lead_pk, from_status, to_status
  FROM transitions
  WHERE org_id = %(org)s /*WINDOW*/ /*UNIVERSE*/
)
SELECT 'pair' AS kind, from_status, to_status, count(*) FROM w GROUP BY from_status, to_status
UNION ALL
SELECT 'entered', NULL, to_status, count(DISTINCT lead_pk) FROM w GROUP BY to_status
UNION ALL
SELECT 'left', from_status, NULL, count(DISTINCT lead_pk) FROM w WHERE from_status IS NOT NULL GROUP BY from_status;
