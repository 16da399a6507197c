"""The cluster phase of the benchmark (issue 13): leadflow instances sharing one topic.

Three measures, each against its target (docs/scale-out-plan.md section 7, slice 9):

  scaling    the same stream (many orgs of one size, so that the partitions
             carry similar loads) ingested from empty by one instance pinned to
             one core (taskset -c 0) and by two instances pinned to one core
             each (-c 0 and -c 1) in one consumer group; alternated pairs, the
             ratio of the medians of the times until every event is applied
             (target >= 1.8x). The split of the events between the two
             instances is reported: the best ratio that split allows.
  failover   two instances with --standby-replicas 1: kill -9 of the owner of
             an org's partition, then the time until the survivor answers that
             org's report with the body it had before the kill; the victim is
             started again (static membership) and the next trial waits until
             every partition is owned and has a caught-up copy (target p99 <
             10 s).
  forward    the same report asked of the org's owner and of the other
             instance, which forwards it, over kept-alive connections: the
             difference of the medians of the client's times (target < 1 ms).

Every instance is a real `leadflow serve --advertise` process with its own data
directory; the broker is the bench's. Run with `bench/run.sh --phases cluster`
(it is opt-in: it starts and kills several processes for a few minutes).
"""
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import time

TOPIC_PREFIX = "bench.cluster."  # a new topic each run (the bench broker's topics are never deleted)
PARTITIONS = 8
ORG = "org_acme"  # its report is the one asked for; the credentials cover every org of the stream

# The stream: orgs of one size (--big-org-leads = --leads).
STREAMS = {
    "small": ["--seed", "11", "--orgs", "32", "--leads", "150", "--big-org-leads", "150", "--days", "120",
              "--changes-per-lead", "4", "--activities-per-lead", "8"],
    "medium": ["--seed", "11", "--orgs", "64", "--leads", "3000", "--big-org-leads", "3000", "--days", "365",
               "--changes-per-lead", "6", "--activities-per-lead", "12"],
    "full": ["--seed", "11", "--orgs", "64", "--leads", "6000", "--big-org-leads", "6000", "--days", "365",
             "--changes-per-lead", "6", "--activities-per-lead", "12"],
}


def _pct(values, q):
    s = sorted(values)
    return s[max(0, min(len(s) - 1, int(round(q / 100.0 * (len(s) - 1)))))]


class Instance:
    """One `leadflow serve --advertise` process of the phase."""

    def __init__(self, bench, name, port, cpus, extra):
        self.bench, self.name, self.port, self.cpus, self.extra = bench, name, port, cpus, extra
        self.data = bench.work / "cluster" / name
        self.proc = None

    def start(self, group, fresh):
        if fresh and self.data.exists():
            shutil.rmtree(self.data)
        self.data.mkdir(parents=True, exist_ok=True)
        log = open(self.bench.work / "cluster" / f"{self.name}.log", "a")
        cmd = [self.bench.bin("app/leadflow"), "serve", "--brokers", self.bench.brokers(), "--topic", self.bench.cluster_topic,
               "--group", group, "--data-dir", str(self.data), "--credentials", str(self.bench.cluster_creds),
               "--listen", f"127.0.0.1:{self.port}", "--advertise", f"127.0.0.1:{self.port}",
               "--instance-id", self.name, "--apply-workers", "1", "--threads", "2",
               "--kafka-prop", "session.timeout.ms=10000", *self.extra]
        if self.cpus is not None:
            cmd = ["taskset", "-c", self.cpus, *cmd]
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def get(self, path, headers=None, timeout=10):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", path, headers=headers or {})
            r = conn.getresponse()
            return r.status, r.read(), dict(r.getheaders())
        finally:
            conn.close()

    def applied(self):
        """Messages applied so far (applied + duplicates + dead letters), or None."""
        try:
            _, body, _ = self.get("/metrics", timeout=5)
        except OSError:
            return None
        n = 0
        for line in body.decode().splitlines():
            m = re.match(r"^leadflow_events_(applied|duplicate|dead_lettered)_total ([0-9.e+]+)$", line)
            if m:
                n += float(m.group(2))
        return int(n)

    def owned_positions(self):
        """partition -> the stored position, for each partition this instance owns (None when unreachable)."""
        try:
            _, body, _ = self.get("/metrics", timeout=5)
        except OSError:
            return None
        pos, assigned = {}, set()
        for line in body.decode().splitlines():
            m = re.match(r'^leadflow_consumer_partition_(position|assigned)\{[^}]*partition="(\d+)"\} ([0-9.e+]+)$', line)
            if not m:
                continue
            if m.group(1) == "position":
                pos[int(m.group(2))] = float(m.group(3))
            elif float(m.group(3)) == 1:
                assigned.add(int(m.group(2)))
        return {p: pos.get(p, 0) for p in assigned}

    def cluster(self, key):
        try:
            status, body, _ = self.get("/cluster", {"Authorization": "Bearer " + key})
        except OSError:
            return None
        return json.loads(body) if status == 200 else None


class ClusterPhase:
    def __init__(self, bench, log):
        self.b, self.log = bench, log
        self.key = bench.cluster_key
        self.messages = 0

    def gen(self):
        b = self.b
        flags = STREAMS[b.args.scale]
        b.cluster_topic = TOPIC_PREFIX + str(int(time.time()))
        b.kafka("create-topic", b.cluster_topic, str(PARTITIONS))
        p = subprocess.run([b.bin("tools/leadflow-gen"), *flags, "--brokers", b.brokers(), "--topic", b.cluster_topic,
                            "--kafka-prop", "linger.ms=50"], check=True, stderr=subprocess.PIPE, text=True)
        summary = p.stderr.strip().splitlines()[-1]
        m = re.search(r"(\d+) events", summary)
        self.messages = int(m.group(1))
        self.log(f"cluster stream: {summary}")
        return dict(generator_flags=flags, messages=self.messages, partitions=PARTITIONS, summary=summary,
                    topic=b.cluster_topic)

    def wait(self, cond, timeout, what):
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if cond():
                return time.monotonic() - t0
            time.sleep(0.1)
        raise SystemExit(f"cluster phase: {what} did not happen in {timeout} s")

    def stable(self, instances, standbys):
        """Every instance sees every partition owned by one of them and servable (and, with standbys, a caught-up copy)."""
        addresses = {f"127.0.0.1:{i.port}" for i in instances}
        for i in instances:
            c = i.cluster(self.key)
            if not c or not c["metadata"]["complete"]:
                return False
            try:
                if i.get("/readyz")[0] != 200:
                    return False
            except OSError:
                return False
            for a in c["assignment"]:
                o = a["owner"]
                if not o or not o["servable"] or o["advertise"] not in addresses:
                    return False
                if standbys and not any(s["servable"] for s in a["standbys"]):
                    return False
        return True

    # ---- scaling ----
    def ingest_run(self, count, group):
        """Seconds from the first instance's start until every message is applied; and each one's share."""
        port = self.b.cluster_port
        cpus = ["0", "1"]
        insts = [Instance(self.b, f"scale-{count}-{k}", port + k, cpus[k], ["--standby-replicas", "0"])
                 for k in range(count)]
        t0 = time.monotonic()
        for i in insts:
            i.start(group, fresh=True)
        # Samples of (time, owners, progress): which instance owns which
        # partition, and the sum of the owners' positions (the messages
        # applied by the partitions' current owners). The steady rate is
        # the progress after the last change of owners over the time it
        # took: the start (joining, a first member taking every partition
        # until the second joins) is left out of it, not out of `seconds`.
        samples = []
        try:
            def done():
                owners, progress = {}, 0
                for k, i in enumerate(insts):
                    pos = i.owned_positions()
                    if pos is None:
                        return False
                    for p, v in pos.items():
                        owners[p] = k
                        progress += v
                samples.append((time.monotonic() - t0, tuple(sorted(owners.items())), progress))
                # Every message applied by the partitions' owners, every
                # partition owned and caught up.
                return progress >= self.messages and self.stable(insts, standbys=False)
            seconds = self.wait(done, 3600, f"{count} instance(s) applying the stream")
            shares = [i.applied() for i in insts]
        finally:
            for i in insts:
                i.stop()
        last_change = 0
        for k in range(1, len(samples)):
            if samples[k][1] != samples[k - 1][1]:
                last_change = k
        t_s, _, p_s = samples[last_change]
        t_e, _, p_e = samples[-1]
        steady = (p_e - p_s) / max(1e-3, t_e - t_s)
        return seconds, shares, steady

    def scaling(self, pairs):
        runs = {1: [], 2: []}
        rates = {1: [], 2: []}
        shares = []
        for r in range(pairs):
            for count in (1, 2):
                s, sh, steady = self.ingest_run(count, f"bench-cluster-scale-{count}-{r}-{int(time.time())}")
                runs[count].append(s)
                rates[count].append(steady)
                if count == 2:
                    shares.append(sh)
                self.log(f"cluster scaling: {count} instance(s), one core each: {s:.2f} s, steady "
                         f"{steady:,.0f} events/s (applied by each: {sh})")
        one, two = statistics.median(runs[1]), statistics.median(runs[2])
        r1, r2 = statistics.median(rates[1]), statistics.median(rates[2])
        split = shares[-1]
        best = sum(split) / max(split) if split and max(split) > 0 else float("nan")
        return dict(seconds_1_instance=runs[1], seconds_2_instances=runs[2], median_1=one, median_2=two,
                    speedup=one / two, events_per_s_1=self.messages / one, events_per_s_2=self.messages / two,
                    split_2=split, best_speedup_of_split=best, steady_events_per_s_1=rates[1],
                    steady_events_per_s_2=rates[2], steady_speedup=r2 / r1)

    # ---- failover and forwarding ----
    def failover_and_forward(self, trials, forward_reps):
        port = self.b.cluster_port + 10
        group = f"bench-cluster-ha-{int(time.time())}"
        insts = [Instance(self.b, f"ha-{k}", port + k, None, ["--standby-replicas", "1"]) for k in range(2)]
        for i in insts:
            i.start(group, fresh=True)
        auth = {"Authorization": "Bearer " + self.key}
        report = f"/api/v1/report/statuses/lead/{ORG}/"
        out = dict(trials=[], forward={})
        try:
            self.wait(lambda: self.stable(insts, standbys=True), 1800, "a stable pair with standby copies")
            # Forward overhead: the owner asked directly, and through the other instance.
            c = insts[0].cluster(self.key)
            home = self.home_partition(insts[0])
            owner_addr = c["assignment"][home]["owner"]["advertise"]
            owner = next(i for i in insts if f"127.0.0.1:{i.port}" == owner_addr)
            other = next(i for i in insts if i is not owner)
            times = {}
            for label, inst in (("direct", owner), ("forwarded", other), ("direct2", owner), ("forwarded2", other)):
                conn = http.client.HTTPConnection("127.0.0.1", inst.port, timeout=30)
                ms, app, fwd = [], [], []
                for k in range(forward_reps + 5):
                    t = time.perf_counter()
                    conn.request("GET", report, headers=auth)
                    r = conn.getresponse()
                    r.read()
                    if r.status != 200:
                        raise SystemExit(f"cluster phase: report through {label}: HTTP {r.status}")
                    if k < 5:
                        continue
                    ms.append((time.perf_counter() - t) * 1000)
                    st = r.getheader("Server-Timing") or ""
                    a = re.search(r"app;dur=([0-9.]+)", st)
                    f = re.search(r"fwd;dur=([0-9.]+)", st)
                    app.append(float(a.group(1)) if a else float("nan"))
                    if f:
                        fwd.append(float(f.group(1)))
                conn.close()
                times.setdefault(label.rstrip("2"), []).extend(ms)
                times.setdefault(label.rstrip("2") + "_app", []).extend(app)
                times.setdefault(label.rstrip("2") + "_fwd", []).extend(fwd)
            d50, f50 = statistics.median(times["direct"]), statistics.median(times["forwarded"])
            out["forward"] = dict(direct_p50_ms=d50, forwarded_p50_ms=f50, overhead_p50_ms=f50 - d50,
                                  direct_p99_ms=_pct(times["direct"], 99), forwarded_p99_ms=_pct(times["forwarded"], 99),
                                  owner_app_p50_ms=statistics.median(times["direct_app"]),
                                  fwd_hop_p50_ms=statistics.median(times["forwarded_fwd"]) if times["forwarded_fwd"] else None,
                                  reps=len(times["direct"]))
            self.log(f"cluster forward: direct p50 {d50:.3f} ms, forwarded p50 {f50:.3f} ms: +{f50 - d50:.3f} ms")

            for t in range(trials):
                self.wait(lambda: self.stable(insts, standbys=True), 600, "a stable pair with standby copies")
                c = insts[0].cluster(self.key)
                owner_addr = c["assignment"][home]["owner"]["advertise"]
                victim = next(i for i in insts if f"127.0.0.1:{i.port}" == owner_addr)
                survivor = next(i for i in insts if i is not victim)
                status, expected, _ = survivor.get(report, auth)
                if status != 200:
                    raise SystemExit(f"cluster phase: the report before the kill: HTTP {status}")
                killed = time.monotonic()
                victim.stop(signal.SIGKILL)
                wrong = 0

                def answered():
                    nonlocal wrong
                    try:
                        st, body, _ = survivor.get(report, auth, timeout=5)
                    except OSError:
                        return False
                    if st == 200 and body != expected:
                        wrong += 1
                    return st == 200 and body == expected
                seconds = self.wait(answered, 120, "an answer after the kill")
                out["trials"].append(dict(seconds=seconds, wrong=wrong))
                self.log(f"cluster failover trial {t + 1}/{trials}: answered again {seconds:.2f} s after kill -9")
                victim.start(group, fresh=False)
            secs = [x["seconds"] for x in out["trials"]]
            out["failover"] = dict(p50_s=_pct(secs, 50), p99_s=_pct(secs, 99), max_s=max(secs), trials=len(secs),
                                   wrong_answers=sum(x["wrong"] for x in out["trials"]))
        finally:
            for i in insts:
                i.stop()
        return out

    def home_partition(self, inst):
        """ORG's home partition, from a report's Leadflow-Partition header."""
        _, _, headers = inst.get(f"/api/v1/report/statuses/lead/{ORG}/", {"Authorization": "Bearer " + self.key})
        return int(headers["Leadflow-Partition"])


def run(bench, log):
    phase = ClusterPhase(bench, log)
    out = dict(stream=phase.gen())
    pairs = bench.cfg.get("cluster_pairs", 3)
    log(f"cluster scaling: 1 instance on one core against 2 on one core each ({pairs} alternated pairs)")
    out["scaling"] = phase.scaling(pairs)
    sc = out["scaling"]
    log(f"cluster scaling: {sc['median_1']:.2f} s against {sc['median_2']:.2f} s: {sc['speedup']:.2f}x "
        f"(the split allows {sc['best_speedup_of_split']:.2f}x)")
    out.update(phase.failover_and_forward(bench.cfg.get("failover_trials", 10), bench.cfg.get("forward_reps", 200)))
    return out
