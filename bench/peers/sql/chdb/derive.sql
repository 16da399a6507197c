-- chdb (ClickHouse embedded) peer: `events` -> the reporting tables, the
-- same tables and rules as sql/duckdb/derive.sql (read its comments), in
-- ClickHouse's dialect. Aggregates skip NULL arguments in ClickHouse, so a
-- value that may be NULL is aggregated inside a tuple (argMax(tuple(x), k).1).
-- The session runs with join_use_nulls = 1 (an unmatched LEFT JOIN side is NULL).

-- step: statuses
CREATE TABLE statuses ENGINE = MergeTree ORDER BY (org_id, status_id) AS
WITH ups AS (
  SELECT org_id, status_id, argMax(tuple(label), (ts, line)).1 AS label,
         argMax(tuple(position), (ts, line)).1 AS position, max((ts, line)) AS k
  FROM events WHERE type = 'status.upserted' GROUP BY org_id, status_id
), dels AS (
  SELECT org_id, status_id, max((ts, line)) AS k
  FROM events WHERE type = 'status.deleted' GROUP BY org_id, status_id
), seen AS (
  SELECT org_id, assumeNotNull(status_id) AS status_id, min(ts) AS first_seen
  FROM events WHERE type IN ('status.upserted', 'status.deleted', 'lead.created', 'lead.status_changed')
  GROUP BY org_id, status_id
)
SELECT s.org_id AS org_id, s.status_id AS status_id, coalesce(u.label, s.status_id) AS label, u.position AS position,
       (d.k IS NOT NULL AND (u.k IS NULL OR d.k > u.k)) AS deleted, s.first_seen AS first_seen
FROM seen s LEFT JOIN ups u ON u.org_id = s.org_id AND u.status_id = s.status_id
LEFT JOIN dels d ON d.org_id = s.org_id AND d.status_id = s.status_id;

-- step: users
CREATE TABLE users ENGINE = MergeTree ORDER BY (org_id, user_id) AS
WITH u AS (
  SELECT org_id, assumeNotNull(user_id) AS user_id, argMax(tuple(fields), (ts, line)).1 AS fields
  FROM events WHERE type = 'user.upserted' GROUP BY org_id, user_id
), r AS (
  SELECT org_id, user_id, argMin(JSONExtractString(kv.2), kv.1) AS role
  FROM u ARRAY JOIN JSONExtractKeysAndValuesRaw(coalesce(fields, '{}')) AS kv
  WHERE lower(kv.1) = 'role' AND kv.2 <> 'null'
  GROUP BY org_id, user_id
)
SELECT u.org_id AS org_id, u.user_id AS user_id, u.fields AS fields, r.role AS role
FROM u LEFT JOIN r ON r.org_id = u.org_id AND r.user_id = u.user_id;

-- step: lead_created
CREATE TABLE lead_created ENGINE = MergeTree ORDER BY lead_pk AS
WITH c AS (
  SELECT org_id, assumeNotNull(lead_id) AS lead_id, min((ts, line)) AS k,
         argMin(tuple(status_id, owner_id, fields), (ts, line)) AS first
  FROM events WHERE type = 'lead.created' GROUP BY org_id, lead_id
), d AS (
  SELECT DISTINCT org_id, assumeNotNull(lead_id) AS lead_id FROM events WHERE type = 'lead.deleted'
)
SELECT toUInt32(row_number() OVER (ORDER BY c.org_id, c.lead_id)) AS lead_pk, c.org_id AS org_id,
       c.lead_id AS lead_id, c.k.1 AS created_at, assumeNotNull(c.first.1) AS created_status,
       c.first.2 AS owner_id, coalesce(c.first.3, '{}') AS fields, d.lead_id IS NOT NULL AS deleted
FROM c LEFT JOIN d ON d.org_id = c.org_id AND d.lead_id = c.lead_id;

-- step: lead_events
CREATE TABLE lead_events ENGINE = MergeTree ORDER BY (lead_pk, ts) AS
SELECT c.lead_pk AS lead_pk, c.org_id AS org_id, e.type AS type, e.ts AS ts, e.line AS line,
       e.status_id AS status_id, e.owner_id AS owner_id, e.fields AS fields,
       e.activity_event AS code, e.activity_name AS name
FROM events e JOIN lead_created c ON c.org_id = e.org_id AND c.lead_id = e.lead_id
WHERE NOT c.deleted AND (e.type = 'activity.logged'
      OR (e.type IN ('lead.status_changed', 'lead.updated') AND e.ts >= c.created_at));

-- step: transitions
-- Ordered by (org_id, ts): the primary key then skips other orgs' rows.
CREATE TABLE transitions ENGINE = MergeTree ORDER BY (org_id, ts) AS
WITH ev AS (
  SELECT lead_pk, org_id, created_at AS ts, toInt64(-1) AS line, created_status AS status
  FROM lead_created WHERE NOT deleted
  UNION ALL
  SELECT lead_pk, org_id, ts, line, assumeNotNull(status_id) FROM lead_events WHERE type = 'lead.status_changed'
), w AS (
  SELECT *, lagInFrame(toNullable(status)) OVER (PARTITION BY lead_pk ORDER BY ts, line
                                                 ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS prev
  FROM ev
), t AS (
  SELECT * FROM w WHERE prev IS DISTINCT FROM status
)
SELECT org_id, lead_pk, ts,
       coalesce(leadInFrame(toNullable(ts)) OVER (PARTITION BY lead_pk ORDER BY ts, line
                                                  ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING),
                9223372036854775807) AS valid_to,
       prev AS from_status, status AS to_status,
       lagInFrame(toNullable(ts)) OVER (PARTITION BY lead_pk, prev, status ORDER BY ts, line
                                        ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS prev_pair_at,
       lagInFrame(toNullable(ts)) OVER (PARTITION BY lead_pk, status ORDER BY ts, line
                                        ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS prev_to_at,
       lagInFrame(toNullable(ts)) OVER (PARTITION BY lead_pk, prev ORDER BY ts, line
                                        ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS prev_from_at
FROM t;

-- step: activities
CREATE TABLE activities ENGINE = MergeTree ORDER BY (org_id, ts) AS
SELECT org_id, lead_pk, ts, code, name, line FROM lead_events WHERE type = 'activity.logged';

-- step: leads
CREATE TABLE leads ENGINE = MergeTree ORDER BY (org_id, created_at, lead_id) AS
WITH upd AS (
  SELECT * FROM lead_events WHERE type = 'lead.updated'
), owner AS (
  SELECT lead_pk, argMax(owner_id, (ts, line)) AS last_owner FROM upd WHERE owner_id IS NOT NULL GROUP BY lead_pk
), kv AS (
  SELECT lead_pk, kv.1 AS key, kv.2 AS value, created_at AS ts, toInt64(-1) AS line
  FROM lead_created ARRAY JOIN JSONExtractKeysAndValuesRaw(fields) AS kv WHERE NOT deleted
  UNION ALL
  SELECT lead_pk, kv.1, kv.2, ts, line
  FROM upd ARRAY JOIN JSONExtractKeysAndValuesRaw(coalesce(fields, '{}')) AS kv
), last_kv AS (
  SELECT lead_pk, key, argMax(value, (ts, line)) AS value FROM kv GROUP BY lead_pk, key
), flds AS (
  SELECT lead_pk, concat('{', arrayStringConcat(groupArray(concat(toJSONString(key), ':', value)), ','), '}') AS fields
  FROM last_kv WHERE value <> 'null' GROUP BY lead_pk
), touched AS (
  SELECT lead_pk, max(ts) AS last_ts,
         argMaxIf(tuple(name), (ts, line), type = 'activity.logged').1 AS act_name,
         maxIf(ts, type = 'activity.logged') AS act_at, countIf(type = 'activity.logged') AS acts
  FROM lead_events GROUP BY lead_pk
), cur AS (
  SELECT lead_pk, to_status FROM transitions WHERE valid_to = 9223372036854775807
)
SELECT c.lead_pk AS lead_pk, c.org_id AS org_id, c.lead_id AS lead_id, c.created_at AS created_at,
       c.created_status AS created_status, cur.to_status AS status,
       coalesce(o.last_owner, c.owner_id) AS owner_id, coalesce(f.fields, '{}') AS fields,
       if(JSONType(f.fields, 'Source') = 'String', JSONExtractString(f.fields, 'Source'),
          if(JSONHas(f.fields, 'Source'), JSONExtractRaw(f.fields, 'Source'), NULL)) AS source,
       if(JSONType(f.fields, 'Source') = 'String', lower(JSONExtractString(f.fields, 'Source')), NULL) AS source_ci,
       greatest(c.created_at, coalesce(tc.last_ts, c.created_at)) AS modified_at,
       if(tc.acts > 0, tc.act_at, NULL) AS last_activity_at, if(tc.acts > 0, tc.act_name, NULL) AS last_activity_name,
       c.deleted AS deleted
FROM lead_created c
LEFT JOIN cur ON cur.lead_pk = c.lead_pk
LEFT JOIN owner o ON o.lead_pk = c.lead_pk
LEFT JOIN flds f ON f.lead_pk = c.lead_pk
LEFT JOIN touched tc ON tc.lead_pk = c.lead_pk;

-- step: overall_counts
CREATE TABLE overall_counts ENGINE = MergeTree ORDER BY org_id AS
SELECT org_id, from_status, to_status,
       countIf(valid_to = 9223372036854775807) AS ended,
       countIf(prev_to_at IS NULL) AS entered,
       countIf(from_status IS NOT NULL AND prev_from_at IS NULL) AS left_,
       countIf(prev_pair_at IS NULL) AS pairs
FROM transitions GROUP BY org_id, from_status, to_status;

-- step: drop_staging
DROP TABLE lead_events;
DROP TABLE lead_created;
