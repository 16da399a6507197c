#!/usr/bin/env bash
# A profile of the live path: `leadflow serve` on a bench state (default
# the medium bench's, after `bash bench/run.sh --scale medium`) while
# `leadflow-gen` produces a background stream of new orgs at a fixed rate,
# recorded with `perf record -e cpu-clock --call-graph dwarf` (no hardware
# counters on this VM); prints the batch phase sums and the functions with
# the largest inclusive share of the samples. Uses the medium bench's
# broker (started here, stopped after) and HTTP port; do not run it beside
# the medium bench. The state gains the background's events.
#
#   bench/ab/live_profile.sh [BUILD_DIR] [RATE] [SECONDS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
build=${1:-build-release} rate=${2:-20000} seconds=${3:-6}
work=/tmp/leadflow-bench-medium
out=$(mktemp -d)
export KAFKA_DIR=/tmp/leadflow-kafka-bench-medium KAFKA_PORT=29292 KAFKA_CONTROLLER_PORT=29293 KAFKA_HEAP_OPTS="-Xms512m -Xmx1g"
bash scripts/kafka.sh start >/dev/null
"$build/app/leadflow" serve --brokers 127.0.0.1:29292 --topic bench.events --group leadflow-bench \
  --data-dir "$work/leadflow-data" --credentials "$work/credentials.json" --listen 127.0.0.1:28280 >"$out/serve.log" 2>&1 &
serve=$!
cleanup() { kill "${gen:-}" "$serve" 2>/dev/null || true; wait "$serve" 2>/dev/null || true; bash scripts/kafka.sh stop >/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 300); do curl -sf 127.0.0.1:28280/readyz >/dev/null && break; sleep 0.2; done
org=$((5000 + RANDOM % 1000 * 10))  # orgs new to the state: no duplicates of an earlier run
"$build/tools/leadflow-gen" --seed "$org" --orgs 4 --first-org "$org" --leads 150000 --days 365 --rate "$rate" \
  --brokers 127.0.0.1:29292 --topic bench.events >/dev/null 2>"$out/gen.log" &
gen=$!
sleep 5
perf record -e cpu-clock -F 499 --call-graph dwarf,16384 -p "$serve" -o "$out/live.perf" -- sleep "$seconds" 2>/dev/null
curl -s 127.0.0.1:28280/metrics | grep -E '^leadflow_batch_phase_seconds_(sum|count)'
perf script -i "$out/live.perf" 2>/dev/null >"$out/stacks.txt"
python3 - "$out/stacks.txt" <<'PY'
import collections, re, sys
incl, selfc, total = collections.Counter(), collections.Counter(), 0
for st in open(sys.argv[1]).read().split("\n\n"):
    frames = [l.strip() for l in st.strip().split("\n")[1:] if l.strip()]
    if not frames:
        continue
    total += 1
    names = {re.sub(r"\(.*", "", re.sub(r"^[0-9a-f]+ ", "", f).split("+0x")[0])[:90] for f in frames}
    incl.update(names)
    selfc[re.sub(r"\(.*", "", re.sub(r"^[0-9a-f]+ ", "", frames[0]).split("+0x")[0])[:90]] += 1
print(f"{total} samples; inclusive share:")
for name, n in incl.most_common(60):
    if "leadflow" in name or "rocksdb" in name or "memcmp" in name:
        print(f"{100.0 * n / total:5.1f}%  {name}")
print("self share:")
for name, n in selfc.most_common(40):
    print(f"{100.0 * n / total:5.1f}%  {name}")
PY
echo "perf data: $out/live.perf"
