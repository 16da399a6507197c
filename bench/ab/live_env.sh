# Sourced by bench/ab/live_profile.sh and live_cpu.sh: starts the medium
# bench's broker, `leadflow serve` on the medium bench's state (extra
# arguments go to serve) and, once it is ready, `leadflow-gen` producing a
# background stream of orgs new to the state at $rate; everything is
# stopped on exit. Needs $build and $rate; sets $work, $out, $serve, $gen.
# Uses the medium bench's broker and ports: not beside the medium bench.
work=/tmp/leadflow-bench-medium
out=$(mktemp -d)
export KAFKA_DIR=/tmp/leadflow-kafka-bench-medium KAFKA_PORT=29292 KAFKA_CONTROLLER_PORT=29293 KAFKA_HEAP_OPTS="-Xms512m -Xmx1g"
bash scripts/kafka.sh start >/dev/null
"$build/app/leadflow" serve --brokers 127.0.0.1:29292 --topic bench.events --group leadflow-bench \
  --data-dir "$work/leadflow-data" --credentials "$work/credentials.json" --listen 127.0.0.1:28280 "$@" >"$out/serve.log" 2>&1 &
serve=$!
cleanup() { kill "${gen:-}" "$serve" 2>/dev/null || true; wait "$serve" 2>/dev/null || true; bash scripts/kafka.sh stop >/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 300); do curl -sf 127.0.0.1:28280/readyz >/dev/null && break; sleep 0.2; done
org=$((5000 + RANDOM % 1000 * 10))  # orgs new to the state: no duplicates of an earlier run
"$build/tools/leadflow-gen" --seed "$org" --orgs 4 --first-org "$org" --leads 150000 --days 365 --rate "$rate" \
  --brokers 127.0.0.1:29292 --topic bench.events >/dev/null 2>"$out/gen.log" &
gen=$!
