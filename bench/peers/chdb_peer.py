"""ClickHouse embedded (chdb) as a benchmark peer (bench/peers/README.md): a
chdb session whose database lives in a directory, loaded with the NDJSON
stream by sql/chdb/load.sql and derive.sql into MergeTree tables, the
reports answered through bench/peers/common.py.

    peer = ChdbPeer("/tmp/x")   # session in /tmp/x/chdb; max_threads 2, max_memory_usage 8 GB
    peer.load("events.ndjson"); peer.answer(scenario, org); peer.close()
"""

import json
import os

import chdb
import chdb.session

from peers import common

# Session settings: the benchmark's threads and memory; an unmatched side of
# a LEFT JOIN is NULL (standard SQL) rather than the type's default; a name
# means the column before an alias of the same name (standard SQL); no
# query cache (off by default, said here because a cached answer would time
# nothing).
SETTINGS = {
    "max_threads": common.THREADS,
    "max_memory_usage": common.MEMORY_LIMIT_BYTES,
    "join_use_nulls": 1,
    "prefer_column_name_to_alias": 1,
    "use_query_cache": 0,
    "output_format_json_quote_64bit_integers": 0,
    "session_timezone": "'UTC'",
}


class ChdbPeer(common.Peer):
    engine = "chdb"
    label = "chdb"

    def __init__(self, directory):
        os.makedirs(directory, exist_ok=True)
        self.path = os.path.join(directory, "chdb")
        self.session = chdb.session.Session(self.path)
        for k, v in SETTINGS.items():
            self.session.query(f"SET {k} = {v}")

    def version(self):
        return f"{chdb.__version__} (ClickHouse {chdb.engine_version})"

    def execute(self, sql):
        self.session.query(sql)

    def rows(self, sql):
        data = self.session.query(sql, "JSONCompact").bytes()
        return [tuple(r) for r in json.loads(data)["data"]] if data else []

    def quote(self, text):
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"

    def size_bytes(self):
        return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(self.path) for f in fs)

    def close(self):
        self.session.close()
