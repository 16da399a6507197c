-- leadflow PostgreSQL baseline: from raw_events to the reporting tables.
-- Statements are separated by lines that end with ';'. A line
-- `-- step: NAME` starts a timed step (bench/pg/pgbase.py reports each).
-- Event order everywhere: (occurred_at, line); `line` is the first arrival
-- of the event, so it orders ties exactly like leadflow's arrival sequence.

-- step: events
-- Typed events: every valid line (contract section 1: required fields,
-- types, RFC 3339 time), duplicates still included.
CREATE TABLE events AS
SELECT line, org_id, event_id, type, occurred_at,
       doc->>'lead_id'   AS lead_id,
       doc->>'status_id' AS status_id,
       doc->>'owner_id'  AS owner_id,
       doc->>'user_id'   AS user_id,
       CASE WHEN type IN ('lead.created', 'lead.updated', 'user.upserted')
            THEN nullif(doc->'fields', 'null') END AS fields,
       doc->>'label'     AS label,
       CASE WHEN type = 'status.upserted' THEN (doc->>'position')::bigint END AS position,
       CASE WHEN type = 'activity.logged' THEN (doc->>'activity_event')::bigint END AS activity_event,
       doc->>'activity_name' AS activity_name
FROM (
  SELECT line, doc, doc->>'org_id' AS org_id, doc->>'event_id' AS event_id, doc->>'type' AS type,
         lf_ts(doc->>'occurred_at') AS occurred_at
  FROM raw_events
  WHERE jsonb_typeof(doc) = 'object'
) r
WHERE lf_is_id(doc->'event_id')
  AND org_id ~ '^[A-Za-z0-9_-]+$' AND octet_length(org_id) <= 64
  AND jsonb_typeof(doc->'org_id') = 'string'
  AND jsonb_typeof(doc->'occurred_at') = 'string'
  AND occurred_at IS NOT NULL
  AND CASE type
    WHEN 'status.upserted' THEN lf_is_id(doc->'status_id') AND jsonb_typeof(doc->'label') = 'string'
         AND (doc->'position' IS NULL OR jsonb_typeof(doc->'position') = 'null'
              OR (jsonb_typeof(doc->'position') = 'number' AND doc->>'position' ~ '^-?[0-9]+$'
                  AND octet_length(ltrim(doc->>'position', '-')) <= 18))
    WHEN 'status.deleted' THEN lf_is_id(doc->'status_id')
    WHEN 'user.upserted' THEN lf_is_id(doc->'user_id') AND lf_is_fields(doc->'fields')
    WHEN 'lead.created' THEN lf_is_id(doc->'lead_id') AND lf_is_id(doc->'status_id')
         AND lf_is_opt_id(doc->'owner_id')
         AND (doc->'fields' IS NULL OR jsonb_typeof(doc->'fields') = 'null' OR lf_is_fields(doc->'fields'))
    WHEN 'lead.updated' THEN lf_is_id(doc->'lead_id') AND lf_is_fields(doc->'fields')
         AND lf_is_opt_id(doc->'owner_id')
    WHEN 'lead.status_changed' THEN lf_is_id(doc->'lead_id') AND lf_is_id(doc->'status_id')
         AND lf_is_opt_id(doc->'previous_status_id') AND lf_is_opt_id(doc->'user_id')
    WHEN 'lead.deleted' THEN lf_is_id(doc->'lead_id')
    WHEN 'activity.logged' THEN lf_is_id(doc->'lead_id') AND lf_is_id(doc->'activity_id')
         AND jsonb_typeof(doc->'activity_event') = 'number' AND doc->>'activity_event' ~ '^[0-9]+$'
         AND octet_length(doc->>'activity_event') <= 18
         AND (doc->'activity_name' IS NULL OR jsonb_typeof(doc->'activity_name') IN ('null', 'string'))
         AND lf_is_opt_id(doc->'user_id')
    ELSE false
  END;

-- step: dedup
-- Keep the first arrival of each (org_id, event_id). Duplicates are few: find
-- the repeated ids with one hash aggregate, then delete all but their first line.
DELETE FROM events e USING (
  SELECT org_id, event_id, min(line) AS first_line
  FROM events
  WHERE (org_id, event_id) IN (SELECT org_id, event_id FROM events GROUP BY org_id, event_id HAVING count(*) > 1)
  GROUP BY org_id, event_id
) d
WHERE e.org_id = d.org_id AND e.event_id = d.event_id AND e.line <> d.first_line;

-- step: drop_raw
DROP TABLE raw_events;

-- step: statuses
-- Label and position of the latest status.upserted, deleted when the latest
-- status.deleted is later than it; first_seen = earliest event naming it.
CREATE TABLE statuses AS
WITH ups AS (
  SELECT DISTINCT ON (org_id, status_id) org_id, status_id, label, position, occurred_at, line
  FROM events WHERE type = 'status.upserted'
  ORDER BY org_id, status_id, occurred_at DESC, line DESC
), dels AS (
  SELECT DISTINCT ON (org_id, status_id) org_id, status_id, occurred_at, line
  FROM events WHERE type = 'status.deleted'
  ORDER BY org_id, status_id, occurred_at DESC, line DESC
), seen AS (
  SELECT org_id, status_id, min(occurred_at) AS first_seen
  FROM events WHERE type IN ('status.upserted', 'status.deleted', 'lead.created', 'lead.status_changed')
  GROUP BY org_id, status_id
)
SELECT s.org_id, s.status_id,
       coalesce(u.label, s.status_id) AS label,
       u.position,
       (d.line IS NOT NULL AND (u.line IS NULL OR (d.occurred_at, d.line) > (u.occurred_at, u.line))) AS deleted,
       s.first_seen
FROM seen s
LEFT JOIN ups u USING (org_id, status_id)
LEFT JOIN dels d USING (org_id, status_id);

-- step: users
-- A user.upserted replaces the whole record; the latest one wins.
CREATE TABLE users AS
SELECT DISTINCT ON (org_id, user_id) org_id, user_id, fields, occurred_at AS upserted_at
FROM events WHERE type = 'user.upserted'
ORDER BY org_id, user_id, occurred_at DESC, line DESC;

-- step: lead_created
-- One row per created lead: the earliest lead.created wins (ties: first
-- arrival). lead_pk is a dense surrogate key; deleted leads are kept, flagged.
CREATE TABLE lead_created AS
SELECT (row_number() OVER (ORDER BY c.org_id, c.lead_id))::int AS lead_pk, c.*,
       EXISTS (SELECT 1 FROM events d
               WHERE d.type = 'lead.deleted' AND d.org_id = c.org_id AND d.lead_id = c.lead_id) AS deleted
FROM (
  SELECT DISTINCT ON (org_id, lead_id) org_id, lead_id, occurred_at AS created_at, line AS created_line,
         status_id AS created_status, owner_id, coalesce(fields, '{}') AS fields
  FROM events WHERE type = 'lead.created'
  ORDER BY org_id, lead_id, occurred_at, line
) c;

-- step: lead_changes
-- The events of created, non-deleted leads that take effect: status changes
-- and updates at or after the creation (earlier ones are ignored, later ones
-- take effect whenever they arrived), and every activity (one dated before
-- the creation still counts).
CREATE TABLE lead_changes AS
SELECT c.lead_pk, c.org_id, e.occurred_at, e.line, e.status_id
FROM events e
JOIN lead_created c ON c.org_id = e.org_id AND c.lead_id = e.lead_id
WHERE e.type = 'lead.status_changed' AND NOT c.deleted AND e.occurred_at >= c.created_at;

-- step: lead_updates
CREATE TABLE lead_updates AS
SELECT c.lead_pk, e.occurred_at, e.line, e.owner_id, e.fields
FROM events e
JOIN lead_created c ON c.org_id = e.org_id AND c.lead_id = e.lead_id
WHERE e.type = 'lead.updated' AND NOT c.deleted AND e.occurred_at >= c.created_at;

-- step: activities
CREATE TABLE activities AS
SELECT c.org_id, c.lead_pk, e.occurred_at, e.activity_event AS code, e.activity_name AS name, e.line
FROM events e
JOIN lead_created c ON c.org_id = e.org_id AND c.lead_id = e.lead_id
WHERE e.type = 'activity.logged' AND NOT c.deleted;

-- step: transitions
-- Effective transitions: the creation (from NULL), then every status change
-- in event order whose new status differs from the status before it. A
-- change at the creation instant comes after the creation (line 0 sorts
-- first). valid_to = the next transition's instant, so the lead is in
-- to_status for every t with occurred_at < t <= valid_to:
-- status_at(T) = to_status of the row with occurred_at < T AND valid_to >= T.
CREATE TABLE transitions AS
WITH ev AS (
  SELECT lead_pk, org_id, created_at AS at, 0::bigint AS line, created_status AS status
  FROM lead_created WHERE NOT deleted
  UNION ALL
  SELECT lead_pk, org_id, occurred_at, line, status_id FROM lead_changes
), w AS (
  SELECT ev.*, lag(status) OVER (PARTITION BY lead_pk ORDER BY at, line) AS prev FROM ev
)
SELECT org_id, lead_pk,
       (row_number() OVER l)::int AS ord,
       at AS occurred_at,
       coalesce(lead(at) OVER l, 'infinity') AS valid_to,
       prev AS from_status,
       status AS to_status
FROM w
WHERE prev IS DISTINCT FROM status
WINDOW l AS (PARTITION BY lead_pk ORDER BY at, line);

-- step: leads
-- The lead's current attributes (contract section 3 columns): current
-- status, owner (the latest update naming one, else the creation's), fields
-- (creation fields, then every update in event order; a null removes the
-- key), ModifiedOn, latest activity.
CREATE TABLE leads AS
WITH owner AS (
  SELECT DISTINCT ON (lead_pk) lead_pk, owner_id FROM lead_updates WHERE owner_id IS NOT NULL
  ORDER BY lead_pk, occurred_at DESC, line DESC
), kv AS (
  SELECT c.lead_pk, f.key, f.value, c.created_at AS at, 0::bigint AS line
  FROM lead_created c, jsonb_each(c.fields) f WHERE NOT c.deleted
  UNION ALL
  SELECT u.lead_pk, f.key, f.value, u.occurred_at, u.line FROM lead_updates u, jsonb_each(u.fields) f
), last_kv AS (
  SELECT DISTINCT ON (lead_pk, key) lead_pk, key, value FROM kv ORDER BY lead_pk, key, at DESC, line DESC
), fields AS (
  SELECT lead_pk, jsonb_object_agg(key, value) AS fields FROM last_kv WHERE value <> 'null' GROUP BY lead_pk
), touched AS (
  SELECT lead_pk, max(at) AS at FROM (
    SELECT lead_pk, max(occurred_at) AS at FROM lead_changes GROUP BY lead_pk
    UNION ALL SELECT lead_pk, max(occurred_at) FROM lead_updates GROUP BY lead_pk
    UNION ALL SELECT lead_pk, max(occurred_at) FROM activities GROUP BY lead_pk
  ) t GROUP BY lead_pk
), last_act AS (
  SELECT DISTINCT ON (lead_pk) lead_pk, occurred_at, name FROM activities
  ORDER BY lead_pk, occurred_at DESC, line DESC
)
SELECT c.lead_pk, c.org_id, c.lead_id, c.created_at, c.created_status,
       t.to_status AS status,
       coalesce(o.owner_id, c.owner_id) AS owner_id,
       coalesce(f.fields, '{}') AS fields,
       greatest(c.created_at, tc.at) AS modified_at,
       a.occurred_at AS last_activity_at,
       a.name AS last_activity_name,
       c.deleted
FROM lead_created c
LEFT JOIN transitions t ON t.lead_pk = c.lead_pk AND t.valid_to = 'infinity'
LEFT JOIN owner o ON o.lead_pk = c.lead_pk
LEFT JOIN fields f ON f.lead_pk = c.lead_pk
LEFT JOIN touched tc ON tc.lead_pk = c.lead_pk
LEFT JOIN last_act a ON a.lead_pk = c.lead_pk
ORDER BY c.lead_pk;

-- step: drop_staging
DROP TABLE lead_changes;
DROP TABLE lead_updates;
DROP TABLE lead_created;
