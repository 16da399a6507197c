-- leadflow PostgreSQL baseline (fair): a batch of new events taken in
-- incrementally, as a user who keeps the fair tables current would (the
-- freshness cost; bench/freshness_cost.py pg_apply_batch runs the steps).
-- Around these steps it reuses, with tables renamed:
--   derive.sql's `events` step on the batch (raw_events -> b_raw,
--     events -> b_events), giving the batch's typed events;
--   derive.sql's lead steps on the touched leads' events (events -> tev,
--     lead_created -> d_lead_created, ..., leads -> d_leads);
--   fair.sql's per-lead statements (transitions_fair, lead_text_fields,
--     lead_field_list, status_current_counts, transition_counts) on the
--     d_* tables.
-- Every table made here is a TEMP table, dropped at the end.

-- step: append
-- The batch's events not stored yet (dedup on the primary key (org_id,
-- event_id); lines were numbered after every stored line), appended; the
-- leads they name, and every stored event of those leads (events_org_lead).
CREATE TEMP TABLE b_new AS
WITH ins AS (
  INSERT INTO events SELECT * FROM b_events ORDER BY line
  ON CONFLICT (org_id, event_id) DO NOTHING
  RETURNING org_id, lead_id, type, status_id, occurred_at
)
SELECT * FROM ins;
UPDATE event_lines SET max_line = greatest(max_line, (SELECT max(line) FROM b_events));
CREATE TEMP TABLE b_touched AS SELECT DISTINCT org_id, lead_id FROM b_new WHERE lead_id IS NOT NULL;
CREATE TEMP TABLE tev AS
SELECT e.* FROM events e JOIN b_touched t ON t.org_id = e.org_id AND t.lead_id = e.lead_id
WHERE e.lead_id IS NOT NULL;

-- step: catalog_changed
-- true when statuses or users must be derived again: the batch has status or
-- user events, or names a status its org has not seen (or saw only later).
SELECT EXISTS (
  SELECT 1 FROM b_new n LEFT JOIN statuses s ON s.org_id = n.org_id AND s.status_id = n.status_id
  WHERE n.type IN ('status.upserted', 'status.deleted', 'user.upserted')
     OR (n.type IN ('lead.created', 'lead.status_changed')
         AND (s.status_id IS NULL OR n.occurred_at < s.first_seen)));

-- step: remap
-- d_lead_created numbered its leads from 1: a known lead keeps its lead_pk,
-- a new one gets the next free numbers.
CREATE TEMP TABLE d_lc AS
WITH m AS (
  SELECT d.*, l.lead_pk AS old_pk
  FROM d_lead_created d LEFT JOIN leads l ON l.org_id = d.org_id AND l.lead_id = d.lead_id
)
SELECT coalesce(old_pk, (SELECT coalesce(max(lead_pk), 0) FROM leads)
                        + row_number() OVER (PARTITION BY old_pk IS NULL ORDER BY org_id, lead_id))::int AS lead_pk,
       org_id, lead_id, created_at, created_line, created_status, owner_id, fields, deleted
FROM m;
DROP TABLE d_lead_created;
ALTER TABLE d_lc RENAME TO d_lead_created;

-- step: groups
-- status_groups gains the (org, from, to, current status) keys the touched
-- leads now have and no stored row has.
INSERT INTO status_groups
SELECT (SELECT coalesce(max(grp), 0) FROM status_groups)
       + (row_number() OVER (ORDER BY org_id, from_status NULLS FIRST, to_status, cur_status))::int,
       org_id, from_status, to_status, cur_status
FROM (SELECT DISTINCT t.org_id, t.from_status, t.to_status, l.status AS cur_status
      FROM d_transitions t JOIN d_leads l ON l.lead_pk = t.lead_pk) d
WHERE NOT EXISTS (SELECT 1 FROM status_groups g
                  WHERE g.org_id = d.org_id AND g.from_status IS NOT DISTINCT FROM d.from_status
                    AND g.to_status = d.to_status AND g.cur_status = d.cur_status);

-- step: merge
-- The touched leads' rows replaced by their re-derived ones; the summary
-- counts of their orgs = stored - the touched leads' old rows + their new
-- rows (d_status_current_counts, d_transition_counts: fair.sql's
-- statements on the d_* tables).
CREATE TEMP TABLE b_pks AS SELECT org_id, lead_pk FROM d_lead_created;
CREATE TEMP TABLE o_cur AS
SELECT t.org_id, t.to_status AS status_id, -count(*)::int AS leads
FROM transitions t JOIN b_pks p ON p.org_id = t.org_id AND p.lead_pk = t.lead_pk
WHERE t.valid_to = 'infinity'
GROUP BY t.org_id, t.to_status;
CREATE TEMP TABLE o_pairs AS
SELECT g.org_id, g.from_status, g.to_status,
       -count(*) FILTER (WHERE t.prev_pair_at = '-infinity')::int AS pair_leads,
       -count(*) FILTER (WHERE t.prev_in_at = '-infinity')::int AS in_leads,
       -count(*) FILTER (WHERE t.prev_out_at = '-infinity' AND g.from_status IS NOT NULL)::int AS out_leads
FROM transitions_fair t JOIN b_pks p ON p.lead_pk = t.lead_pk JOIN status_groups g ON g.grp = t.grp
GROUP BY g.org_id, g.from_status, g.to_status;
DELETE FROM transitions t USING b_pks p WHERE t.org_id = p.org_id AND t.lead_pk = p.lead_pk;
INSERT INTO transitions SELECT * FROM d_transitions;
DELETE FROM activities a USING b_pks p WHERE a.org_id = p.org_id AND a.lead_pk = p.lead_pk;
INSERT INTO activities SELECT * FROM d_activities;
DELETE FROM leads l USING b_pks p WHERE l.lead_pk = p.lead_pk;
INSERT INTO leads SELECT * FROM d_leads;
DELETE FROM transitions_fair t USING b_pks p WHERE t.lead_pk = p.lead_pk;
INSERT INTO transitions_fair SELECT * FROM d_transitions_fair;
DELETE FROM lead_text_fields f USING b_pks p WHERE f.lead_pk = p.lead_pk;
INSERT INTO lead_text_fields SELECT * FROM d_lead_text_fields;
DELETE FROM lead_field_list f USING b_pks p WHERE f.lead_pk = p.lead_pk;
INSERT INTO lead_field_list SELECT * FROM d_lead_field_list;
CREATE TEMP TABLE n_cur AS
SELECT org_id, status_id, sum(leads)::int AS leads
FROM (SELECT * FROM status_current_counts WHERE org_id IN (SELECT DISTINCT org_id FROM b_touched)
      UNION ALL SELECT * FROM o_cur
      UNION ALL SELECT * FROM d_status_current_counts) c
GROUP BY org_id, status_id;
DELETE FROM status_current_counts WHERE org_id IN (SELECT DISTINCT org_id FROM b_touched);
INSERT INTO status_current_counts SELECT * FROM n_cur WHERE leads <> 0;
CREATE TEMP TABLE n_pairs AS
SELECT org_id, from_status, to_status,
       sum(pair_leads)::int AS pair_leads, sum(in_leads)::int AS in_leads, sum(out_leads)::int AS out_leads
FROM (SELECT * FROM transition_counts WHERE org_id IN (SELECT DISTINCT org_id FROM b_touched)
      UNION ALL SELECT * FROM o_pairs
      UNION ALL SELECT * FROM d_transition_counts) c
GROUP BY org_id, from_status, to_status;
DELETE FROM transition_counts WHERE org_id IN (SELECT DISTINCT org_id FROM b_touched);
INSERT INTO transition_counts
SELECT * FROM n_pairs WHERE pair_leads <> 0 OR in_leads <> 0 OR out_leads <> 0;

-- step: cleanup
DROP TABLE b_raw, b_events, b_new, b_touched, tev, b_pks, o_cur, o_pairs, n_cur, n_pairs,
  d_lead_created, d_lead_changes, d_lead_updates, d_activities, d_transitions, d_leads,
  d_transitions_fair, d_lead_text_fields, d_lead_field_list, d_status_current_counts, d_transition_counts;
