"""The embedded engines the benchmark compares leadflow with, beside
PostgreSQL (bench/pg/): see bench/peers/README.md.

ENGINES maps an engine's name to a factory taking a directory for its files
(created if missing, emptied by load()); each engine's module is imported on
first use, so one engine's package missing does not stop the other.
"""


def _duckdb(directory):
    from peers import duckdb_peer
    return duckdb_peer.DuckDBPeer(directory)


def _chdb(directory):
    from peers import chdb_peer
    return chdb_peer.ChdbPeer(directory)


ENGINES = {"duckdb": _duckdb, "chdb": _chdb}
