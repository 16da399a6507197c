#!/usr/bin/env bash
# Alternated runs of the medium bench's freshness phase (20,000 events/s of
# background, 200 probes) for two leadflow binaries on the same state, so a
# change to the live path is judged by pairs, not by one run each (p99 of 200
# probes is the second-worst probe: single runs are noisy).
#
#   bench/ab/freshness_pairs.sh BASE_BIN NEW_BIN [PAIRS]
#
# Needs a medium bench's work directory and broker: run once
#   bash bench/run.sh --scale medium
# (or `python3 bench/run.py --scale medium --phases gen,ingest`), then
#   KAFKA_DIR=/tmp/leadflow-kafka-bench-medium KAFKA_PORT=29292 \
#   KAFKA_CONTROLLER_PORT=29293 bash scripts/kafka.sh start
# Each run restarts `leadflow serve` on /tmp/leadflow-bench-medium's state
# with the binary under test (tools and the prober come from build-release)
# and adds 4 new orgs of background; both binaries must read the state's
# layout. Results go to /tmp/freshness-pairs/<label>/results.json; the
# server's log is /tmp/leadflow-bench-medium/leadflow.log.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
base=$1 new=$2 pairs=${3:-3}
out=/tmp/freshness-pairs
for label in base new; do
  d=$out/build-$label
  mkdir -p "$d/app"
  ln -sfn "$root/build-release/tools" "$d/tools"
  ln -sfn "$root/build-release/bench" "$d/bench"
done
cp "$base" "$out/build-base/app/leadflow"
cp "$new" "$out/build-new/app/leadflow"
run() {
  pkill -f "leadflow serve" || true
  sleep 2
  python3 "$root/bench/run.py" --scale medium --phases freshness --build-dir "$out/build-$1" \
    --out "$out/$1-$2" --keep-running 2>&1 | tail -1 | sed "s/^/$1 $2: /"
}
# The first run after the broker starts is slower whatever the binary
# (base 414 vs new 158 ms p99 with the same binary): one run to warm up.
run new warmup
for r in $(seq "$pairs"); do
  # Alternate which goes first: the state grows with each run's background.
  if [ $((r % 2)) -eq 1 ]; then run base "$r"; run new "$r"; else run new "$r"; run base "$r"; fi
done
pkill -f "leadflow serve" || true
