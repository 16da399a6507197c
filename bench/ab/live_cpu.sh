#!/usr/bin/env bash
# What the live path costs: `leadflow serve` on the medium bench's state
# while `leadflow-gen` produces a background stream of new orgs at a fixed
# rate; prints the CPU the service and the broker used per second of a
# window (from /proc, so no profiler's overhead) and the batch counts. Uses
# the medium bench's broker and ports (bench/ab/live_env.sh): do not run it
# beside the medium bench.
# The state gains the background's events.
#
#   bench/ab/live_cpu.sh [BUILD_DIR] [RATE] [SECONDS] [-- extra serve flags]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
build=${1:-build-release} rate=${2:-20000} seconds=${3:-10}
shift $(( $# < 3 ? $# : 3 ))
[[ ${1:-} == -- ]] && shift
source bench/ab/live_env.sh "$@"
sleep 5
broker=$(pgrep -f "kafka.Kafka.*leadflow-kafka-bench-medium" | head -1 || true)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
m() { curl -s 127.0.0.1:28280/metrics | awk -v k="$1" '$1 == k {print $2}'; }
s0=$(ticks "$serve"); b0=$( [[ -n $broker ]] && ticks "$broker" || echo 0); a0=$(m leadflow_events_applied_total); n0=$(m leadflow_batches_total)
sleep "$seconds"
s1=$(ticks "$serve"); b1=$( [[ -n $broker ]] && ticks "$broker" || echo 0); a1=$(m leadflow_events_applied_total); n1=$(m leadflow_batches_total)
hz=$(getconf CLK_TCK)
python3 -c "
s=($s1-$s0)/$hz/$seconds; b=($b1-$b0)/$hz/$seconds; ev=($a1-$a0)/$seconds; nb=($n1-$n0)/$seconds
print(f'serve {s:.3f} cores, broker {b:.3f} cores, {ev:,.0f} events/s in {nb:,.0f} batches/s ({ev/max(nb,1):.0f}/batch), {1e6*s/max(ev,1):.1f} us/event')"
