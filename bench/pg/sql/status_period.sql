-- Lead status change report over [T0, T1): the (status at T0, status at T1)
-- matrix of the org's live leads, from which started, ended, gained, lost and
-- status_transitions_summary follow. One index range scan on
-- transitions_org_valid_to: the rows current at some instant of [T0, T1]
-- (valid_to >= T0 AND occurred_at < T1); per lead, the row holding at T0
-- and the row holding at T1 (each unique: status_at(T) is the row with
-- occurred_at < T <= valid_to).
-- Parameters: org, t0, t1; /*UNIVERSE*/ is replaced by a filter on lead_pk
-- (bench/scenarios.py) or by nothing.
SELECT s0, s1, count(*) AS leads
FROM (
  SELECT lead_pk,
         min(to_status) FILTER (WHERE occurred_at < %(t0)s) AS s0,
         min(to_status) FILTER (WHERE valid_to >= %(t1)s) AS s1
  FROM transitions
  WHERE org_id = %(org)s AND valid_to >= %(t0)s AND occurred_at < %(t1)s /*UNIVERSE*/
  GROUP BY lead_pk
) per_lead
GROUP BY s0, s1;
