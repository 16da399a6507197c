-- Fair SQL, status_transitions_summary of the leads with a transition in
-- [T0, T1) and another from T1 on (first_open > 0 in fair_status_window.sql;
-- none when T1 is past the data): per lead, the from_status of its first row
-- of the window and the to_status of the row holding at T1 (each row is one
-- or the other or both: at most two rows per lead are grouped).
SELECT s0, s1, count(*)::int
FROM (
  SELECT lead_pk,
         min(from_status) FILTER (WHERE prev_at < %(t0)s) AS s0,
         min(to_status) FILTER (WHERE valid_to >= %(t1)s) AS s1
  FROM transitions_fair
  WHERE org_id = %(org)s AND occurred_at >= %(t0)s AND occurred_at < %(t1)s AND lead_last_at >= %(t1)s
    AND (prev_at < %(t0)s OR valid_to >= %(t1)s) /*UNIVERSE*/
  GROUP BY lead_pk
) per_lead
WHERE s0 IS DISTINCT FROM s1
GROUP BY s0, s1;
