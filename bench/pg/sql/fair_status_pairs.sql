-- Fair SQL, status_transitions_summary of the leads with a transition in
-- [T0, T1) and another from T1 on (first_rows > first_done in
-- fair_status_window.sql; none when T1 is past the data): per lead, the
-- from_status of its first row of the window and the to_status of the row
-- holding at T1 (each row is one or the other or both: at most two rows per
-- lead are grouped).
SELECT g0.from_status, g1.to_status, count(*)::int
FROM (
  SELECT lead_pk,
         min(grp) FILTER (WHERE prev_at < %(t0)s) AS grp0,
         min(grp) FILTER (WHERE valid_to >= %(t1)s) AS grp1
  FROM transitions_fair
  WHERE org_id = %(org)s AND occurred_at >= %(t0)s AND occurred_at < %(t1)s AND lead_last_at >= %(t1)s
    AND (prev_at < %(t0)s OR valid_to >= %(t1)s) /*UNIVERSE*/
  GROUP BY lead_pk
) per_lead
JOIN status_groups g0 ON g0.grp = per_lead.grp0
JOIN status_groups g1 ON g1.grp = per_lead.grp1
WHERE g0.from_status IS DISTINCT FROM g1.to_status
GROUP BY g0.from_status, g1.to_status;
