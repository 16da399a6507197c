#!/usr/bin/env python3
"""Report latency of an org while it is being written live.

The bench's query phase measures reports on a quiet state; a change to how
the write path stores things (merge operands, memtable sizes, an overlay)
can make reads of an org that takes live events slower, because readers
fold what was written since the last flush or compaction. This starts
`leadflow serve` with the given binary on the medium bench's state, streams
one new org at 20,000 events/s (the freshness phase's background, one org
so that all of it lands on the chunks read), and times its 365-day status
report for 20 s.

    python3 bench/ab/live_read.py BIN LABEL ORG_INDEX

ORG_INDEX: a generator org index new to the state (e.g. 70001; use a new one
per run, events of an org already in the state are duplicates). Environment
variables pass through to the server. Needs the medium bench's broker and
work directory (see bench/ab/freshness_pairs.sh). Prints p50/p90/p99 of the
report's round trip on loopback and the apply rate meanwhile.
"""
import base64
import http.client
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORK = Path("/tmp/leadflow-bench-medium")
BROKERS = "127.0.0.1:29292"
PORT = 28280


def main():
    bin_, label, idx = sys.argv[1], sys.argv[2], int(sys.argv[3])
    org = f"org_{idx + 1}"  # tools/eventgen_catalog.cc OrgShortName for indexes past the named ones
    creds_path = Path("/tmp/live_read_creds.json")
    creds_path.write_text(json.dumps([
        {"org_id": "org_acme", "api_key": "bench-acme-key", "lsq_access_key": "a1", "lsq_secret_key": "s1"},
        {"org_id": org, "api_key": "live-key", "lsq_access_key": "a2", "lsq_secret_key": "s2"}]))
    subprocess.run(["pkill", "-f", "leadflow serve"])
    time.sleep(2)
    log = open(f"/tmp/live_read_{label}.log", "w")
    srv = subprocess.Popen([bin_, "serve", "--brokers", BROKERS, "--topic", "bench.events", "--group", "leadflow-bench",
                            "--data-dir", str(WORK / "leadflow-data"), "--credentials", str(creds_path),
                            "--listen", f"127.0.0.1:{PORT}"], stdout=log, stderr=subprocess.STDOUT)

    def get(path, auth=True):
        c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        h = {"Authorization": "Basic " + base64.b64encode(b"live-key:").decode()} if auth else {}
        c.request("GET", path, headers=h)
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status, body

    def metric(name):
        _, body = get("/metrics", False)
        for line in body.decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return 0.0

    try:
        for _ in range(600):
            try:
                if get("/readyz", False)[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        gen = subprocess.Popen([str(ROOT / "build-release/tools/leadflow-gen"), "--seed", str(idx), "--orgs", "1",
                                "--first-org", str(idx), "--leads", "150000", "--days", "365", "--rate", "20000",
                                "--brokers", BROKERS, "--topic", "bench.events"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(10)
        a0, t0 = metric("leadflow_events_applied_total"), time.time()
        path = f"/api/v1/report/statuses/lead/{org}/?date_start=2024-01-01&date_end=2024-12-31"
        lat = []
        end = time.time() + 20
        while time.time() < end:
            s = time.perf_counter()
            status, body = get(path)
            lat.append((time.perf_counter() - s) * 1000)
            if status != 200:
                raise SystemExit(f"HTTP {status}: {body[:200]!r}")
            time.sleep(0.01)
        a1, t1 = metric("leadflow_events_applied_total"), time.time()
        gen.terminate()
        gen.wait()
        lat.sort()
        print(f"{label}: report n={len(lat)} p50 {lat[len(lat) // 2]:.2f} ms p90 {lat[int(len(lat) * .9)]:.2f} "
              f"p99 {lat[int(len(lat) * .99)]:.2f} ms; applied {(a1 - a0) / (t1 - t0):,.0f} events/s")
    finally:
        srv.send_signal(signal.SIGTERM)
        srv.wait()


if __name__ == "__main__":
    main()
