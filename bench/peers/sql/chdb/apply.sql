-- chdb peer: a batch of new events taken in incrementally (the freshness
-- cost, bench/peers/README.md "Freshness cost"); see sql/duckdb/apply.sql
-- for how common.py Peer.apply_batch() runs it. Stored rows are removed
-- with lightweight DELETE (rows masked at once, parts rewritten later by
-- merges); scratch tables are in memory.

-- step: append
CREATE TABLE b_new ENGINE = Memory AS
SELECT * REPLACE (line + (SELECT max(line) + 1 FROM events) AS line)
FROM b_events
WHERE (org_id, event_id) NOT IN (SELECT org_id, event_id FROM events
                                 WHERE org_id IN (SELECT DISTINCT org_id FROM b_events));
INSERT INTO events SELECT * FROM b_new;
CREATE TABLE b_touched ENGINE = Memory AS
SELECT DISTINCT org_id, assumeNotNull(lead_id) AS lead_id FROM b_new WHERE lead_id IS NOT NULL;
CREATE TABLE tev ENGINE = Memory AS
SELECT * FROM events
WHERE org_id IN (SELECT org_id FROM b_touched) AND (org_id, lead_id) IN (SELECT org_id, lead_id FROM b_touched);

-- step: remap
CREATE TABLE d_lc ENGINE = MergeTree ORDER BY lead_pk AS
SELECT toUInt32(assumeNotNull(if(l.lead_pk IS NULL,
                   (SELECT max(lead_pk) FROM leads)
                   + row_number() OVER (PARTITION BY l.lead_pk IS NULL ORDER BY d.org_id, d.lead_id),
                   l.lead_pk))) AS lead_pk,
       d.org_id AS org_id, d.lead_id AS lead_id, d.created_at AS created_at, d.created_status AS created_status,
       d.owner_id AS owner_id, d.fields AS fields, d.deleted AS deleted
FROM d_lead_created d LEFT JOIN leads l ON l.org_id = d.org_id AND l.lead_id = d.lead_id;
DROP TABLE d_lead_created;
RENAME TABLE d_lc TO d_lead_created;

-- step: merge
CREATE TABLE o_old ENGINE = Memory AS
SELECT org_id, from_status, to_status,
       toInt64(countIf(valid_to = 9223372036854775807)) AS ended,
       toInt64(countIf(prev_to_at IS NULL)) AS entered,
       toInt64(countIf(from_status IS NOT NULL AND prev_from_at IS NULL)) AS left_,
       toInt64(countIf(prev_pair_at IS NULL)) AS pairs
FROM transitions WHERE lead_pk IN (SELECT lead_pk FROM d_lead_created)
GROUP BY org_id, from_status, to_status;
DELETE FROM transitions WHERE lead_pk IN (SELECT lead_pk FROM d_lead_created);
INSERT INTO transitions SELECT * FROM d_transitions;
DELETE FROM activities WHERE lead_pk IN (SELECT lead_pk FROM d_lead_created);
INSERT INTO activities SELECT * FROM d_activities;
DELETE FROM leads WHERE lead_pk IN (SELECT lead_pk FROM d_lead_created);
INSERT INTO leads SELECT * FROM d_leads;
CREATE TABLE o_new ENGINE = Memory AS
SELECT org_id, from_status, to_status, sum(ended) AS ended, sum(entered) AS entered, sum(left_) AS left_,
       sum(pairs) AS pairs
FROM (SELECT org_id, from_status, to_status, toInt64(ended) AS ended, toInt64(entered) AS entered,
             toInt64(left_) AS left_, toInt64(pairs) AS pairs
      FROM overall_counts WHERE org_id IN (SELECT org_id FROM b_touched)
      UNION ALL
      SELECT org_id, from_status, to_status, -ended, -entered, -left_, -pairs FROM o_old
      UNION ALL
      SELECT org_id, from_status, to_status, toInt64(ended), toInt64(entered), toInt64(left_), toInt64(pairs)
      FROM d_overall_counts)
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
