#!/usr/bin/env bash
# The main job on a fresh or warm machine: installs what is missing, builds,
# starts a local Kafka broker, `leadflow serve`, and a demo producer that
# publishes 30 days of history for three orgs and then a continuing live
# stream, and prints curl commands to try. Ctrl-C stops everything.
#
# Every run starts fresh: the demo's broker has a directory of its own
# (DEMO_KAFKA_DIR), emptied at each start, so the topic holds this run's
# events only (not the last run's history, nor events produced by hand
# then), and leadflow's state is deleted too.
#
# Environment: LEADFLOW_LISTEN (127.0.0.1:8080), DEMO_DATA_DIR
# (/tmp/leadflow-demo), DEMO_BUILD_DIR (build-release), DEMO_KAFKA_DIR
# (/tmp/leadflow-kafka-demo; the broker listens on 127.0.0.1:9092).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)

bash scripts/deps.sh
BUILD_DIR=${DEMO_BUILD_DIR:-build-release}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD_DIR" --target leadflow leadflow-gen

export KAFKA_DIR=${DEMO_KAFKA_DIR:-/tmp/leadflow-kafka-demo}
bash scripts/kafka.sh reset
bash scripts/kafka.sh start
eval "$(bash scripts/kafka.sh env)"
export LEADFLOW_BROKERS
bash scripts/kafka.sh create-topic leadflow.events 3
bash scripts/kafka.sh create-topic leadflow.events.dlq 1

LISTEN=${LEADFLOW_LISTEN:-127.0.0.1:8080}
DATA=${DEMO_DATA_DIR:-/tmp/leadflow-demo}
mkdir -p "$DATA"

pids=()
cleanup() {
  echo "demo: stopping" >&2
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  bash scripts/kafka.sh stop || true
}
trap cleanup EXIT INT TERM

# A fresh demo each run: an empty topic (above), new state.
rm -rf "$DATA/state"
"$ROOT/$BUILD_DIR/app/leadflow" serve --brokers "$LEADFLOW_BROKERS" --data-dir "$DATA/state" \
  --listen "$LISTEN" --credentials "$ROOT/docs/credentials.example.json" \
  2>"$DATA/leadflow.log" &
pids+=($!)

"$ROOT/$BUILD_DIR/tools/leadflow-gen" --brokers "$LEADFLOW_BROKERS" --topic leadflow.events \
  --seed "$$" --orgs 3 --leads 2000 --days 30 --dup-share 0.02 --ooo-share 0.05 --invalid-share 0.001 \
  --live 2>"$DATA/producer.log" &
pids+=($!)

echo "demo: waiting for leadflow to catch up..." >&2
for _ in $(seq 1 600); do
  if curl -sf "http://$LISTEN/readyz" >/dev/null 2>&1; then break; fi
  sleep 0.2
done
curl -sf "http://$LISTEN/readyz" >/dev/null || { echo "demo: leadflow is not ready; see $DATA/leadflow.log" >&2; exit 1; }

today=$(date -u +%F)
month_ago=$(date -u -d '30 days ago' +%F)
cat <<MSG

leadflow is serving on http://$LISTEN, fed by 30 days of history and then a live stream on leadflow.events.
Open the dashboard: http://$LISTEN/ (sign in with the key demo-acme-key; Leads Not Contacted
takes the pair u\$acme-access / acme-secret). It changes as the stream flows.

Or try (the report changes as the stream flows; run it twice, or stream it):

  curl -s -u demo-acme-key: "http://$LISTEN/api/v1/report/statuses/lead/org_acme/?date_start=$month_ago" | python3 -m json.tool | head -40
  curl -s -H 'Authorization: Bearer demo-globex-key' "http://$LISTEN/api/v1/report/statuses/lead/org_globex/?date_start=$month_ago&date_end=$today" -H 'x-tz-offset: -5'
  curl -s -u demo-initech-key: "http://$LISTEN/api/v1/report/statuses/lead/org_initech/"      # overall report
  curl -N -u demo-acme-key: "http://$LISTEN/api/v1/report/statuses/lead/org_acme/stream?date_start=$month_ago&date_end=$today"  # pushed as it changes
  curl -s -u demo-acme-key: "http://$LISTEN/api/v1/report/statuses/lead/org_globex/"         # another org: 404
  curl -s "http://$LISTEN/metrics" | grep ^leadflow_

Logs: $DATA/leadflow.log, $DATA/producer.log. Ctrl-C stops the demo.
MSG
wait "${pids[0]}"
