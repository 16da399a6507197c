#!/usr/bin/python3
"""leadflow benchmark: leadflow against the limits of its parts and PostgreSQL.

Run through bench/run.sh (which installs what is missing and builds); see
bench/README.md. Phases, in order (each one's results are saved to
results.json as soon as it ends, so a long run can be resumed with --phases):

  gen        generate the stream (leadflow-gen) into the local broker and an NDJSON file
  raw        the raw consume rate of the topic (bare librdkafka consumer)
  ingest     leadflow from empty state until caught up (= a full rebuild): apply
             rate, time, bytes on disk per event
  queries    server-side latency (Server-Timing) and HTTP latency with wrk at
             concurrency 1, 16 and 64
  restart    peak RSS, then kill -9 (caught up, full state) and time to /readyz
  freshness  send-to-visible latency with a background stream at a fixed rate
  sse        report streams (issue 14, bench/sse.cc): 1,000 subscribers of 100
             distinct reports while a background stream is applied at the
             freshness rate; send-to-subscriber latency, events delivered, and
             the service's memory over the hold
  file       leadflow's `ingest --file` of the NDJSON alone (peers does it too;
             this phase refreshes it without reloading the peers; only when named)
  scaling    `ingest --file` with --apply-workers 1 and 2, alternated pairs:
             the speed-up of a second worker (issue 11)
  cluster    leadflow instances sharing a topic (issue 13, bench/cluster.py): two
             one-core instances against one, failover with a standby copy, a
             forwarded request's overhead (own stream and topic; only when named)
  pg         PostgreSQL 15: load, the same reports, equality check, ratios
  peers      DuckDB and chdb (bench/peers/): load and derive the same NDJSON, the same
             reports, equality check; leadflow's `ingest --file` of the same file
  freshness_cost  batches of 1,000 new events: each peer's append + re-derive + 365-day
             report, against leadflow's send-to-visible time (bench/freshness_cost.py)
  report     results.md and PNG plots

Every number is measured in this one run on this one machine; the report
gives ratios.
"""
import argparse
import datetime as dt
import http.client
import json
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

GEN_START = dt.date(2024, 1, 1)  # leadflow-gen's default history start

# Scales. "full" is issue 5's: 1M leads (one org of 900k plus 50 of 2k),
# ~10M status events (creations + changes) and ~20M activities over 2 years.
SCALES = {
    "small": dict(
        gen=["--seed", "7", "--orgs", "5", "--leads", "400", "--big-org-leads", "8000", "--days", "400",
             "--changes-per-lead", "4", "--activities-per-lead", "8", "--dup-share", "0.02", "--ooo-share", "0.05"],
        days=400, partitions=4, server_reps=40, wrk_seconds=2, fresh_probes=40, fresh_rate=20000, fresh_warmup_s=3,
        pg_reps=5, restarts=2, sse_probes=20, sse_hold_s=10),
    "medium": dict(
        gen=["--seed", "7", "--orgs", "11", "--leads", "2000", "--big-org-leads", "100000", "--days", "730",
             "--changes-per-lead", "9", "--activities-per-lead", "20", "--dup-share", "0.02", "--ooo-share", "0.05"],
        days=730, partitions=4, server_reps=100, wrk_seconds=5, fresh_probes=200, fresh_rate=20000,
        pg_reps=5, restarts=3, sse_probes=100, sse_hold_s=120),
    "full": dict(
        gen=["--seed", "7", "--orgs", "51", "--leads", "2000", "--big-org-leads", "900000", "--days", "730",
             "--changes-per-lead", "9", "--activities-per-lead", "20", "--dup-share", "0.02", "--ooo-share", "0.05"],
        days=730, partitions=4, server_reps=200, wrk_seconds=10, fresh_probes=300, fresh_rate=20000,
        pg_reps=3, restarts=3, sse_probes=200, sse_hold_s=600),
}
# Run only when named: `file` repeats what `peers` measures.
OPT_IN_PHASES = ["file", "cluster"]
PHASES = ["gen", "raw", "ingest", "queries", "restart", "freshness", "sse", "file", "scaling", "cluster", "pg", "peers",
          "freshness_cost", "report"]
BIG_ORG = "org_acme"
PROBE_ORG = "org_probe"
TOPIC = "bench.events"
# Each scale has its own broker, ports and PostgreSQL, so a CI smoke run
# (small) can run beside a long full-scale run. Every port is below Linux's
# ephemeral range (32768-60999): in that range a client's outgoing
# connection (the tests' thousands) can hold the port, and a broker that
# then starts fails to bind it (it did in CI in session 16).
PORT_OFFSET = {"full": 0, "small": 100, "medium": 200}
HTTP_PORT = 28080
PG_PORT = 25432
KAFKA_ENV = {}
BROKERS = ""


def configure_ports(scale):
    global HTTP_PORT, PG_PORT, KAFKA_ENV, BROKERS
    off = PORT_OFFSET[scale]
    HTTP_PORT = 28080 + off
    PG_PORT = 25432 + off
    kafka_port = 29092 + off
    kafka_dir = "/tmp/leadflow-kafka-bench" + ("" if scale == "full" else f"-{scale}")
    KAFKA_ENV = {"KAFKA_DIR": kafka_dir, "KAFKA_PORT": str(kafka_port),
                 "KAFKA_CONTROLLER_PORT": str(kafka_port + 1), "KAFKA_HEAP_OPTS": "-Xms512m -Xmx1g"}
    BROKERS = f"127.0.0.1:{kafka_port}"


CREDS = [
    {"org_id": BIG_ORG, "api_key": "bench-acme-key", "lsq_access_key": "bench-acme-access",
     "lsq_secret_key": "bench-acme-secret"},
    {"org_id": PROBE_ORG, "api_key": "bench-probe-key", "lsq_access_key": "bench-probe-access",
     "lsq_secret_key": "bench-probe-secret"},
]


def busy_processes(seconds=1.0, threshold=0.05):
    """Other processes that used more than threshold of a core over the
    next `seconds` (name, pid, share of a core), busiest first: a scaling
    pair is judged on two cores, and an idle-looking neighbour (a test
    broker's JVM left running cost the two-worker run ~5% in session 38)
    moves it by more than the floor's margin."""
    def ticks():
        out = {}
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) == os.getpid():
                continue
            try:
                with open(f"/proc/{pid}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            name = stat[stat.find("(") + 1:stat.rfind(")")]
            fields = stat[stat.rfind(")") + 2:].split()
            out[int(pid)] = (name, int(fields[11]) + int(fields[12]))  # utime + stime
        return out
    hz = os.sysconf("SC_CLK_TCK")
    before = ticks()
    time.sleep(seconds)
    after = ticks()
    busy = []
    for pid, (name, t) in after.items():
        if pid in before:
            share = (t - before[pid][1]) / hz / seconds
            if share > threshold:
                busy.append((name, pid, round(share, 2)))
    return sorted(busy, key=lambda b: -b[2])


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def pct(values, q):
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(q / 100.0 * (len(s) - 1)))))
    return s[k]


class Bench:
    def __init__(self, args):
        self.args = args
        self.cfg = SCALES[args.scale]
        self.build = Path(args.build_dir).resolve()
        self.work = Path(args.work_dir).resolve()
        self.out = Path(args.out).resolve()
        self.work.mkdir(parents=True, exist_ok=True)
        self.out.mkdir(parents=True, exist_ok=True)
        self.ndjson = self.work / "events.ndjson"
        self.data_dir = self.work / "leadflow-data"
        self.creds = self.work / "credentials.json"
        self.creds.write_text(json.dumps(CREDS))
        self.results_path = self.out / "results.json"
        self.results = json.loads(self.results_path.read_text()) if self.results_path.exists() else {}
        self.results["scale"] = args.scale
        self.results["generator_flags"] = self.cfg["gen"]
        self.end_date = (GEN_START + dt.timedelta(days=self.cfg["days"])).isoformat()
        self.results["end_date"] = self.end_date
        self.server = None

    # ---- helpers -------------------------------------------------------
    def save(self):
        self.results_path.write_text(json.dumps(self.results, indent=1, sort_keys=True))

    def bin(self, rel):
        p = self.build / rel
        if not p.exists():
            raise SystemExit(f"missing binary {p}; build first (bench/run.sh does)")
        return str(p)

    def kafka(self, *cmd, check=True):
        env = dict(os.environ, **KAFKA_ENV)
        return subprocess.run(["bash", str(ROOT / "scripts/kafka.sh"), *cmd], env=env, check=check,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def start_server(self, fresh, extra=()):
        if fresh and self.data_dir.exists():
            shutil.rmtree(self.data_dir)
        logf = open(self.work / "leadflow.log", "a")
        t0 = time.monotonic()
        self.server = subprocess.Popen(
            [self.bin("app/leadflow"), "serve", "--brokers", BROKERS, "--topic", TOPIC,
             "--group", "leadflow-bench", "--data-dir", str(self.data_dir), "--credentials", str(self.creds),
             "--listen", f"127.0.0.1:{HTTP_PORT}", "--lsq-rate-limit", "1000000", "--lsq-rate-window", "1"]
            + list(extra)
            # Extra flags for A/B runs of one phase (not used by the committed results).
            + shlex.split(os.environ.get("LEADFLOW_BENCH_SERVE_ARGS", "")),
            stdout=logf, stderr=subprocess.STDOUT)
        return t0

    def stop_server(self, sig=signal.SIGTERM):
        if self.server and self.server.poll() is None:
            self.server.send_signal(sig)
            try:
                self.server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
        self.server = None

    def http(self, method, path, headers=None, body=None, timeout=120):
        conn = http.client.HTTPConnection("127.0.0.1", HTTP_PORT, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return r.status, r.read(), dict(r.getheaders())
        finally:
            conn.close()

    def ready(self):
        try:
            return self.http("GET", "/readyz", timeout=2)[0] == 200
        except OSError:
            return False

    def metrics(self, keep=None):
        """The service's unlabelled leadflow_* samples; keep: a path to save the whole exposition to."""
        _, body, _ = self.http("GET", "/metrics", timeout=5)
        if keep is not None:
            keep.write_bytes(body)
        out = {}
        for line in body.decode().splitlines():
            m = re.match(r"^(leadflow_[a-z_]+) ([0-9.e+]+)$", line)
            if m:
                out[m.group(1)] = float(m.group(2))
        return out

    def wait_ready(self, t0, timeout, sample=None):
        while time.monotonic() - t0 < timeout:
            if self.server.poll() is not None:
                raise SystemExit(f"leadflow exited with {self.server.returncode}; see {self.work}/leadflow.log")
            if self.ready():
                return time.monotonic() - t0
            if sample:
                sample()
            time.sleep(0.05 if not sample else 0.5)
        raise SystemExit("leadflow did not become ready in time")

    def topic_messages(self):
        return self.results.get("gen", {}).get("messages")

    # ---- phases ----------------------------------------------------------
    def phase_gen(self):
        log("resetting the bench broker and generating the stream")
        self.kafka("stop", check=False)
        self.kafka("reset", check=False)
        self.kafka("start")
        self.kafka("create-topic", TOPIC, str(self.cfg["partitions"]))
        gen = self.bin("tools/leadflow-gen")
        t = time.monotonic()
        p = subprocess.run([gen, *self.cfg["gen"], "--ndjson", str(self.ndjson)], check=True,
                           stderr=subprocess.PIPE, text=True)
        ndjson_summary = p.stderr.strip().splitlines()[-1]
        t_file = time.monotonic() - t
        t = time.monotonic()
        p = subprocess.run([gen, *self.cfg["gen"], "--brokers", BROKERS, "--topic", TOPIC,
                            "--kafka-prop", "linger.ms=50"], check=True,
                           stderr=subprocess.PIPE, text=True)
        kafka_summary = p.stderr.strip().splitlines()[-1]
        t_kafka = time.monotonic() - t
        m = re.search(r"(\d+) events \(originals (\d+), duplicates (\d+)", ndjson_summary)
        if not m or ndjson_summary.split(",")[0] != kafka_summary.split(",")[0]:
            raise SystemExit(f"generator runs differ: {ndjson_summary} / {kafka_summary}")
        counts = self.count_stream()
        self.results["gen"] = dict(messages=int(m.group(1)), originals=int(m.group(2)),
                                   duplicates=int(m.group(3)), ndjson_bytes=self.ndjson.stat().st_size,
                                   ndjson_seconds=round(t_file, 1), produce_seconds=round(t_kafka, 1),
                                   summary=kafka_summary, **counts)
        log(f"stream: {kafka_summary}")

    def count_stream(self):
        """Counts of the stream's kinds, for the report's scale line."""
        types, leads, orgs = {}, set(), set()
        tkey, okey, lkey = b'"type":"', b'"org_id":"', b'"lead_id":"'

        def field(line, key):
            i = line.find(key)
            if i < 0:
                return None
            i += len(key)
            return line[i:line.find(b'"', i)]

        with open(self.ndjson, "rb") as f:
            for line in f:
                t = field(line, tkey)
                if t is None:
                    continue
                types[t] = types.get(t, 0) + 1
                if t == b"lead.created":
                    o = field(line, okey)
                    orgs.add(o)
                    leads.add((o, field(line, lkey)))
        types = {k.decode(): v for k, v in types.items()}
        return dict(by_type=types, leads=len(leads), orgs=len(orgs),
                    status_events=types.get("lead.created", 0) + types.get("lead.status_changed", 0),
                    activities=types.get("activity.logged", 0))

    def phase_raw(self):
        log("raw consume rate (3 runs)")
        runs = []
        for _ in range(3):
            p = subprocess.run([self.bin("bench/leadflow-bench-consume"), "--brokers", BROKERS, "--topic", TOPIC],
                               check=True, stdout=subprocess.PIPE, text=True)
            runs.append(json.loads(p.stdout))
        rate = statistics.median(r["messages_per_s"] for r in runs)
        self.results["raw"] = dict(runs=runs, messages_per_s=rate)
        log(f"raw consume: {rate:,.0f} messages/s")

    def phase_ingest(self):
        log("leadflow from empty state until caught up (a full rebuild from the topic)")
        # The peak RSS is this rebuild's and what follows it, not an earlier
        # run's kept in results.json (a partial run never showed a decrease).
        self.results["peak_rss_bytes"] = 0
        samples = []
        t0 = self.start_server(fresh=True)

        def sample():
            try:
                m = self.metrics()
            except OSError:
                return
            n = (m.get("leadflow_events_applied_total", 0) + m.get("leadflow_events_duplicate_total", 0) +
                 m.get("leadflow_events_dead_lettered_total", 0))
            samples.append((round(time.monotonic() - t0, 2), int(n)))

        ready_s = self.wait_ready(t0, timeout=6 * 3600, sample=sample)
        sample()
        total = samples[-1][1]
        first = next((t for t, n in samples if n > 0), 0.0)
        apply_s = max(1e-3, ready_s - first)
        du = sum(f.stat().st_size for f in self.data_dir.rglob("*") if f.is_file())
        msgs = self.topic_messages() or total
        self.results["ingest"] = dict(
            ready_seconds=round(ready_s, 2), first_applied_at=first, messages=total,
            events_per_s=total / apply_s, rebuild_seconds=round(ready_s, 2), disk_bytes=du,
            disk_bytes_per_event=du / max(1, msgs), samples=samples, metrics=self.metrics())
        raw = self.results.get("raw", {}).get("messages_per_s")
        if raw:
            self.results["ingest"]["ratio_to_raw"] = self.results["ingest"]["events_per_s"] / raw
        log(f"ingest: {total:,} messages, ready after {ready_s:.1f} s, "
            f"{self.results['ingest']['events_per_s']:,.0f} events/s, {du / max(1, msgs):.0f} bytes/event on disk")

    def ensure_server(self):
        if self.server is None or self.server.poll() is not None:
            t0 = self.start_server(fresh=False)
            self.wait_ready(t0, timeout=3600)

    def scenario_list(self):
        import scenarios
        return scenarios.scenarios(BIG_ORG, self.end_date)

    def call(self, sc):
        import scenarios
        headers = dict(sc.headers or {}, **scenarios.auth_headers(sc.kind, CREDS[0]))
        body = sc.body
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if body is not None:
            headers.setdefault("Content-Type", "application/json")
        return sc.method, sc.path, headers, body

    def phase_queries(self):
        self.ensure_server()
        out = {}
        for sc in self.scenario_list():
            method, path, headers, body = self.call(sc)
            conn = http.client.HTTPConnection("127.0.0.1", HTTP_PORT, timeout=120)
            server_ms, client_ms = [], []
            response, first_ms = None, float("nan")
            for i in range(self.cfg["server_reps"] + 3):
                t = time.perf_counter()
                conn.request(method, path, body=body, headers=headers)
                r = conn.getresponse()
                data = r.read()
                c = (time.perf_counter() - t) * 1000
                if r.status != 200:
                    raise SystemExit(f"{sc.name}: HTTP {r.status}: {data[:300]!r}")
                st = r.getheader("Server-Timing") or ""
                m = re.search(r"dur=([0-9.]+)", st)
                if i < 3:  # warm-up
                    response = data
                    if i == 0 and m:
                        # The first answer of this report computes its folds
                        # (kept for the next ones: docs/design.md, session 28).
                        first_ms = float(m.group(1))
                    continue
                server_ms.append(float(m.group(1)) if m else float("nan"))
                client_ms.append(c)
            conn.close()
            (self.out / "responses").mkdir(exist_ok=True)
            (self.out / "responses" / f"leadflow_{sc.name}.json").write_bytes(response)
            res = dict(server_first_ms=first_ms, server_p50_ms=pct(server_ms, 50), server_p99_ms=pct(server_ms, 99),
                       server_max_ms=max(server_ms), client_p50_ms=pct(client_ms, 50),
                       client_p99_ms=pct(client_ms, 99), reps=len(server_ms), wrk={})
            for c in (1, 16, 64):
                res["wrk"][str(c)] = self.wrk(sc, c)
            out[sc.name] = res
            log(f"{sc.name}: server p50 {res['server_p50_ms']:.2f} ms p99 {res['server_p99_ms']:.2f} ms; "
                + ", ".join(f"wrk c{c} p99 {w['p99_ms']:.1f} ms {w['rps']:.0f}/s" for c, w in res["wrk"].items()))
        self.results["queries"] = out

    def wrk(self, sc, conc):
        method, path, headers, body = self.call(sc)
        script = self.work / f"wrk_{sc.name}.lua"
        lines = [f"wrk.method = {json.dumps(method)}"]
        if body is not None:
            lines.append(f"wrk.body = {json.dumps(body)}")
        for k, v in headers.items():
            lines.append(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}")
        script.write_text("\n".join(lines) + "\n")
        p = subprocess.run(["wrk", "-t", str(min(2, conc)), "-c", str(conc), "-d", f"{self.cfg['wrk_seconds']}s",
                            "--latency", "-s", str(script), f"http://127.0.0.1:{HTTP_PORT}{path}"],
                           check=True, stdout=subprocess.PIPE, text=True)
        text = p.stdout

        def ms(label):
            m = re.search(rf"^\s+{label}%\s+([0-9.]+)(us|ms|s)\s*$", text, re.M)
            if not m:
                return float("nan")
            v = float(m.group(1))
            return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v

        rps = re.search(r"Requests/sec:\s+([0-9.]+)", text)
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
        errs = re.search(r"Socket errors: (.*)", text)
        if bad:
            raise SystemExit(f"wrk {sc.name} c={conc}: {bad.group(1)} error responses")
        return dict(p50_ms=ms("50"), p90_ms=ms("90"), p99_ms=ms("99"), rps=float(rps.group(1)) if rps else 0.0,
                    socket_errors=errs.group(1) if errs else None)

    def phase_freshness(self):
        self.ensure_server()
        rate = self.cfg["fresh_rate"]
        log(f"freshness: background stream at {rate} events/s, {self.cfg['fresh_probes']} probes")
        # The background is a generated history (the usual mix of creations,
        # changes, activities and updates) of orgs new to the state, paced at
        # the rate; a fresh org offset per run keeps its events from being
        # duplicates of an earlier run's. It must outlast the probes: 4 orgs
        # of 20,000 leads (~0.9M events) ran out after ~45 s at 20,000/s, and
        # until session 11 the later probes were measured with no background
        # at all. 4 x 150,000 leads is ~6.6M events, ~5.5 minutes at 20,000/s;
        # the stream is stopped when the probes end, and whether it was still
        # running then is checked below.
        first_org = 1000 + 10 * (int(time.time()) % 100000)
        bg = subprocess.Popen([self.bin("tools/leadflow-gen"), "--seed", str(first_org), "--orgs", "4",
                               "--first-org", str(first_org), "--leads", "150000", "--days", "365",
                               "--rate", str(rate),
                               "--brokers", BROKERS, "--topic", TOPIC],
                              stdout=subprocess.DEVNULL, stderr=open(self.work / "background-gen.log", "w"))
        try:
            # Probes measure the steady state at the rate, not a cold start:
            # a broker started seconds before (the standalone phase starts
            # it) spends its first ~40 s compiling (JIT), at up to three
            # times its steady CPU on two cores shared with the service
            # (measured with /proc: 94%, 64%, 41%, 40%, 32% of a core in
            # successive 10 s windows at 20,000 events/s, then flat).
            time.sleep(self.cfg.get("fresh_warmup_s", 45))
            before = self.metrics()
            t = time.monotonic()
            p = subprocess.run([self.bin("bench/leadflow-bench-freshness"), "--brokers", BROKERS, "--topic", TOPIC,
                                "--http", f"127.0.0.1:{HTTP_PORT}", "--api-key", CREDS[1]["api_key"],
                                "--org", PROBE_ORG, "--probes", str(self.cfg["fresh_probes"]),
                                "--timeout-ms", "120000"],
                               check=True, stdout=subprocess.PIPE, text=True)
            elapsed = time.monotonic() - t
            # The batch histograms of the run are kept too, to see a tail from inside.
            after = self.metrics(keep=self.work / "freshness-metrics.txt")
            if bg.poll() is not None:
                raise SystemExit("freshness: the background stream ended before the probes did; "
                                 "the later probes were measured without the load")
        finally:
            bg.terminate()
            bg.wait()
        res = json.loads(p.stdout)
        applied = after.get("leadflow_events_applied_total", 0) - before.get("leadflow_events_applied_total", 0)
        res["background_rate"] = rate
        # The tail split in two: the broker's acknowledgement (acks=all,
        # the JVM on the same two cores) and what comes after it, leadflow's
        # consume, apply and report. A probe seen before its ack counts whole.
        acked = res.get("acked_ms", [])
        if acked and any(a >= 0 for a in acked):
            res["ack_p99_ms"] = pct([a for a in acked if a >= 0], 99)
            res["after_ack_p99_ms"] = pct([v - a if a >= 0 else v for v, a in zip(res["samples_ms"], acked)], 99)
        res["observed_apply_rate"] = applied / elapsed
        # The state the probes met: a live event touches a lead whose record
        # and facts grow with its history, and every freshness run adds its
        # background stream to the state, so repeated runs drift worse.
        res["state_events_before"] = before.get("leadflow_events_applied_total")
        res["lag_at_end"] = after.get("leadflow_consumer_lag_messages")
        self.results["freshness"] = res
        log(f"freshness: p50 {res['p50_ms']:.1f} ms p99 {res['p99_ms']:.1f} ms "
            f"(applied {res['observed_apply_rate']:,.0f} events/s meanwhile)")

    def phase_sse(self):
        """Report streams under load: leadflow-bench-sse's 1,000 subscribers of
        100 distinct reports (a tenth of them the probe org's) while a
        background stream of 4 new orgs is applied at the freshness rate;
        the service's RSS is sampled every 5 s while the streams are open."""
        rate = self.cfg["fresh_rate"]
        # New orgs each run (as freshness; names ending 5-8 where freshness's
        # end 0-3), with keys: the service restarts with them added.
        first_org = 1005 + 10 * (int(time.time()) % 100000)
        busy = [f"org_{first_org + i + 1}" for i in range(4)]
        creds = CREDS + [{"org_id": o, "api_key": f"bench-sse-{o}", "lsq_access_key": f"bench-sse-{o}-access",
                          "lsq_secret_key": f"bench-sse-{o}-secret"} for o in busy]
        plain_creds = self.creds
        self.creds = self.work / "credentials-sse.json"
        self.creds.write_text(json.dumps(creds))
        self.stop_server()
        interval = self.cfg.get("sse_interval_ms", 1000)
        t0 = self.start_server(fresh=False, extra=["--stream-min-interval-ms", str(interval)])
        self.wait_ready(t0, timeout=3600)
        log(f"sse: --stream-min-interval-ms {interval}; background stream at {rate} events/s into {', '.join(busy)}")
        # 4 x 600,000 leads is ~26M events, ~22 minutes at 20,000/s: longer
        # than the phase at full scale (10 minutes held, 200 probes, probes
        # that time out after 30 s each); stopped when the subscribers end.
        bg = subprocess.Popen([self.bin("tools/leadflow-gen"), "--seed", str(first_org), "--orgs", "4",
                               "--first-org", str(first_org), "--leads", "600000", "--days", "365",
                               "--rate", str(rate), "--brokers", BROKERS, "--topic", TOPIC],
                              stdout=subprocess.DEVNULL, stderr=open(self.work / "sse-gen.log", "w"))
        rss = []
        try:
            time.sleep(max(10, self.cfg.get("fresh_warmup_s", 45)))
            before = self.metrics()
            tool = subprocess.Popen(
                [self.bin("bench/leadflow-bench-sse"), "--brokers", BROKERS, "--topic", TOPIC,
                 "--http", f"127.0.0.1:{HTTP_PORT}", "--probe-org", PROBE_ORG, "--probe-key", CREDS[1]["api_key"],
                 "--busy", ",".join(f"{c['org_id']}:{c['api_key']}" for c in creds[len(CREDS):]),
                 "--subscribers", "1000", "--reports", "100", "--probes", str(self.cfg["sse_probes"]),
                 "--hold-s", str(self.cfg["sse_hold_s"]), "--timeout-ms", "30000",
                 "--min-interval-ms", str(interval)],
                stdout=subprocess.PIPE, text=True)
            t = time.monotonic()
            while tool.poll() is None:
                status = Path(f"/proc/{self.server.pid}/status").read_text()
                rss.append((round(time.monotonic() - t, 1),
                            int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) * 1024))
                time.sleep(5)
            out = tool.stdout.read()
            if tool.returncode != 0:
                raise SystemExit(f"sse: leadflow-bench-sse failed ({tool.returncode})")
            after = self.metrics(keep=self.work / "sse-metrics.txt")
            if bg.poll() is not None:
                raise SystemExit("sse: the background stream ended before the subscribers did")
        finally:
            bg.terminate()
            bg.wait()
            self.creds = plain_creds
        res = json.loads(out)
        res["background_rate"] = rate
        res["min_interval_ms"] = interval
        res["rss_samples"] = rss
        if rss:
            res["rss_first_bytes"], res["rss_last_bytes"] = rss[0][1], rss[-1][1]
            res["rss_max_bytes"] = max(v for _, v in rss)
        for k in ("leadflow_report_cache_hits_total", "leadflow_report_cache_misses_total",
                  "leadflow_report_stream_events_total", "leadflow_report_stream_unchanged_total"):
            res[k] = after.get(k, 0) - before.get(k, 0)
        res["observed_apply_rate"] = (after.get("leadflow_events_applied_total", 0) -
                                      before.get("leadflow_events_applied_total", 0)) / max(1e-9, res["seconds"])
        self.results["sse"] = res
        log(f"sse: {res['subscribers']} subscribers, p50 {res['p50_ms']:.1f} ms p99 {res['p99_ms']:.1f} ms, "
            f"{res['events_per_s']:,.0f} events/s delivered, RSS {res.get('rss_first_bytes', 0) / 2**20:.0f} -> "
            f"{res.get('rss_last_bytes', 0) / 2**20:.0f} MiB (max {res.get('rss_max_bytes', 0) / 2**20:.0f})")

    def note_peak_rss(self):
        """Keeps the largest VmHWM of the running service seen so far."""
        if self.server is None or self.server.poll() is not None:
            return
        try:
            status = Path(f"/proc/{self.server.pid}/status").read_text()
        except OSError:
            return
        hwm = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) * 1024
        self.results["peak_rss_bytes"] = max(hwm, self.results.get("peak_rss_bytes", 0))

    def wait_caught_up(self, timeout=3600):
        t = time.monotonic()
        while time.monotonic() - t < timeout:
            if self.metrics().get("leadflow_consumer_lag_messages", 1) == 0:
                return
            time.sleep(0.5)
        raise SystemExit("leadflow did not catch up")

    def phase_restart(self):
        self.ensure_server()
        times = []
        for _ in range(self.cfg["restarts"]):
            # A kill with the full state and nothing left to consume: the time
            # to /readyz is reopening the state and rejoining the group.
            self.wait_caught_up()
            self.note_peak_rss()
            self.stop_server(signal.SIGKILL)
            t0 = self.start_server(fresh=False)
            times.append(self.wait_ready(t0, timeout=600))
        self.results["restart"] = dict(peak_rss_bytes=self.results.get("peak_rss_bytes", 0),
                                       ready_after_kill_s=times,
                                       ready_after_kill_median_s=statistics.median(times))
        log(f"peak RSS {self.results['restart']['peak_rss_bytes'] / 2**20:.0f} MiB; ready after kill -9: "
            + ", ".join(f"{x:.2f}" for x in times) + " s")

    def phase_pg(self):
        from pg import pgbase
        self.ensure_server()
        cluster = pgbase.Cluster(str(self.work / "pg"), PG_PORT)
        cluster.start()
        try:
            if not self.args.pg_keep_data or "pg_load" not in self.results:
                log("loading PostgreSQL")
                self.results["pg_load"] = pgbase.load(cluster.dsn(), str(self.ndjson))
                self.save()
            import psycopg2
            conn = psycopg2.connect(cluster.dsn())
            conn.autocommit = True
            out = {}
            for sc in self.scenario_list():
                method, path, headers, body = self.call(sc)
                status, data, _ = self.http(method, path, headers, body)
                lf = sc.normalize_leadflow(json.loads(data))
                # The fair SQL (sc.pg, the one the ratios quote) and the
                # naive SQL over the plain schema (bench/pg/README.md).
                res = {}
                for kind, fn in (("naive", sc.pg_naive), ("fair", sc.pg)):
                    times, result = [], None
                    for i in range(self.cfg["pg_reps"] + 1):
                        t = time.perf_counter()
                        result = fn(conn)
                        if i > 0:  # the first run warms the cache
                            times.append((time.perf_counter() - t) * 1000)
                    res[kind] = (times, lf == result)
                    if lf != result:
                        (self.out / "responses").mkdir(exist_ok=True)
                        (self.out / "responses" / f"mismatch_{sc.name}{'_naive' if kind == 'naive' else ''}.json"
                         ).write_text(json.dumps(dict(leadflow=repr(lf), pg=repr(result)), indent=1))
                (times, equal), (ntimes, nequal) = res["fair"], res["naive"]
                out[sc.name] = dict(p50_ms=pct(times, 50), p99_ms=pct(times, 99), reps=len(times),
                                    equal=equal and nequal, naive_p50_ms=pct(ntimes, 50),
                                    naive_p99_ms=pct(ntimes, 99), naive_equal=nequal)
                log(f"pg {sc.name}: p50 {out[sc.name]['p50_ms']:.1f} ms (naive SQL {out[sc.name]['naive_p50_ms']:.1f} ms), "
                    f"same numbers: {equal} (naive: {nequal})")
            conn.close()
            self.results["pg"] = out
            bad = [k for k, v in out.items() if not v["equal"]]
            if bad:
                self.save()
                raise SystemExit(f"leadflow and PostgreSQL disagree on {bad}; see {self.out}/responses/mismatch_*.json")
        finally:
            if not self.args.keep_running:
                cluster.stop()

    def ingest_file(self, workers=None):
        """leadflow's `ingest --file` of the NDJSON into a fresh data dir: the
        same input the peers load, timed the same way (wall, CPU). workers:
        --apply-workers (None: leadflow's default)."""
        import resource
        data_dir = self.work / "ingest-file-data"
        shutil.rmtree(data_dir, ignore_errors=True)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.monotonic()
        cmd = [self.bin("app/leadflow"), "ingest", "--file", str(self.ndjson), "--data-dir", str(data_dir)]
        if workers is not None:
            cmd += ["--apply-workers", str(workers)]
        p = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)
        wall = time.monotonic() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        counts = dict(re.findall(r"([a-z_]+) (\d+)", p.stdout))
        lines = int(counts.get("lines", 0))
        shutil.rmtree(data_dir, ignore_errors=True)
        return dict(seconds=round(wall, 3), events_per_s=lines / max(1e-9, wall), lines=lines,
                    cpu_seconds=round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 3),
                    summary=p.stdout.strip())

    # A fixed single-threaded CPU job, timed before each phase and each
    # scaling pair: this machine's speed moves by up to ~45% between hours
    # (the same binary's Kafka rate: 291.6k events/s in session 35, 197.7k
    # in session 36), so a floor met or missed can be the machine's doing.
    # leadflow-gen of a fixed stream (~1.07 s here in session 37) to
    # /dev/null; compare a run's numbers with its calibration.
    CALIBRATION_ARGS = ["--seed", "7", "--orgs", "11", "--leads", "2000", "--big-org-leads", "20000",
                        "--days", "730", "--changes-per-lead", "9", "--activities-per-lead", "20",
                        "--dup-share", "0.02", "--ooo-share", "0.05", "--ndjson", "/dev/null"]

    def calibrate(self):
        t = time.monotonic()
        subprocess.run([self.bin("tools/leadflow-gen"), *self.CALIBRATION_ARGS], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return round(time.monotonic() - t, 3)

    def phase_file(self):
        log("leadflow ingest --file of the NDJSON")
        self.results.setdefault("peers", {})["ingest_file"] = res = self.ingest_file()
        log(f"leadflow ingest --file: {res['events_per_s']:,.0f} events/s")

    def phase_scaling(self):
        # Alternated pairs, so that the machine's drift hits both alike; the
        # ratio of the medians is the speed-up of a second worker. Several
        # pairs: one run swings by 5-40% on this machine (a slow minute
        # made one run of a pair 30% slower in session 37), and three gave
        # 1.58x-1.75x for one build (session 36). Each pair's own ratio and
        # the runs' CPU seconds are kept to show the spread.
        self.stop_server()  # the two cores for the loads alone (the broker too: broker_for)
        busy = busy_processes()
        if busy:
            log("warning: other processes are busy beside the scaling phase (name, pid, share of a core): "
                + ", ".join(f"{n} {p} {c}" for n, p, c in busy))
        # Seven pairs since session 40: with five, one slow minute of the
        # machine (two pairs of session 40's first run, both runs of each
        # ~25% slower in CPU seconds) moved the median by ~0.1x.
        pairs = self.cfg.get("scaling_pairs", 7)
        # One load first, not counted: the phase's first runs were the
        # slowest in session 40 (fresh memory for a process of ~1.2 GB after
        # an idle minute). Its time is kept beside the pairs.
        warmup = self.ingest_file(workers=2)["seconds"]
        log(f"warm-up load (2 workers, not counted): {warmup:.2f} s")
        log(f"ingest --file with 1 and 2 apply workers ({pairs} alternated pairs)")
        runs = {1: [], 2: []}
        cpu = {1: [], 2: []}
        # The first pair reuses the phase's calibration, taken just before.
        calibration = []
        for i in range(pairs):
            phase_cal = self.results.get("calibration_seconds", {}).get("scaling")
            calibration.append(phase_cal if i == 0 and phase_cal is not None else self.calibrate())
            # ABBA: 1 then 2 workers in even pairs, 2 then 1 in odd ones, so
            # a machine that speeds up or slows down through the phase
            # does not favour the run that always goes first.
            for w in ((1, 2) if i % 2 == 0 else (2, 1)):
                res = self.ingest_file(workers=w)
                runs[w].append(res["seconds"])
                cpu[w].append(res["cpu_seconds"])
        one, two = statistics.median(runs[1]), statistics.median(runs[2])
        self.results["scaling"] = dict(seconds_1_worker=runs[1], seconds_2_workers=runs[2],
                                       cpu_seconds_1_worker=cpu[1], cpu_seconds_2_workers=cpu[2],
                                       pair_speedups=[round(a / b, 3) for a, b in zip(runs[1], runs[2])],
                                       calibration_seconds=calibration, busy_beside=busy,
                                       warmup_seconds=warmup,
                                       median_1_worker=one, median_2_workers=two, speedup=one / two)
        log(f"scaling: 1 worker {one:.2f} s, 2 workers {two:.2f} s: {one / two:.2f}x")

    def phase_cluster(self):
        import cluster
        self.stop_server()  # the two cores for the instances alone
        (self.work / "cluster").mkdir(parents=True, exist_ok=True)
        self.cluster_key = CREDS[0]["api_key"]
        self.cluster_creds = self.creds
        self.cluster_port = HTTP_PORT + 20
        self.brokers = lambda: BROKERS
        self.results["cluster"] = cluster.run(self, log)

    def phase_peers(self):
        from peers import ENGINES, common
        self.ensure_server()
        leadflow = {}
        for sc in self.scenario_list():
            status, data, _ = self.http(*self.call(sc))
            if status != 200:
                raise SystemExit(f"{sc.name}: HTTP {status}: {data[:300]!r}")
            leadflow[sc.name] = sc.normalize_leadflow(json.loads(data))
        # Every load below (leadflow's file ingest and each peer's load and
        # reports) has the two cores alone, as in the scaling phase: until
        # session 16 the service (idle, or compacting after the freshness
        # phase) ran beside them.
        self.stop_server()
        # Loads alternate, round by round (leadflow, then each peer), and the
        # median of each engine's rounds is kept: on this machine one run of
        # the same binary swung by 15% (11.4-14.9 s for the medium file in
        # session 23), so one run each compared the machine's moments, not
        # the engines. The last round's stores stay for the reports below
        # and the freshness_cost phase.
        rounds = self.cfg.get("load_rounds", 3)
        lf_runs, peer_loads = [], {name: [] for name in ENGINES}
        bad, out = [], {}
        for r in range(rounds):
            last = r == rounds - 1
            log(f"leadflow ingest --file of the same NDJSON (round {r + 1} of {rounds})")
            lf_runs.append(self.ingest_file())
            log(f"leadflow ingest --file: {lf_runs[-1]['events_per_s']:,.0f} events/s")
            for name, make in ENGINES.items():
                directory = self.work / "peers" / name
                shutil.rmtree(directory, ignore_errors=True)
                peer = make(str(directory))
                try:
                    log(f"loading {peer.label} (round {r + 1} of {rounds})")
                    peer_loads[name].append(peer.load(str(self.ndjson), log=log))
                    if last:
                        times, answers = common.time_scenarios(peer, self.scenario_list(), BIG_ORG, self.cfg["pg_reps"])
                        load = dict(sorted(peer_loads[name], key=lambda v: v["load_seconds"])[len(peer_loads[name]) // 2])
                        load["load_runs_seconds"] = [v["load_seconds"] for v in peer_loads[name]]
                        out[name] = dict(label=peer.label, version=peer.version(), load=load, scenarios=times)
                        for sc_name, v in times.items():
                            v["equal"] = answers[sc_name] == leadflow[sc_name]
                            if not v["equal"]:
                                bad.append(f"{name}:{sc_name}")
                                (self.out / "responses").mkdir(exist_ok=True)
                                (self.out / "responses" / f"mismatch_{name}_{sc_name}.json").write_text(
                                    json.dumps(dict(leadflow=repr(leadflow[sc_name]), peer=repr(answers[sc_name])),
                                               indent=1))
                            log(f"{peer.label} {sc_name}: p50 {v['p50_ms']:.2f} ms, same numbers: {v['equal']}")
                finally:
                    peer.close()
                ld = peer_loads[name][-1]
                log(f"{peer.label}: load {ld['load_seconds']:.2f} s ({ld['events_per_s']:,.0f} events/s), "
                    f"derive {ld['derive_seconds']:.2f} s")
        lf = dict(sorted(lf_runs, key=lambda v: v["seconds"])[len(lf_runs) // 2])
        lf["runs_seconds"] = [v["seconds"] for v in lf_runs]
        out["ingest_file"] = lf
        log(f"leadflow ingest --file, median of {rounds}: {lf['events_per_s']:,.0f} events/s")
        for name in ENGINES:
            log(f"{out[name]['label']}: load, median of {rounds}: {out[name]['load']['events_per_s']:,.0f} events/s")
        self.results["peers"] = out
        if bad:
            self.save()
            raise SystemExit(f"leadflow and a peer disagree on {bad}; see {self.out}/responses/mismatch_*.json")

    def phase_freshness_cost(self):
        """Batches of 1,000 new events for the large org (bench/freshness_cost.py),
        the same for every engine: each peer takes a batch in as its user would
        (append with dedup, re-derive what it touched) and answers the 365-day
        report again; leadflow gets the batch through Kafka, and its time is from
        sending to the first report that reflects it. Needs the pg and peers
        phases of the same run (their stores hold the history only)."""
        import freshness_cost as fc
        import scenarios
        from peers import ENGINES
        from pg import pgbase
        import psycopg2
        self.ensure_server()
        n = self.cfg.get("fresh_batches", 5)
        flags = self.cfg["gen"]
        big_org_leads = int(flags[flags.index("--big-org-leads") + 1])
        report_end = fc.report_end(self.end_date)
        sc = scenarios._status_scenario("status_365d_fresh", BIG_ORG, report_end, 365, None)
        batch_dir = self.work / "freshness-batches"
        batch_dir.mkdir(exist_ok=True)
        batches = []
        for k in range(n):
            path = batch_dir / f"batch_{k}.ndjson"
            fc.make_batch(self.bin("tools/leadflow-gen"), k, self.end_date, big_org_leads, str(path))
            batches.append(path)
        log(f"freshness cost: {n} batches of {fc.BATCH_SIZE} events for {BIG_ORG}; "
            f"the 365-day report ending {report_end}")
        answers = {}  # batch -> engine -> normalized answer

        def record(name, per_batch, method):
            totals = [b["seconds"] for b in per_batch]
            return dict(method=method, batches=per_batch, median_s=statistics.median(totals), max_s=max(totals),
                        median_apply_s=statistics.median(b["apply_seconds"] for b in per_batch),
                        median_answer_ms=statistics.median(b["answer_ms"] for b in per_batch))

        def check_new(label, k, r):
            if r["new_events"] != fc.BATCH_SIZE:
                raise SystemExit(f"freshness_cost: {label} took {r['new_events']} new events of batch {k}; "
                                 "run the pg and peers phases first, in the same run")

        out = {"batch_events": fc.BATCH_SIZE, "batches": n, "report": sc.path}
        # PostgreSQL (fair): append, then re-derive the touched leads.
        cluster = pgbase.Cluster(str(self.work / "pg"), PG_PORT)
        cluster.start()
        try:
            conn = psycopg2.connect(cluster.dsn())
            conn.autocommit = True
            per = []
            for k, path in enumerate(batches):
                t = time.perf_counter()
                r = fc.pg_apply_batch(conn, str(path))
                t_ans = time.perf_counter()
                answers.setdefault(k, {})["pg"] = sc.pg(conn)
                done = time.perf_counter()
                check_new("PostgreSQL", k, r)
                per.append(dict(seconds=done - t, apply_seconds=r["seconds"], answer_ms=(done - t_ans) * 1000,
                                steps=r["steps"], touched_leads=r["touched_leads"]))
                log(f"freshness cost: PostgreSQL batch {k}: {per[-1]['seconds'] * 1000:.0f} ms "
                    f"({r['touched_leads']} leads)")
            conn.close()
            out["pg"] = dict(label="PostgreSQL (fair)", **record("pg", per, "incremental (touched leads)"))
        finally:
            if not self.args.keep_running:
                cluster.stop()
        # The embedded peers: append, then re-derive only the touched leads.
        for name, make in ENGINES.items():
            peer = make(str(self.work / "peers" / name))
            try:
                per = []
                for k, path in enumerate(batches):
                    t = time.perf_counter()
                    r = peer.apply_batch(str(path))
                    t_ans = time.perf_counter()
                    answers[k][name] = peer.answer(sc, BIG_ORG)
                    done = time.perf_counter()
                    check_new(peer.label, k, r)
                    per.append(dict(seconds=done - t, apply_seconds=r["seconds"], answer_ms=(done - t_ans) * 1000,
                                    steps=r["steps"], touched_leads=r["touched_leads"]))
                    log(f"freshness cost: {peer.label} batch {k}: {per[-1]['seconds'] * 1000:.0f} ms "
                        f"({r['touched_leads']} leads)")
                out[name] = dict(label=peer.label, **record(name, per, "incremental (touched leads)"))
            finally:
                peer.close()
        # leadflow: kcat sends the batch; counters until every message is
        # consumed, then the report until it equals the peers' answer.
        method, path, headers, body = self.call(sc)
        conn = http.client.HTTPConnection("127.0.0.1", HTTP_PORT, timeout=60)

        def report():
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            data = r.read()
            if r.status != 200:
                raise SystemExit(f"freshness_cost: HTTP {r.status}: {data[:300]!r}")
            return sc.normalize_leadflow(json.loads(data))

        def consumed(m):
            return sum(m.get(f"leadflow_events_{c}_total", 0) for c in ("applied", "duplicate", "dead_lettered"))

        self.wait_caught_up()
        per, bad = [], []
        for k, bpath in enumerate(batches):
            expected = answers[k]["pg"]
            before = self.metrics()
            t = time.perf_counter()
            subprocess.run(["kcat", "-P", "-b", BROKERS, "-t", TOPIC, "-X", "linger.ms=0", "-l", str(bpath)],
                           check=True, stdout=subprocess.DEVNULL)
            sent = time.perf_counter()
            while True:
                m = self.metrics()
                if consumed(m) - consumed(before) >= fc.BATCH_SIZE:
                    break
                if time.perf_counter() - t > 120:
                    raise SystemExit(f"freshness_cost: leadflow did not consume batch {k}")
                time.sleep(0.002)
            dups = m.get("leadflow_events_duplicate_total", 0) - before.get("leadflow_events_duplicate_total", 0)
            polls = 0
            while True:
                t_ans = time.perf_counter()
                got = report()
                polls += 1
                if got == expected or time.perf_counter() - t > 120:
                    break
            done = time.perf_counter()
            if dups:
                raise SystemExit(f"freshness_cost: leadflow already held {dups:.0f} events of batch {k}; "
                                 "run the whole bench (from gen) first")
            per.append(dict(seconds=done - t, apply_seconds=t_ans - t, answer_ms=(done - t_ans) * 1000,
                            send_seconds=sent - t, report_calls=polls))
            log(f"freshness cost: leadflow batch {k}: {per[-1]['seconds'] * 1000:.0f} ms send to visible "
                f"({polls} report calls)")
            for name, ans in answers[k].items():
                if ans != got:
                    bad.append(f"{name}:batch{k}")
                    (self.out / "responses").mkdir(exist_ok=True)
                    (self.out / "responses" / f"mismatch_freshness_{name}_{k}.json").write_text(
                        json.dumps(dict(leadflow=repr(got), peer=repr(ans)), indent=1))
        conn.close()
        out["leadflow"] = dict(label="leadflow", **record("leadflow", per, "send to visible (Kafka)"))
        for name in ("pg", *ENGINES):
            out[name]["ratio_to_leadflow"] = out[name]["median_s"] / max(1e-9, out["leadflow"]["median_s"])
        out["equal"] = not bad
        self.results["freshness_cost"] = out
        if bad:
            self.save()
            raise SystemExit(f"freshness_cost: leadflow and a peer disagree after {bad}; "
                             f"see {self.out}/responses/mismatch_freshness_*.json")

    def phase_report(self):
        import report
        report.write(self.results, self.out)
        log(f"report: {self.out / 'results.md'}")

    # Phases that time `leadflow ingest --file` loads on the two cores alone:
    # the bench broker (an idle KRaft JVM, ~7-9% of a core with bursts, and
    # found beside every scaling phase by busy_processes in session 40) is
    # stopped for them, and started again for the next phase that reads the
    # topic. Its data stays (KAFKA_DIR).
    BROKERLESS_PHASES = ("file", "scaling")

    def broker_for(self, ph):
        """broker_up: True, False, or None (not known: a run's first phase;
        a broker left running by an earlier run is stopped all the same)."""
        if ph == "report":
            return  # reads results.json only: the broker stays as it is
        if ph == "gen":
            self.broker_up = True  # gen resets and starts it itself
        elif ph in self.BROKERLESS_PHASES:
            if self.broker_up is not False:
                self.stop_server()
                self.kafka("stop", check=False)
                self.broker_up = False
        elif not self.broker_up:
            self.kafka("start")
            self.broker_up = True

    def run(self, phases):
        try:
            for ph in PHASES:
                if ph in phases:
                    self.broker_for(ph)
                    if ph != "report":
                        self.results.setdefault("calibration_seconds", {})[ph] = self.calibrate()
                    t = time.monotonic()
                    getattr(self, "phase_" + ph)()
                    self.note_peak_rss()
                    self.results.setdefault("phase_seconds", {})[ph] = round(time.monotonic() - t, 1)
                    self.save()
        finally:
            if not self.args.keep_running:
                self.stop_server()
                self.kafka("stop", check=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", choices=sorted(SCALES), default="small")
    ap.add_argument("--phases", default=",".join(p for p in PHASES if p not in OPT_IN_PHASES),
                    help="comma-separated subset, in the order above (default: all but " + ", ".join(OPT_IN_PHASES) + ")")
    ap.add_argument("--build-dir", default=str(ROOT / "build-release"))
    ap.add_argument("--work-dir", default=None, help="data: NDJSON, leadflow state, PostgreSQL (default /tmp/leadflow-bench-SCALE)")
    ap.add_argument("--out", default=None, help="results directory (default bench/results/SCALE)")
    ap.add_argument("--keep-running", action="store_true", help="leave broker, leadflow and PostgreSQL running")
    ap.add_argument("--pg-keep-data", action="store_true", help="reuse an already loaded PostgreSQL")
    args = ap.parse_args()
    args.work_dir = args.work_dir or f"/tmp/leadflow-bench-{args.scale}"
    args.out = args.out or str(ROOT / "bench" / "results" / args.scale)
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    unknown = [p for p in phases if p not in PHASES]
    if unknown:
        ap.error(f"unknown phases {unknown}")
    configure_ports(args.scale)
    # A scale's broker, ports and PostgreSQL are fixed: two runs of the same
    # scale at once would reset each other's broker. The second one waits
    # for the first rather than spoil both.
    import fcntl
    lock = open(f"/tmp/leadflow-bench-{args.scale}.lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log(f"another {args.scale}-scale benchmark is running; waiting for it to finish")
        fcntl.flock(lock, fcntl.LOCK_EX)
    b = Bench(args)
    # The broker keeps its data between runs; it is started for the first
    # phase that reads the topic (Bench.broker_for), gen resets it.
    b.broker_up = None
    b.run(phases)


if __name__ == "__main__":
    main()
