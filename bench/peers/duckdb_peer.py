"""DuckDB as a benchmark peer (bench/peers/README.md): a database file
loaded with the NDJSON stream by sql/duckdb/load.sql and derive.sql, the
reports answered by sql/duckdb/*.sql through bench/peers/common.py.

    peer = DuckDBPeer("/tmp/x")   # opens (creates) /tmp/x/duckdb.db; threads 2, memory 8 GB
    peer.load("events.ndjson"); peer.answer(scenario, org); peer.close()
"""

import os

import duckdb

from peers import common


class DuckDBPeer(common.Peer):
    engine = "duckdb"
    label = "DuckDB"

    def __init__(self, directory):
        os.makedirs(directory, exist_ok=True)
        self.path = os.path.join(directory, "duckdb.db")
        self.conn = duckdb.connect(self.path, config={
            "threads": common.THREADS,
            "memory_limit": f"{common.MEMORY_LIMIT_BYTES >> 20}MB",
            "preserve_insertion_order": True,  # rowid = line in the file (load.sql)
        })

    def version(self):
        return duckdb.__version__

    def execute(self, sql):
        self.conn.execute(sql)

    def rows(self, sql):
        return self.conn.execute(sql).fetchall()

    def quote(self, text):
        return "'" + text.replace("'", "''") + "'"

    def size_bytes(self):
        return sum(os.path.getsize(p) for p in (self.path, self.path + ".wal") if os.path.exists(p))

    def close(self):
        self.conn.close()
