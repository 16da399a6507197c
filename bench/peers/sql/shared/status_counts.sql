-- One scan of the org's transitions that can matter for [t0, t1) (at < t1,
-- valid_to >= t0) counting, per (from, to):
--   started: the row holding at t0 (at < t0 <= valid_to) is in to;
--   ended:   the row holding at t1;
--   entered, left, pairs: rows in the window whose previous occurrence of the
--   same to / from / pair is before t0 (or none): each lead once.
-- The overall report with a query runs it with t0 = -inf, t1 = +inf.
-- /*UNIVERSE*/: the Close query's filter on lead_pk, or nothing.
SELECT from_status, to_status,
       count(*) FILTER (WHERE ts < $t0 AND valid_to >= $t0) AS started,
       count(*) FILTER (WHERE valid_to >= $t1) AS ended,
       count(*) FILTER (WHERE ts >= $t0 AND (prev_to_at IS NULL OR prev_to_at < $t0)) AS entered,
       count(*) FILTER (WHERE ts >= $t0 AND from_status IS NOT NULL
                          AND (prev_from_at IS NULL OR prev_from_at < $t0)) AS left_,
       count(*) FILTER (WHERE ts >= $t0 AND (prev_pair_at IS NULL OR prev_pair_at < $t0)) AS pairs
FROM transitions
WHERE org_id = $org AND ts < $t1 AND valid_to >= $t0 /*UNIVERSE*/
GROUP BY from_status, to_status;
