-- status_transitions_summary (and gained, lost): only a lead with a
-- transition in [t0, t1) can be in another status at t1 than at t0. r1: its
-- row holding at t1, made inside the window; r0: its row holding at t0,
-- which then ends inside the window (none when created at or after t0).
WITH r1 AS (
  SELECT lead_pk, to_status AS s1 FROM transitions
  WHERE org_id = $org AND ts >= $t0 AND ts < $t1 AND valid_to >= $t1 /*UNIVERSE*/
), r0 AS (
  SELECT lead_pk, to_status AS s0 FROM transitions
  WHERE org_id = $org AND ts < $t0 AND valid_to >= $t0 AND valid_to < $t1 /*UNIVERSE*/
)
SELECT r0.s0, r1.s1, count(*) AS leads
FROM r1 LEFT JOIN r0 USING (lead_pk)
WHERE r0.s0 IS DISTINCT FROM r1.s1
GROUP BY r0.s0, r1.s1;
