-- leadflow PostgreSQL baseline: staging table and helper functions.
-- Run by bench/pg/pgbase.py load(), which drops every table first.

-- The NDJSON file as it arrives: one row per line, `line` = arrival order
-- (line number, from 1). Unlogged: it is dropped once the typed events exist.
CREATE UNLOGGED TABLE raw_events (
  line bigint NOT NULL,
  doc  jsonb
);

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
CREATE FUNCTION lf_ts(s text) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN s ~ '^\d{4}-\d\d-\d\dT([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$' THEN s::timestamptz
    WHEN s ~ '^\d{4}-\d\d-\d\d[Tt ]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$'
      THEN regexp_replace(s, '^(.{19}(\.\d{1,3})?)\d*', '\1')::timestamptz
  END
$$;
