#!/usr/bin/python3
"""PostgreSQL 15 baseline for the leadflow benchmarks (issue 5).

A private PostgreSQL cluster (Debian's postgresql-15 binaries) loaded with the
same NDJSON events as leadflow, in a plain schema (bench/pg/README.md), so the
benchmark can run the same reports against both (bench/scenarios.py).

Module API (standard library + psycopg2 only):

    cluster = Cluster(data_dir='/tmp/leadflow-pg', port=25332)
    cluster.start()                 # initdb on first use, then pg_ctl start; no-op when running
    dsn = cluster.dsn()             # libpq DSN (unix socket inside data_dir, database 'leadflow')
    stats = load(dsn, 'events.ndjson')   # drop + COPY + derive + index; returns timings and sizes
    conn = connect(dsn)             # psycopg2 connection, autocommit, UTC
    cluster.stop()

CLI (run with Debian's /usr/bin/python3):

    pgbase.py [--data-dir D] [--port P] start|stop|status|dsn
    pgbase.py [...] load FILE.ndjson      # prints the load statistics as JSON
    pgbase.py [...] psql [ARGS...]        # interactive psql on the cluster
    pgbase.py [...] scenarios --org ORG --end YYYY-MM-DD [--runs N]
                                          # times every scenario's SQL (p50/p99 ms)
"""

import argparse
import io
import json
import os
import pwd
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time

import psycopg2

PG_BIN = os.environ.get("LEADFLOW_PG_BIN", "/usr/lib/postgresql/15/bin")
SQL_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sql")
DEFAULT_DATA_DIR = "/tmp/leadflow-pg"
DEFAULT_PORT = 25332
DATABASE = "leadflow"
OS_USER = "postgres"

# Settings for a 2-core, 24 GiB benchmark machine. Durability is traded for
# load speed (fsync, synchronous_commit and full_page_writes off, minimal WAL):
# acceptable for a benchmark whose data is regenerated at will, never for a
# real deployment. Query-side settings are the ones a tuned install would use.
SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "max_connections": "100",
    "shared_buffers": "'4GB'",
    "effective_cache_size": "'16GB'",
    "work_mem": "'256MB'",
    "hash_mem_multiplier": "2.0",
    "maintenance_work_mem": "'2GB'",
    "max_worker_processes": "8",
    "max_parallel_workers": "2",
    "max_parallel_workers_per_gather": "2",
    "max_parallel_maintenance_workers": "2",
    "random_page_cost": "1.1",
    "effective_io_concurrency": "200",
    "default_statistics_target": "500",
    "jit": "off",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "'32GB'",
    "checkpoint_timeout": "'30min'",
    "autovacuum": "off",  # the data is static after load(), which runs VACUUM ANALYZE itself
    "timezone": "'UTC'",
    "log_timezone": "'UTC'",
    "datestyle": "'iso, ymd'",
    "logging_collector": "off",
    "log_min_duration_statement": "-1",
}


def _as_postgres():
    """Command prefix to run a server binary as the postgres OS user."""
    if os.geteuid() == 0:
        return ["runuser", "-u", OS_USER, "--"]
    return []


class Cluster:
    """A private PostgreSQL 15 cluster in data_dir, listening on 127.0.0.1:port
    and on a unix socket inside data_dir."""

    def __init__(self, data_dir=DEFAULT_DATA_DIR, port=DEFAULT_PORT):
        self.data_dir = os.path.abspath(data_dir)
        self.port = int(port)

    @property
    def pgdata(self):
        return os.path.join(self.data_dir, "pgdata")

    @property
    def log_file(self):
        return os.path.join(self.data_dir, "server.log")

    def _run(self, args, check=True, capture=True):
        return subprocess.run(_as_postgres() + args, check=check, text=True,
                              stdout=subprocess.PIPE if capture else None,
                              stderr=subprocess.STDOUT if capture else None)

    def initialized(self):
        return os.path.exists(os.path.join(self.pgdata, "PG_VERSION"))

    def running(self):
        if not self.initialized():
            return False
        r = self._run([os.path.join(PG_BIN, "pg_ctl"), "status", "-D", self.pgdata], check=False)
        return r.returncode == 0

    def _initdb(self):
        os.makedirs(self.data_dir, exist_ok=True)
        if os.geteuid() == 0:
            pw = pwd.getpwnam(OS_USER)
            os.chown(self.data_dir, pw.pw_uid, pw.pw_gid)
        self._run([os.path.join(PG_BIN, "initdb"), "-D", self.pgdata, "-U", "postgres",
                   "--encoding=UTF8", "--locale=C", "--auth=trust"])
        with open(os.path.join(self.pgdata, "postgresql.conf"), "a") as f:
            f.write("\ninclude 'leadflow_bench.conf'\n")

    def _write_conf(self):
        lines = ["# Written by bench/pg/pgbase.py on every start; see bench/pg/README.md."]
        lines += [f"{k} = {v}" for k, v in SETTINGS.items()]
        lines += [f"port = {self.port}", f"unix_socket_directories = '{self.data_dir}'"]
        path = os.path.join(self.pgdata, "leadflow_bench.conf")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        if os.geteuid() == 0:
            pw = pwd.getpwnam(OS_USER)
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def start(self):
        """initdb on first use, then start and wait until the server accepts
        connections and the database exists. A no-op when already running."""
        if self.running():
            return
        if not self.initialized():
            self._initdb()
        self._write_conf()
        if os.geteuid() == 0:
            pw = pwd.getpwnam(OS_USER)
            if not os.path.exists(self.log_file):
                open(self.log_file, "a").close()
            os.chown(self.log_file, pw.pw_uid, pw.pw_gid)
        r = self._run([os.path.join(PG_BIN, "pg_ctl"), "start", "-D", self.pgdata, "-l", self.log_file,
                       "-w", "-t", "300"], check=False)
        if r.returncode != 0:
            tail = ""
            if os.path.exists(self.log_file):
                with open(self.log_file, errors="replace") as f:
                    tail = "".join(f.readlines()[-20:])
            raise RuntimeError(f"pg_ctl start failed:\n{r.stdout}\n{tail}")
        conn = psycopg2.connect(self.dsn(database="postgres"))
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
            if cur.fetchone() is None:
                cur.execute(f"CREATE DATABASE {DATABASE}")
        conn.close()

    def stop(self):
        """Stops the server (fast shutdown); a no-op when it is not running."""
        if self.running():
            self._run([os.path.join(PG_BIN, "pg_ctl"), "stop", "-D", self.pgdata, "-m", "fast", "-w", "-t", "300"])

    def dsn(self, database=DATABASE):
        return f"host={self.data_dir} port={self.port} dbname={database} user=postgres"


def connect(dsn):
    """An autocommit psycopg2 connection with the session in UTC."""
    conn = psycopg2.connect(dsn, options="-c timezone=UTC")
    conn.autocommit = True
    return conn


# --- loading -----------------------------------------------------------------

# COPY in CSV mode with a quote and a delimiter that valid JSON never holds
# unescaped (control characters), so each line arrives verbatim as one value.
COPY_OPTIONS = "WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')"
LINE_BASE = 10 ** 12  # raw_events_k numbers its lines from k * LINE_BASE

# load() replaces everything: the schema holds nothing else.
DROP_SQL = """
DROP SCHEMA IF EXISTS public CASCADE;
CREATE SCHEMA public;
"""


def read_steps(filename):
    """The statements of a bench/pg/sql file grouped by `-- step: NAME`
    markers: [(name, [statement, ...])]. Statements end with a line ending in ';'."""
    with open(os.path.join(SQL_DIR, filename)) as f:
        text = f.read()
    steps, name, stmt = [], None, []
    for line in text.splitlines():
        m = re.match(r"^-- step: (\S+)", line)
        if m:
            name = m.group(1)
            steps.append((name, []))
            continue
        stmt.append(line)
        if line.rstrip().endswith(";") and not line.lstrip().startswith("--"):
            sql = "\n".join(stmt).strip()
            if steps:
                steps[-1][1].append(sql)
            else:
                steps.append((name or filename, [sql]))
            stmt = []
    return steps


class _Range(io.RawIOBase):
    """read() of the bytes [start, end) of a file."""

    def __init__(self, path, start, end):
        self._f = open(path, "rb")
        self._f.seek(start)
        self._left = end - start

    def readable(self):
        return True

    def readinto(self, b):
        n = self._f.readinto(memoryview(b)[:min(len(b), self._left)])
        self._left -= n
        return n

    def close(self):
        self._f.close()
        super().close()


def _split(path, parts):
    """Byte offsets that cut the file into parts ranges at line ends."""
    size = os.path.getsize(path)
    cuts = [0]
    with open(path, "rb") as f:
        for k in range(1, parts):
            f.seek(max(cuts[-1], size * k // parts))
            f.readline()
            cuts.append(min(f.tell(), size))
    cuts.append(size)
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a] or [(0, 0)]


class _NumberedValidLines(io.RawIOBase):
    """A read()-able stream of 'N<0x02>JSON\\n' for the lines of f that are
    JSON PostgreSQL's jsonb accepts; N is the line number (arrival order).
    Used only when the file holds lines that are not JSON."""

    def __init__(self, f):
        self._f = f
        self._n = 0
        self._buf = b""
        self.skipped = 0

    def readable(self):
        return True

    @staticmethod
    def _reject(_):
        raise ValueError("NaN/Infinity")

    def _ok(self, raw):
        try:
            text = raw.decode("utf-8")
            json.loads(text, parse_constant=self._reject)
        except (UnicodeDecodeError, ValueError):
            return False
        # jsonb refuses \u0000 and lone surrogates; valid JSON holds no raw
        # control characters, so the COPY quote and delimiter cannot occur.
        if "\\u" in text:
            if "\\u0000" in text:
                return False
            try:
                json.dumps(json.loads(text), ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError:
                return False
        return True

    def readinto(self, b):
        while len(self._buf) < len(b):
            raw = self._f.readline()
            if not raw:
                break
            self._n += 1
            line = raw.rstrip(b"\r\n")
            if self._ok(line):
                self._buf += b"%d\x02%s\n" % (self._n, line)
            else:
                self.skipped += 1
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


def _copy(dsn, cur, path, log):
    """COPYs the file into raw_events; returns (lines, lines skipped as not JSON).

    The file is cut into one byte range per core, each COPYed by its own
    session into its own partition at the same time (COPY parses JSON on one
    core per session). If a line is not JSON (COPY fails), the file is loaded
    again in one session, numbering lines here and leaving those out."""
    ranges = _split(path, os.cpu_count() or 1) if os.path.getsize(path) > (64 << 20) else _split(path, 1)
    for k in range(len(ranges)):
        cur.execute(f"CREATE UNLOGGED TABLE raw_events_{k} PARTITION OF raw_events "
                    f"FOR VALUES FROM ({k * LINE_BASE}) TO ({(k + 1) * LINE_BASE})")
        cur.execute(f"CREATE SEQUENCE raw_seq_{k}")
        cur.execute(f"ALTER TABLE raw_events_{k} ALTER COLUMN line SET DEFAULT {k * LINE_BASE} + nextval('raw_seq_{k}')")
    results, errors = [0] * len(ranges), []

    def worker(k, start, end):
        try:
            conn = psycopg2.connect(dsn)
            conn.autocommit = True
            with conn.cursor() as c, _Range(path, start, end) as data:
                c.copy_expert(f"COPY raw_events_{k} (doc) FROM STDIN {COPY_OPTIONS}", data, size=1 << 20)
                results[k] = c.rowcount
            conn.close()
        except psycopg2.Error as e:
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(k, a, b)) for k, (a, b) in enumerate(ranges)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(len(ranges)):
        cur.execute(f"ALTER TABLE raw_events_{k} ALTER COLUMN line DROP DEFAULT")
        cur.execute(f"DROP SEQUENCE raw_seq_{k}")
    if not errors:
        return sum(results), 0
    if not all(isinstance(e, psycopg2.DataError) for e in errors):
        raise errors[0]
    # Some line is not JSON (a deliberately invalid event).
    log(f"  COPY refused a line ({str(errors[0]).splitlines()[0]}); numbering and filtering lines in Python")
    cur.execute("TRUNCATE raw_events")
    with open(path, "rb") as f:
        stream = _NumberedValidLines(f)
        cur.copy_expert(f"COPY raw_events_0 (line, doc) FROM STDIN {COPY_OPTIONS}", stream, size=1 << 20)
        return cur.rowcount + stream.skipped, stream.skipped


def _exec_steps(cur, filename, timings, log):
    total = 0.0
    rows = {}
    for name, statements in read_steps(filename):
        t = time.monotonic()
        for sql in statements:
            try:
                cur.execute(sql)
            except psycopg2.DataError as e:
                if "lf_ts(" not in sql:
                    raise
                # A time of the usual shape that is not a time: the strict parser.
                log(f"  {name}: {str(e).splitlines()[0]}; again with lf_ts_strict")
                cur.execute(sql.replace("lf_ts(", "lf_ts_strict("))
            rows[name] = cur.rowcount
        dt = time.monotonic() - t
        timings[name] = round(dt, 3)
        total += dt
        log(f"  {name}: {dt:.2f} s")
    return total, rows


def load(dsn, ndjson_path, log=None):
    """Loads the NDJSON file into the database of dsn, replacing what was there.

    Returns a dict: seconds (total), copy_seconds, derive_seconds,
    index_seconds (indexes + VACUUM ANALYZE), fair_seconds (sql/fair.sql:
    the derived tables and indexes of the fair SQL), steps {name: seconds}, lines
    (lines read), invalid (lines that are not valid events), duplicates,
    events (distinct valid events), bytes (pg_database_size),
    table_bytes {table: pg_total_relation_size}, file_bytes.
    """
    log = log or (lambda msg: None)
    conn = connect(dsn)
    cur = conn.cursor()
    # One loading session may use much more memory than a query.
    cur.execute("SET work_mem = '1GB'")
    cur.execute("SET maintenance_work_mem = '2GB'")
    cur.execute(DROP_SQL)
    with open(os.path.join(SQL_DIR, "schema.sql")) as f:
        cur.execute(f.read())
    steps = {}
    t_all = time.monotonic()

    log("copy")
    t = time.monotonic()
    lines, _ = _copy(dsn, cur, ndjson_path, log)
    copy_seconds = time.monotonic() - t
    steps["copy"] = round(copy_seconds, 3)
    log(f"  copy: {copy_seconds:.2f} s, {lines} lines")

    log("derive")
    derive_seconds, rows = _exec_steps(cur, "derive.sql", steps, log)
    valid = rows.get("events", 0)
    duplicates = rows.get("dedup", 0)

    log("index")
    index_seconds, _ = _exec_steps(cur, "indexes.sql", steps, log)

    log("fair (derived tables and indexes for the fair SQL)")
    fair_seconds, _ = _exec_steps(cur, "fair.sql", steps, log)
    t = time.monotonic()
    cur.execute("VACUUM (ANALYZE)")
    # The tables written last (sql/fair.sql) come out of that VACUUM with no
    # page marked all-visible (measured: relallvisible = 0), so their
    # covering indexes would visit the heap; a second VACUUM of those marks them.
    cur.execute("""SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relallvisible < c.relpages""")
    for (table,) in cur.fetchall():
        cur.execute(f'VACUUM "{table}"')
    dt = time.monotonic() - t
    steps["vacuum_analyze"] = round(dt, 3)
    index_seconds += dt
    log(f"  vacuum_analyze: {dt:.2f} s")
    total = time.monotonic() - t_all

    cur.execute("SELECT pg_database_size(current_database())")
    db_bytes = cur.fetchone()[0]
    cur.execute("""SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c
                   JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 2 DESC""")
    table_bytes = dict(cur.fetchall())
    conn.close()
    return {
        "seconds": round(total, 3),
        "copy_seconds": round(copy_seconds, 3),
        "derive_seconds": round(derive_seconds, 3),
        "index_seconds": round(index_seconds, 3),
        "fair_seconds": round(fair_seconds, 3),
        "steps": steps,
        "lines": lines,
        "invalid": lines - valid,
        "duplicates": duplicates,
        "events": valid - duplicates,
        "bytes": db_bytes,
        "table_bytes": table_bytes,
        "file_bytes": os.path.getsize(ndjson_path),
    }


# --- CLI ---------------------------------------------------------------------

def _time_scenarios(dsn, org, end_date, runs):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import scenarios as sc  # bench/scenarios.py

    conn = connect(dsn)
    out = {}
    for s in sc.scenarios(org, end_date):
        s.pg(conn)  # warm the cache
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            s.pg(conn)
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        out[s.name] = {"p50_ms": round(statistics.median(times), 2),
                       "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 2),
                       "runs": runs}
        print(f"{s.name:22s} p50 {out[s.name]['p50_ms']:10.2f} ms  p99 {out[s.name]['p99_ms']:10.2f} ms",
              file=sys.stderr)
    conn.close()
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description="PostgreSQL 15 baseline for the leadflow benchmarks")
    p.add_argument("--data-dir", default=os.environ.get("LEADFLOW_PG_DIR", DEFAULT_DATA_DIR))
    p.add_argument("--port", type=int, default=int(os.environ.get("LEADFLOW_PG_PORT", DEFAULT_PORT)))
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("start", "stop", "status", "dsn"):
        sub.add_parser(name)
    lp = sub.add_parser("load", help="load an NDJSON file (replaces the data)")
    lp.add_argument("file")
    sub.add_parser("psql", help="psql on the cluster (further arguments go to psql)")
    sp = sub.add_parser("scenarios", help="time the SQL of every benchmark scenario")
    sp.add_argument("--org", required=True)
    sp.add_argument("--end", required=True, help="end date YYYY-MM-DD")
    sp.add_argument("--runs", type=int, default=10)
    a, extra = p.parse_known_args(argv)
    if extra and a.cmd != "psql":
        p.error("unrecognized arguments: " + " ".join(extra))

    cluster = Cluster(a.data_dir, a.port)
    if a.cmd == "start":
        cluster.start()
        print(cluster.dsn())
    elif a.cmd == "stop":
        cluster.stop()
    elif a.cmd == "status":
        running = cluster.running()
        print("running" if running else "stopped")
        return 0 if running else 3
    elif a.cmd == "dsn":
        print(cluster.dsn())
    elif a.cmd == "load":
        cluster.start()
        stats = load(cluster.dsn(), a.file, log=lambda m: print(m, file=sys.stderr))
        print(json.dumps(stats, indent=2))
    elif a.cmd == "psql":
        os.execv(os.path.join(PG_BIN, "psql"), ["psql", cluster.dsn()] + extra)
    elif a.cmd == "scenarios":
        print(json.dumps(_time_scenarios(cluster.dsn(), a.org, a.end, a.runs), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
