-- leadflow PostgreSQL baseline: staging table and helper functions.
-- Run by bench/pg/pgbase.py load(), which drops every table first.

-- The NDJSON file as it arrives: one row per line; `line` orders the rows in
-- arrival (file) order. pgbase.py COPYs the file in a few byte ranges at
-- once, range k into the unlogged partition raw_events_k whose line numbers
-- are k * 10^12 + its own sequence. Dropped once the typed events exist.
CREATE TABLE raw_events (
  line bigint NOT NULL,
  doc  jsonb
) PARTITION BY RANGE (line);

-- An id of contract section 1: a JSON string of 1-128 characters.
CREATE FUNCTION lf_is_id(v jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(jsonb_typeof(v) = 'string' AND char_length(v #>> '{}') BETWEEN 1 AND 128, false)
$$;

-- An optional id: absent, JSON null, or an id.
CREATE FUNCTION lf_is_opt_id(v jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT v IS NULL OR jsonb_typeof(v) = 'null' OR lf_is_id(v)
$$;

-- A `fields` object: values are strings, numbers, booleans or null.
CREATE FUNCTION lf_is_fields(v jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(jsonb_typeof(v) = 'object'
                  AND NOT jsonb_path_exists(v, '$.* ? (@.type() == "object" || @.type() == "array")'), false)
$$;

-- occurred_at: RFC 3339 with Z or an offset, any fraction; stored at
-- millisecond precision (finer fractions truncated, as leadflow does).
-- NULL when the text is not such a timestamp.
CREATE FUNCTION lf_ts_strict(s text) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN s ~ '^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt ]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$'
      THEN regexp_replace(s, '^(.{19}(\.\d{1,3})?)\d*', '\1')::timestamptz
  END
$$;

-- The same, with a fast path for the usual form (2024-05-01T10:00:00.123Z):
-- PostgreSQL's regular expressions cost ~2 us a row, LIKE next to nothing.
-- A string of that shape that is still not a time (2024-13-45T...) makes the
-- cast fail; pgbase.py then runs the step again with lf_ts_strict.
CREATE FUNCTION lf_ts(s text) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN s LIKE '____-__-__T__:__:__.___Z' AND substr(s, 12, 2) < '24' THEN s::timestamptz
    ELSE lf_ts_strict(s)
  END
$$;
