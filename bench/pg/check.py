#!/usr/bin/python3
"""Equality check: the PostgreSQL baseline (its fair SQL and its naive SQL)
and leadflow answer every benchmark scenario with the same numbers.

First a hand-written stream with every edge rule of contract section 1
(bench/pg/edge_cases.py), then for each seed: generate a small NDJSON stream (duplicates, out-of-order
events, late creations, deletes, ...), load it into PostgreSQL
(bench/pg/pgbase.py) and into leadflow (`leadflow ingest`, then `leadflow
serve` over its own Kafka topic), run every scenario of bench/scenarios.py
for every org and several end dates, plus status reports over random
millisecond periods, and compare the normalized results. Prints a diff for
each mismatch; exits 1 if there is one.

    /usr/bin/python3 bench/pg/check.py [--seeds 1,2,3] [--leads 2000] [--orgs 3]
        [--days 365] [--brokers HOST:PORT] [--keep] [--no-edge]
        [--file STREAM.ndjson --days D]     # also an existing stream

Without --brokers it starts a private broker with scripts/kafka.sh
(KAFKA_DIR=/tmp/pgbench-kafka, ports 29092/29093) and stops it at the end.
"""

import argparse
import datetime
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
ROOT = os.path.dirname(BENCH)
sys.path.insert(0, HERE)
sys.path.insert(0, BENCH)

import edge_cases  # noqa: E402
import pgbase  # noqa: E402
import scenarios as sc  # noqa: E402

LEADFLOW = os.path.join(ROOT, "build-release", "app", "leadflow")
GENERATOR = os.path.join(ROOT, "build-release", "tools", "leadflow-gen")
KAFKA_ENV = {"KAFKA_DIR": "/tmp/pgbench-kafka", "KAFKA_PORT": "29092", "KAFKA_CONTROLLER_PORT": "29093"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(base, scenario, credential):
    headers = dict(scenario.headers)
    headers.update(sc.auth_headers(scenario.kind, credential))
    data = scenario.body.encode() if scenario.body is not None else None
    req = urllib.request.Request(base + scenario.path, data=data, headers=headers, method=scenario.method)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"{scenario.name}: HTTP {e.code}: {e.read()[:500]!r}") from None


def orgs_in(conn):
    """The org ids of the loaded stream, in order of first appearance."""
    with conn.cursor() as cur:
        cur.execute("SELECT org_id FROM events GROUP BY org_id ORDER BY min(line)")
        return [r[0] for r in cur.fetchall()]


class Leadflow:
    """leadflow ingest + serve on a fresh data dir."""

    def __init__(self, work, ndjson, orgs, brokers):
        self.data_dir = os.path.join(work, "leadflow-data")
        self.creds = [{"org_id": o, "api_key": f"key-{o}", "lsq_access_key": f"u$access-{o}",
                       "lsq_secret_key": f"secret-{o}"} for o in orgs]
        cred_file = os.path.join(work, "credentials.json")
        with open(cred_file, "w") as f:
            json.dump(self.creds, f)
        subprocess.run([LEADFLOW, "ingest", "--file", ndjson, "--data-dir", self.data_dir], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.port = free_port()
        topic = f"pgcheck-{os.getpid()}-{int(time.time() * 1000)}"
        # The broker does not auto-create topics (scripts/kafka.sh).
        env = dict(os.environ, **dict(KAFKA_ENV, KAFKA_PORT=brokers.rsplit(":", 1)[1]))
        for name in (topic, topic + ".dlq"):
            subprocess.run([os.path.join(ROOT, "scripts", "kafka.sh"), "create-topic", name, "1"], env=env,
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.log = open(os.path.join(work, "serve.log"), "w")
        self.proc = subprocess.Popen(
            [LEADFLOW, "serve", "--brokers", brokers, "--data-dir", self.data_dir, "--credentials", cred_file,
             "--listen", f"127.0.0.1:{self.port}", "--topic", topic, "--dlq-topic", topic + ".dlq",
             "--group", topic, "--lsq-rate-limit", "1000000"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 120
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"leadflow serve exited with {self.proc.returncode}; see {self.log.name}")
            try:
                with urllib.request.urlopen(self.base + "/readyz", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.time() > deadline:
                raise RuntimeError("leadflow serve not ready after 120 s")
            time.sleep(0.2)

    def credential(self, org):
        return next(c for c in self.creds if c["org_id"] == org)

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def diff(a, b):
    """Readable differences between two normalized results (a = PostgreSQL,
    b = leadflow)."""
    out = []
    if isinstance(a, dict) and "overview" in a:
        ra = {r[0]: r for r in a["overview"]}
        rb = {r[0]: r for r in b["overview"]}
        if [r[0] for r in a["overview"]] != [r[0] for r in b["overview"]]:
            out.append(f"  status rows: pg {[r[0] for r in a['overview']]} vs leadflow {[r[0] for r in b['overview']]}")
        for sid in sorted(set(ra) & set(rb)):
            if ra[sid][:3] != rb[sid][:3]:
                out.append(f"  {sid}: pg {ra[sid][:3]} vs leadflow {rb[sid][:3]}")
            fa, fb = ra[sid][3], rb[sid][3]
            for k in sorted(set(fa) | set(fb)):
                if fa.get(k, "absent") != fb.get(k, "absent"):
                    out.append(f"  {sid}.{k}: pg {fa.get(k, 'absent')} vs leadflow {fb.get(k, 'absent')}")
        for key in ("transitions", "summary"):
            if a[key] is None or b[key] is None:
                if a[key] != b[key]:
                    out.append(f"  {key}: pg {a[key]} vs leadflow {b[key]}")
                continue
            sa, sb = set(a[key]), set(b[key])
            for t in sorted(sa - sb, key=str):
                out.append(f"  {key}: only pg {t}")
            for t in sorted(sb - sa, key=str):
                out.append(f"  {key}: only leadflow {t}")
        return out
    if a["total"] != b["total"]:
        out.append(f"  TotalCount: pg {a['total']} vs leadflow {b['total']}")
    for i, (x, y) in enumerate(zip(a["rows"], b["rows"])):
        if x != y:
            out.append(f"  row {i}: pg {x} vs leadflow {y}")
            if len(out) > 10:
                break
    if len(a["rows"]) != len(b["rows"]):
        out.append(f"  rows: pg {len(a['rows'])} vs leadflow {len(b['rows'])}")
    return out


def random_periods(rng, start, days, n):
    """n random [t0, t1) periods at millisecond precision inside the history."""
    base = datetime.datetime.fromisoformat(start.replace("Z", "+00:00"))
    span_ms = days * 86400 * 1000
    out = []
    for _ in range(n):
        a = rng.randrange(0, span_ms)
        b = rng.randrange(0, span_ms + 86400 * 1000)
        if a == b:
            continue
        a, b = min(a, b), max(a, b)
        if rng.random() < 0.3:  # whole seconds too
            a, b = a // 1000 * 1000, b // 1000 * 1000 + 1000
        fmt = lambda ms: (base + datetime.timedelta(milliseconds=ms)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        out.append((fmt(a), fmt(b)))
    return out


def instant_scenario(name, org, t0, t1, term):
    """A status report over exact instants (both sides), as a Scenario."""
    import urllib.parse
    params = {"date_start": t0, "date_end": t1}
    if term:
        params["query"] = json.dumps(term[0]) + ":" + json.dumps(term[1])
    path = f"/api/v1/report/statuses/lead/{org}/?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
    return sc.Scenario(name=name, kind="close", method="GET", path=path, headers={}, body=None,
                       pg=lambda conn: sc.status_report_pg(conn, org, t0, t1, term),
                       normalize_leadflow=sc.normalize_status_report,
                       pg_naive=lambda conn: sc.status_report_pg(conn, org, t0, t1, term, naive=True))


def compare(label, ndjson, end_dates, periods, cluster, brokers, work):
    """Loads ndjson into PostgreSQL and leadflow and compares every scenario
    for every org and end date, and status reports over the given
    [t0, t1) periods. Returns (comparisons, failures)."""
    t = time.monotonic()
    stats = pgbase.load(cluster.dsn(), ndjson)
    print(f"{label}: {stats['lines']} lines, {stats['events']} distinct events, "
          f"{stats['duplicates']} duplicates, {stats['invalid']} invalid; PG load {time.monotonic() - t:.1f} s")
    conn = pgbase.connect(cluster.dsn())
    orgs = orgs_in(conn)
    leadflow_dir = os.path.join(work, label)
    os.makedirs(leadflow_dir)
    lf = Leadflow(leadflow_dir, ndjson, orgs, brokers)
    compared, failures = 0, []
    try:
        for org in orgs:
            cases = []
            for end in end_dates:
                cases += [(f"{s.name}@{end}", s) for s in sc.scenarios(org, end)]
            for i, (t0, t1) in enumerate(periods):
                term = (sc.QUERY_FIELD, sc.QUERY_VALUE) if i % 3 == 2 else None
                s = instant_scenario(f"status[{t0},{t1}){'+query' if term else ''}", org, t0, t1, term)
                cases.append((s.name, s))
            for name, s in cases:
                got = s.normalize_leadflow(http(lf.base, s, lf.credential(org)))
                # The fair SQL (Scenario.pg), then the naive SQL.
                for sql_set, fn in (("", s.pg), (" (naive SQL)", s.pg_naive)):
                    want = fn(conn)
                    compared += 1
                    if want != got:
                        failures.append((label, org, name + sql_set))
                        print(f"MISMATCH {label} org {org} {name}{sql_set}")
                        for line in diff(want, got):
                            print(line)
    finally:
        conn.close()
        lf.close()
    print(f"{label}: {compared} comparisons, {len(failures)} mismatches")
    return compared, failures


def check_seed(seed, a, cluster, brokers, work):
    ndjson = os.path.join(work, f"seed{seed}.ndjson")
    gen = [GENERATOR, "--seed", str(seed), "--orgs", str(a.orgs), "--leads", str(a.leads), "--days", str(a.days),
           "--start", a.start, "--dup-share", str(a.dup_share), "--ooo-share", str(a.ooo_share),
           "--ndjson", ndjson] + a.gen_arg
    subprocess.run(gen, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    start_day = datetime.date.fromisoformat(a.start[:10])
    end_dates = [(start_day + datetime.timedelta(days=a.days)).isoformat(),
                 (start_day + datetime.timedelta(days=a.days // 2 + 3)).isoformat()]
    periods = random_periods(random.Random(seed), a.start, a.days, a.random_periods)
    return compare(f"seed{seed}", ndjson, end_dates, periods, cluster, brokers, work)


def check_edge_cases(cluster, brokers, work, n_periods=60):
    """The hand-written stream of bench/pg/edge_cases.py, with period bounds
    on event instants and one millisecond either side of them."""
    ndjson = os.path.join(work, "edge.ndjson")
    _, end_dates, instants = edge_cases.write(ndjson)
    return compare("edge", ndjson, end_dates, edge_periods(instants, n_periods), cluster, brokers, work)


def edge_periods(instants, n=60):
    """n periods (RFC 3339 pairs) with bounds on the event instants and one
    millisecond either side of them, sorted; the same for every run."""
    ms = sorted({round(datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() * 1000)
                 for t in instants})
    rng = random.Random(42)
    fmt = lambda x: datetime.datetime.fromtimestamp(x / 1000, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    periods = set()
    while len(periods) < n:
        a = rng.choice(ms) + rng.choice((-1, 0, 1))
        b = rng.choice(ms) + rng.choice((-1, 0, 1, 86400000))
        if a < b:
            periods.add((fmt(a), fmt(b)))
    return sorted(periods)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", default="1,2,3")
    p.add_argument("--orgs", type=int, default=3)
    p.add_argument("--leads", type=int, default=2000)
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--start", default="2024-01-01T00:00:00Z")
    p.add_argument("--dup-share", type=float, default=0.02)
    p.add_argument("--ooo-share", type=float, default=0.05)
    p.add_argument("--random-periods", type=int, default=12, help="random ms periods per org")
    p.add_argument("--gen-arg", action="append", default=[], help="extra leadflow-gen argument (repeatable)")
    p.add_argument("--brokers", help="use this Kafka broker instead of starting one")
    p.add_argument("--pg-dir", default="/tmp/leadflow-pg-check")
    p.add_argument("--pg-port", type=int, default=55433)
    p.add_argument("--no-edge", action="store_true", help="skip the hand-written edge-case stream")
    p.add_argument("--file", help="also check this NDJSON file (history from --start over --days)")
    p.add_argument("--keep", action="store_true", help="keep the work dir and leave PostgreSQL running")
    a = p.parse_args(argv)

    work = tempfile.mkdtemp(prefix="pgcheck-")
    started_kafka = False
    brokers = a.brokers
    if brokers is None:
        env = dict(os.environ, **KAFKA_ENV)
        kafka = os.path.join(ROOT, "scripts", "kafka.sh")
        if subprocess.run([kafka, "status"], env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode != 0:
            subprocess.run([kafka, "start"], env=env, check=True)
            started_kafka = True
        brokers = "127.0.0.1:" + KAFKA_ENV["KAFKA_PORT"]
    cluster = pgbase.Cluster(a.pg_dir, a.pg_port)
    cluster.start()
    total, failures = 0, []
    try:
        if not a.no_edge:
            n, f = check_edge_cases(cluster, brokers, work)
            total += n
            failures += f
        if a.file:
            start_day = datetime.date.fromisoformat(a.start[:10])
            end_dates = [(start_day + datetime.timedelta(days=a.days)).isoformat(),
                         (start_day + datetime.timedelta(days=a.days // 2 + 3)).isoformat()]
            periods = random_periods(random.Random(0), a.start, a.days, a.random_periods)
            n, f = compare("file", os.path.abspath(a.file), end_dates, periods, cluster, brokers, work)
            total += n
            failures += f
        for seed in [int(s) for s in a.seeds.split(",") if s]:
            n, f = check_seed(seed, a, cluster, brokers, work)
            total += n
            failures += f
    finally:
        if not a.keep:
            cluster.stop()
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"work dir kept: {work}")
        if started_kafka:
            subprocess.run([os.path.join(ROOT, "scripts", "kafka.sh"), "stop"], env=dict(os.environ, **KAFKA_ENV))
    print(f"{total - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
