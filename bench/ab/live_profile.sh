#!/usr/bin/env bash
# A profile of the live path: `leadflow serve` on a bench state (default
# the medium bench's, after `bash bench/run.sh --scale medium`) while
# `leadflow-gen` produces a background stream of new orgs at a fixed rate,
# recorded with `perf record -e cpu-clock --call-graph dwarf` (no hardware
# counters on this VM); prints the batch phase sums and the functions with
# the largest inclusive and self shares of the samples. Uses the medium
# bench's broker (started here, stopped after) and HTTP port
# (bench/ab/live_env.sh); do not run it beside the medium bench. The state
# gains the background's events.
#
#   bench/ab/live_profile.sh [BUILD_DIR] [RATE] [SECONDS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
build=${1:-build-release} rate=${2:-20000} seconds=${3:-6}
set --  # no serve flags (a sourced file sees the caller's arguments)
source bench/ab/live_env.sh
sleep 5
perf record -e cpu-clock -F 499 --call-graph dwarf,16384 -p "$serve" -o "$out/live.perf" -- sleep "$seconds" 2>/dev/null
curl -s 127.0.0.1:28280/metrics | grep -E '^leadflow_batch_phase_seconds_(sum|count)'
perf script -i "$out/live.perf" 2>/dev/null >"$out/stacks.txt"
python3 - "$out/stacks.txt" <<'PY'
import collections, re, sys
incl, selfc, total = collections.Counter(), collections.Counter(), 0
def name(frame):  # a perf script frame's function, without address, offset or arguments
    return re.sub(r"\(.*", "", re.sub(r"^[0-9a-f]+ ", "", frame).split("+0x")[0])[:90]
for st in open(sys.argv[1]).read().split("\n\n"):
    frames = [l.strip() for l in st.strip().split("\n")[1:] if l.strip()]
    if not frames:
        continue
    total += 1
    names = [name(f) for f in frames]
    incl.update(set(names))
    selfc[names[0]] += 1
print(f"{total} samples; inclusive share:")
for fn, n in incl.most_common(60):
    if "leadflow" in fn or "rocksdb" in fn or "memcmp" in fn:
        print(f"{100.0 * n / total:5.1f}%  {fn}")
print("self share:")
for fn, n in selfc.most_common(40):
    print(f"{100.0 * n / total:5.1f}%  {fn}")
PY
echo "perf data: $out/live.perf"
