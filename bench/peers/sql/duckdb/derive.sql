-- DuckDB peer: `events` -> the reporting tables (contract section 1's edge
-- rules), what a user who knows the reports would precompute at load.
-- Event order everywhere: (at, line); line is the first arrival, so it
-- orders ties exactly like leadflow's arrival sequence. A lead's creation
-- sorts before its changes at the same instant (line -1).

-- step: statuses
-- Label and position of the latest status.upserted; deleted when the latest
-- status.deleted is later; first_seen = earliest event naming the status.
CREATE TABLE statuses AS
WITH ups AS (
  SELECT org_id, status_id, arg_max_null(label, (ts, line)) AS label,
         arg_max_null(position, (ts, line)) AS position, max((ts, line)) AS k
  FROM events WHERE type = 'status.upserted' GROUP BY org_id, status_id
), dels AS (
  SELECT org_id, status_id, max((ts, line)) AS k
  FROM events WHERE type = 'status.deleted' GROUP BY org_id, status_id
), seen AS (
  SELECT org_id, status_id, min(ts) AS first_seen
  FROM events WHERE type IN ('status.upserted', 'status.deleted', 'lead.created', 'lead.status_changed')
  GROUP BY org_id, status_id
)
SELECT s.org_id, s.status_id, coalesce(u.label, s.status_id) AS label, u.position,
       (d.k IS NOT NULL AND (u.k IS NULL OR d.k > u.k)) AS deleted, s.first_seen
FROM seen s LEFT JOIN ups u USING (org_id, status_id) LEFT JOIN dels d USING (org_id, status_id);

-- step: users
-- The latest user.upserted replaces the record. role: the value of the
-- bytewise first key equal to "role" in any case whose value is not null
-- (the UserFilter's attribute), as text.
CREATE TABLE users AS
WITH u AS (
  SELECT org_id, user_id, arg_max_null(fields, (ts, line)) AS fields
  FROM events WHERE type = 'user.upserted' GROUP BY org_id, user_id
), r AS (
  SELECT u.org_id, u.user_id, arg_min(f.value ->> '$', f.key) AS role
  FROM u, json_each(u.fields) f
  WHERE lower(f.key) = 'role' AND f.type <> 'NULL'
  GROUP BY u.org_id, u.user_id
)
SELECT u.org_id, u.user_id, u.fields, r.role FROM u LEFT JOIN r USING (org_id, user_id);

-- step: lead_created
-- One row per created lead: the earliest lead.created wins (ties: first
-- arrival); deleted when any lead.deleted names it. lead_pk: dense key.
CREATE TABLE lead_created AS
WITH c AS (
  SELECT org_id, lead_id, min((ts, line)) AS k,
         arg_min(status_id, (ts, line)) AS created_status,
         arg_min_null(owner_id, (ts, line)) AS owner_id,
         arg_min_null(fields, (ts, line)) AS fields
  FROM events WHERE type = 'lead.created' GROUP BY org_id, lead_id
), d AS (
  SELECT DISTINCT org_id, lead_id FROM events WHERE type = 'lead.deleted'
)
SELECT (row_number() OVER (ORDER BY c.org_id, c.lead_id))::INTEGER AS lead_pk, c.org_id, c.lead_id,
       c.k[1] AS created_at, c.created_status, c.owner_id, coalesce(c.fields, '{}') AS fields,
       d.lead_id IS NOT NULL AS deleted
FROM c LEFT JOIN d USING (org_id, lead_id);

-- step: lead_events
-- The events of live created leads that take effect: status changes and
-- updates at or after the creation, every activity.
CREATE TABLE lead_events AS
SELECT c.lead_pk, c.org_id, e.type, e.ts, e.line, e.status_id, e.owner_id, e.fields,
       e.activity_event AS code, e.activity_name AS name
FROM events e JOIN lead_created c ON c.org_id = e.org_id AND c.lead_id = e.lead_id
WHERE NOT c.deleted AND (e.type = 'activity.logged'
      OR (e.type IN ('lead.status_changed', 'lead.updated') AND e.ts >= c.created_at));

-- step: transitions
-- Effective transitions: the creation (from NULL), then every change whose
-- new status differs from the status before it. valid_to = the next
-- transition's instant (the lead is in to_status for every t with
-- at < t <= valid_to; INF for the last). The prev_* columns name the
-- instant of the lead's previous transition with the same (from, to), the
-- same to, the same from: a row counts a distinct lead for [T0, T1) exactly
-- when it is in the window and that previous one is before T0 (or none).
-- Sorted by (org_id, at): DuckDB's zone maps then skip other orgs' rows.
CREATE TABLE transitions AS
WITH ev AS (
  SELECT lead_pk, org_id, created_at AS ts, -1::BIGINT AS line, created_status AS status
  FROM lead_created WHERE NOT deleted
  UNION ALL
  SELECT lead_pk, org_id, ts, line, status_id FROM lead_events WHERE type = 'lead.status_changed'
), w AS (
  SELECT *, lag(status) OVER (PARTITION BY lead_pk ORDER BY ts, line) AS prev FROM ev
), t AS (
  SELECT * FROM w WHERE prev IS DISTINCT FROM status
)
SELECT org_id, lead_pk, ts,
       coalesce(lead(ts) OVER (PARTITION BY lead_pk ORDER BY ts, line), 9223372036854775807) AS valid_to,
       prev AS from_status, status AS to_status,
       lag(ts) OVER (PARTITION BY lead_pk, prev, status ORDER BY ts, line) AS prev_pair_at,
       lag(ts) OVER (PARTITION BY lead_pk, status ORDER BY ts, line) AS prev_to_at,
       lag(ts) OVER (PARTITION BY lead_pk, prev ORDER BY ts, line) AS prev_from_at
FROM t
ORDER BY org_id, ts;

-- step: activities
CREATE TABLE activities AS
SELECT org_id, lead_pk, ts, code, name, line FROM lead_events WHERE type = 'activity.logged'
ORDER BY org_id, ts;

-- step: leads
-- Current attributes: status, owner (the latest update naming one, else the
-- creation's), fields (the creation's, then each update's keys in event
-- order, a null removing the key), ModifiedOn, the latest activity; source
-- (Source as text, for LeadFilters =) and source_ci (a text Source in ASCII
-- lower case, for the Close query "Source":"..."), as a user would index
-- the one field the reports filter on.
CREATE TABLE leads AS
WITH upd AS (
  SELECT * FROM lead_events WHERE type = 'lead.updated'
), owner AS (
  SELECT lead_pk, arg_max(owner_id, (ts, line)) AS owner_id FROM upd GROUP BY lead_pk
), kv AS (
  SELECT c.lead_pk, f.key, f.value, c.created_at AS ts, -1::BIGINT AS line
  FROM lead_created c, json_each(c.fields) f WHERE NOT c.deleted
  UNION ALL
  SELECT u.lead_pk, f.key, f.value, u.ts, u.line FROM upd u, json_each(u.fields) f
), last_kv AS (
  SELECT lead_pk, key, arg_max(value, (ts, line)) AS value FROM kv GROUP BY lead_pk, key
), flds AS (
  SELECT lead_pk, json_group_object(key, value) AS fields FROM last_kv WHERE value <> 'null' GROUP BY lead_pk
), touched AS (
  SELECT lead_pk, max(ts) AS ts, arg_max_null(name, (ts, line)) FILTER (WHERE type = 'activity.logged') AS act_name,
         max(ts) FILTER (WHERE type = 'activity.logged') AS act_at
  FROM lead_events GROUP BY lead_pk
), cur AS (
  SELECT lead_pk, to_status FROM transitions WHERE valid_to = 9223372036854775807
)
SELECT c.lead_pk, c.org_id, c.lead_id, c.created_at, c.created_status, cur.to_status AS status,
       coalesce(o.owner_id, c.owner_id) AS owner_id, coalesce(f.fields, '{}') AS fields,
       f.fields ->> '$.Source' AS source,
       CASE WHEN json_type(f.fields, '$.Source') = 'VARCHAR'
            THEN translate(f.fields ->> '$.Source', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') END
         AS source_ci,
       greatest(c.created_at, tc.ts) AS modified_at,
       tc.act_at AS last_activity_at, tc.act_name AS last_activity_name,
       c.deleted
FROM lead_created c
LEFT JOIN cur ON cur.lead_pk = c.lead_pk
LEFT JOIN owner o ON o.lead_pk = c.lead_pk
LEFT JOIN flds f ON f.lead_pk = c.lead_pk
LEFT JOIN touched tc ON tc.lead_pk = c.lead_pk
ORDER BY c.org_id, c.created_at, c.lead_id;

-- step: overall_counts
-- The all-time report per (org, from, to), as a user would keep it for the
-- overall report: current status (ended), first entry into to (entered),
-- first exit from from (left), first time of the pair (status_transitions).
CREATE TABLE overall_counts AS
SELECT org_id, from_status, to_status,
       count(*) FILTER (WHERE valid_to = 9223372036854775807) AS ended,
       count(*) FILTER (WHERE prev_to_at IS NULL) AS entered,
       count(*) FILTER (WHERE from_status IS NOT NULL AND prev_from_at IS NULL) AS left_,
       count(*) FILTER (WHERE prev_pair_at IS NULL) AS pairs
FROM transitions GROUP BY org_id, from_status, to_status;

-- step: drop_staging
DROP TABLE lead_events;
DROP TABLE lead_created;
CHECKPOINT;
