-- chdb (ClickHouse embedded) peer: the NDJSON file -> `events`, one row per
-- distinct event. Run by bench/peers/common.py Peer.load(); `$path` is the file.

-- step: parse
-- The JSONEachRow reader with the columns named (other keys skipped);
-- `fields` objects are read as their JSON text; _row_number is the line's
-- position in the file: the arrival order. A line that is not an event of
-- this shape is skipped.
CREATE TABLE raw ENGINE = MergeTree ORDER BY tuple() AS
SELECT _row_number AS line, *
FROM file($path, 'JSONEachRow',
  'event_id Nullable(String), type Nullable(String), org_id Nullable(String), occurred_at Nullable(String),
   lead_id Nullable(String), status_id Nullable(String), owner_id Nullable(String), user_id Nullable(String),
   label Nullable(String), position Nullable(Int64), activity_event Nullable(Int64),
   activity_name Nullable(String), fields Nullable(String)')
SETTINGS input_format_json_read_objects_as_strings = 1, input_format_skip_unknown_fields = 1,
         input_format_allow_errors_ratio = 1;
CREATE TABLE load_stats ENGINE = Memory AS SELECT count() AS lines FROM raw;

-- step: events
-- Typed events (occurred_at in epoch milliseconds, a finer fraction
-- truncated), the first arrival of each (org_id, event_id) only.
CREATE TABLE events ENGINE = MergeTree ORDER BY (type, org_id) AS
SELECT assumeNotNull(line) AS line, assumeNotNull(org_id) AS org_id, assumeNotNull(event_id) AS event_id,
       assumeNotNull(type) AS type, assumeNotNull(ts) AS ts,
       lead_id, status_id, owner_id, user_id, label, position, activity_event, activity_name,
       if(startsWith(fields, '{'), fields, NULL) AS fields
FROM (
  SELECT *, intDiv(toUnixTimestamp64Micro(parseDateTime64BestEffortOrNull(occurred_at, 6, 'UTC')), 1000) AS ts
  FROM raw
  WHERE event_id IS NOT NULL AND org_id IS NOT NULL AND type IS NOT NULL
    AND line NOT IN (SELECT arrayJoin(arraySlice(arraySort(groupArray(line)), 2))
                     FROM raw GROUP BY org_id, event_id HAVING count() > 1)
)
WHERE ts IS NOT NULL;
DROP TABLE raw;
