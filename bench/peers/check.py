#!/usr/bin/env python3
"""Equality check: every peer (DuckDB, chdb) answers every benchmark
scenario with leadflow's numbers, on the contract's edge rules too.

The streams: the hand-written one of bench/pg/edge_cases.py (every edge rule
of contract section 1), then one generated stream per seed (duplicates,
out-of-order events, late creations, deletes). Each is loaded into every
peer and into leadflow (`leadflow ingest`, then `leadflow serve`, as
bench/pg/check.py does; its Leadflow, diff, random_periods and
instant_scenario are reused); every scenario of bench/scenarios.py for every
org at two or three end dates, plus status reports over millisecond periods
(for the edge stream: bounds on event instants and one millisecond either
side), is compared. Prints a diff per mismatch; exits 1 if there is one.

Run it with the bench's Python (bench/run.sh creates the venv):

    ~/.cache/leadflow/bench-venv/bin/python bench/peers/check.py [--engines duckdb,chdb]
        [--seeds 1,2] [--no-edge] [--brokers HOST:PORT] [--keep]

Without --brokers it starts a private broker with scripts/kafka.sh
(KAFKA_DIR in its work dir, two free ports) and stops it at the end.
"""

import argparse
import datetime
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
ROOT = os.path.dirname(BENCH)
sys.path.insert(0, BENCH)
sys.path.insert(0, os.path.join(BENCH, "pg"))

import check as pgcheck  # noqa: E402  (bench/pg/check.py)
import edge_cases  # noqa: E402  (bench/pg/edge_cases.py)
import scenarios as sc  # noqa: E402
from peers import ENGINES  # noqa: E402


def compare(label, ndjson, end_dates, periods, engines, brokers, work):
    """Loads ndjson into every peer and leadflow and compares every case.
    Returns (comparisons, failures)."""
    peers = []
    for name in engines:
        peer = ENGINES[name](os.path.join(work, f"{label}-{name}"))
        stats = peer.load(ndjson)
        print(f"{label}: {peer.label} loaded {stats['lines']} lines, {stats['events']} distinct events "
              f"in {stats['seconds']:.2f} s")
        peers.append(peer)
    orgs = [o for (o,) in peers[0].rows("SELECT org_id FROM events GROUP BY org_id ORDER BY min(line)")]
    leadflow_dir = os.path.join(work, label)
    os.makedirs(leadflow_dir)
    lf = pgcheck.Leadflow(leadflow_dir, ndjson, orgs, brokers)
    compared, failures = 0, []
    try:
        for org in orgs:
            cases = [(f"{s.name}@{end}", s) for end in end_dates for s in sc.scenarios(org, end)]
            for i, (t0, t1) in enumerate(periods):
                term = (sc.QUERY_FIELD, sc.QUERY_VALUE) if i % 3 == 2 else None
                s = pgcheck.instant_scenario(f"status[{t0},{t1}){'+query' if term else ''}", org, t0, t1, term)
                cases.append((s.name, s))
            for name, s in cases:
                want = s.normalize_leadflow(pgcheck.http(lf.base, s, lf.credential(org)))
                for peer in peers:
                    got = peer.answer(s, org)
                    compared += 1
                    if got != want:
                        failures.append((label, peer.label, org, name))
                        print(f"MISMATCH {label} {peer.label} org {org} {name}")
                        for line in pgcheck.diff(got, want):
                            print(re.sub(r"\bpg\b", peer.label, line))
    finally:
        lf.close()
        for peer in peers:
            peer.close()
    print(f"{label}: {compared} comparisons, {len(failures)} mismatches")
    return compared, failures


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--engines", default=",".join(ENGINES))
    p.add_argument("--seeds", default="1,2")
    p.add_argument("--orgs", type=int, default=3)
    p.add_argument("--leads", type=int, default=1000)
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--start", default="2024-01-01T00:00:00Z")
    p.add_argument("--random-periods", type=int, default=12, help="random ms periods per org")
    p.add_argument("--brokers", help="use this Kafka broker instead of starting one")
    p.add_argument("--no-edge", action="store_true", help="skip the hand-written edge-case stream")
    p.add_argument("--keep", action="store_true", help="keep the work dir")
    a = p.parse_args(argv)
    engines = [e for e in a.engines.split(",") if e]
    unknown = set(engines) - set(ENGINES)
    if unknown:
        p.error(f"unknown engines {sorted(unknown)}; known: {sorted(ENGINES)}")

    work = tempfile.mkdtemp(prefix="peerscheck-")
    kafka = os.path.join(ROOT, "scripts", "kafka.sh")
    env = dict(os.environ, KAFKA_DIR=os.path.join(work, "kafka"), KAFKA_PORT=str(pgcheck.free_port()),
               KAFKA_CONTROLLER_PORT=str(pgcheck.free_port()))
    started_kafka = False
    brokers = a.brokers
    if brokers is None:
        subprocess.run([kafka, "start"], env=env, check=True)
        started_kafka = True
        brokers = "127.0.0.1:" + env["KAFKA_PORT"]
    total, failures = 0, []
    try:
        if not a.no_edge:
            ndjson = os.path.join(work, "edge.ndjson")
            _, end_dates, instants = edge_cases.write(ndjson)
            n, f = compare("edge", ndjson, end_dates, pgcheck.edge_periods(instants), engines, brokers, work)
            total, failures = total + n, failures + f
        start_day = datetime.date.fromisoformat(a.start[:10])
        end_dates = [(start_day + datetime.timedelta(days=a.days)).isoformat(),
                     (start_day + datetime.timedelta(days=a.days // 2 + 3)).isoformat()]
        for seed in [int(s) for s in a.seeds.split(",") if s]:
            ndjson = os.path.join(work, f"seed{seed}.ndjson")
            subprocess.run([pgcheck.GENERATOR, "--seed", str(seed), "--orgs", str(a.orgs), "--leads", str(a.leads),
                            "--days", str(a.days), "--start", a.start, "--changes-per-lead", "6",
                            "--activities-per-lead", "8", "--dup-share", "0.05", "--ooo-share", "0.1",
                            "--ndjson", ndjson], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            periods = pgcheck.random_periods(random.Random(seed), a.start, a.days, a.random_periods)
            n, f = compare(f"seed{seed}", ndjson, end_dates, periods, engines, brokers, work)
            total, failures = total + n, failures + f
    finally:
        if started_kafka:
            subprocess.run([kafka, "stop"], env=env)
        if a.keep:
            print(f"work dir kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{total - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
