-- DuckDB peer: the NDJSON file -> `events`, one row per distinct event.
-- Run by bench/peers/common.py Peer.load(); `$path` is the file.

-- step: parse
-- The JSON reader with the columns named (nothing else is parsed); `fields`
-- stays JSON text. With insertion order preserved (DuckDB's default), the
-- table's rowid is the line's position in the file: the arrival order.
CREATE TABLE raw AS
SELECT * FROM read_json($path, format = 'newline_delimited', ignore_errors = true,
  columns = {event_id: 'VARCHAR', type: 'VARCHAR', org_id: 'VARCHAR', occurred_at: 'VARCHAR',
             lead_id: 'VARCHAR', status_id: 'VARCHAR', owner_id: 'VARCHAR', user_id: 'VARCHAR',
             label: 'VARCHAR', position: 'BIGINT', activity_event: 'BIGINT', activity_name: 'VARCHAR',
             fields: 'JSON'});
CREATE TABLE load_stats AS SELECT count(*) AS lines FROM raw;

-- step: events
-- Typed events (occurred_at in epoch milliseconds, a finer fraction
-- truncated), the first arrival of each (org_id, event_id) only.
CREATE TABLE events AS
WITH typed AS (
  SELECT rowid AS line, org_id, event_id, type,
         epoch_us(try_cast(occurred_at AS TIMESTAMPTZ)) // 1000 AS ts,
         lead_id, status_id, owner_id, user_id, label, position, activity_event, activity_name,
         CASE WHEN json_type(fields) = 'OBJECT' THEN fields END AS fields
  FROM raw
  WHERE event_id IS NOT NULL AND org_id IS NOT NULL AND type IS NOT NULL
), repeated AS (
  SELECT unnest(list_sort(list(line))[2:]) AS line
  FROM typed GROUP BY org_id, event_id HAVING count(*) > 1
)
SELECT * FROM typed
WHERE ts IS NOT NULL AND line NOT IN (SELECT line FROM repeated);
DROP TABLE raw;
