-- DuckDB peer: a batch of new events taken in incrementally (the freshness
-- cost, bench/peers/README.md "Freshness cost"). Run by common.py
-- Peer.apply_batch() around two things it reuses: load.sql on the batch
-- file (its tables renamed raw -> b_raw, events -> b_events, load_stats ->
-- b_stats) and derive.sql's lead steps on the touched leads' events only
-- (tables renamed events -> tev, lead_created -> d_lead_created, ...).

-- step: append
-- The batch's events not already stored (dedup by (org_id, event_id)),
-- numbered after every stored line (arrival order), appended to events;
-- the leads they name, and every stored event of those leads.
CREATE TABLE b_new AS
SELECT * REPLACE (line + (SELECT coalesce(max(line), -1) + 1 FROM events) AS line)
FROM b_events b
WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.org_id = b.org_id AND e.event_id = b.event_id);
INSERT INTO events SELECT * FROM b_new;
CREATE TABLE b_touched AS SELECT DISTINCT org_id, lead_id FROM b_new WHERE lead_id IS NOT NULL;
CREATE TABLE tev AS
SELECT e.* FROM events e SEMI JOIN b_touched t ON t.org_id = e.org_id AND t.lead_id = e.lead_id;

-- step: remap
-- d_lead_created numbered its leads from 1: a known lead keeps its lead_pk,
-- a new one gets the next free numbers.
CREATE TABLE d_lc AS
WITH m AS (
  SELECT d.*, l.lead_pk AS old_pk
  FROM d_lead_created d LEFT JOIN leads l ON l.org_id = d.org_id AND l.lead_id = d.lead_id
)
SELECT coalesce(old_pk, (SELECT coalesce(max(lead_pk), 0) FROM leads)
                        + row_number() OVER (PARTITION BY old_pk IS NULL ORDER BY org_id, lead_id))::INTEGER AS lead_pk,
       org_id, lead_id, created_at, created_status, owner_id, fields, deleted
FROM m;
DROP TABLE d_lead_created;
ALTER TABLE d_lc RENAME TO d_lead_created;

-- step: merge
-- The touched leads' rows replaced by their re-derived ones; overall_counts
-- of the touched orgs = stored - the touched leads' old rows + their new rows.
CREATE TABLE o_old AS
SELECT org_id, from_status, to_status,
       count(*) FILTER (WHERE valid_to = 9223372036854775807) AS ended,
       count(*) FILTER (WHERE prev_to_at IS NULL) AS entered,
       count(*) FILTER (WHERE from_status IS NOT NULL AND prev_from_at IS NULL) AS left_,
       count(*) FILTER (WHERE prev_pair_at IS NULL) AS pairs
FROM transitions WHERE lead_pk IN (SELECT lead_pk FROM d_lead_created)
GROUP BY org_id, from_status, to_status;
DELETE FROM transitions WHERE lead_pk IN (SELECT lead_pk FROM d_lead_created);
INSERT INTO transitions SELECT * FROM d_transitions;
DELETE FROM activities WHERE lead_pk IN (SELECT lead_pk FROM d_lead_created);
INSERT INTO activities SELECT * FROM d_activities;
DELETE FROM leads WHERE lead_pk IN (SELECT lead_pk FROM d_lead_created);
INSERT INTO leads SELECT * FROM d_leads;
CREATE TABLE o_new AS
SELECT org_id, from_status, to_status, sum(ended) AS ended, sum(entered) AS entered, sum(left_) AS left_,
       sum(pairs) AS pairs
FROM (SELECT * FROM overall_counts WHERE org_id IN (SELECT org_id FROM b_touched)
      UNION ALL
      SELECT org_id, from_status, to_status, -ended, -entered, -left_, -pairs FROM o_old
      UNION ALL
      SELECT * FROM d_overall_counts)
GROUP BY org_id, from_status, to_status;
DELETE FROM overall_counts WHERE org_id IN (SELECT org_id FROM b_touched);
INSERT INTO overall_counts
SELECT * FROM o_new WHERE ended <> 0 OR entered <> 0 OR left_ <> 0 OR pairs <> 0;

-- step: cleanup
DROP TABLE b_events;
DROP TABLE b_stats;
DROP TABLE b_new;
DROP TABLE b_touched;
DROP TABLE tev;
DROP TABLE d_lead_created;
DROP TABLE d_lead_events;
DROP TABLE d_transitions;
DROP TABLE d_activities;
DROP TABLE d_leads;
DROP TABLE d_overall_counts;
DROP TABLE o_old;
DROP TABLE o_new;
