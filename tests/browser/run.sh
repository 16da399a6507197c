#!/usr/bin/env bash
# The dashboard (web/) in a real browser: headless Chromium (Debian's
# /usr/bin/chromium, driven by playwright-core) against a real `leadflow serve`
# that serves its built-in copy of the page.
#
#   tests/browser/run.sh LEADFLOW_BIN LEADFLOW_GEN_BIN
#
# ctest runs it as `browser` (tests/CMakeLists.txt); it needs the test broker
# of scripts/test.sh (LEADFLOW_TEST_BROKERS). What it does:
#   1. installs playwright-core (pinned in package-lock.json) with `npm ci`
#      when node_modules is missing or older than the lock file; never
#      downloads a browser;
#   2. produces a small generated stream (2 orgs, 120 leads each, the 45 days
#      before today) to a fresh topic with leadflow-gen;
#   3. starts `leadflow serve` (without --web-dir: the built-in page) on a
#      free port with its own data directory and credentials, and waits until
#      /readyz answers 200;
#   4. runs dashboard.test.mjs (sign-in, report numbers against the API's,
#      cell links against the lead search, a live update after an event
#      produced with kcat, Leads Not Contacted and its CSV, no key in any
#      URL or log line, the CSP, one org's data only);
#   5. checks the service's log for the keys and failed requests, stops the
#      service and deletes its directory (the screenshots are kept).
#
# Environment:
#   LEADFLOW_TEST_BROKERS     the broker, HOST:PORT (required)
#   LEADFLOW_TEST_ARTIFACTS   where screenshots go (default: a new directory
#                             under $TMPDIR or /tmp; its path is printed)
#   LEADFLOW_CHROMIUM         the browser (default /usr/bin/chromium)
#   LEADFLOW_TEST_WEB_DIR     serve the page from this directory (serve
#                             --web-dir) instead of the built-in copy: for
#                             working on web/ without rebuilding
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 LEADFLOW_BIN LEADFLOW_GEN_BIN" >&2
  exit 2
fi
LEADFLOW_BIN=$1
GEN_BIN=$2
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd -- "$HERE/../.." && pwd -P)
CHROMIUM=${LEADFLOW_CHROMIUM:-/usr/bin/chromium}
started=$SECONDS

log() { echo "browser/run.sh: $*" >&2; }
die() { echo "browser/run.sh: error: $*" >&2; exit 1; }

[[ -x "$LEADFLOW_BIN" ]] || die "no leadflow binary at $LEADFLOW_BIN"
[[ -x "$GEN_BIN" ]] || die "no leadflow-gen binary at $GEN_BIN"
[[ -n "${LEADFLOW_TEST_BROKERS:-}" ]] || die "LEADFLOW_TEST_BROKERS is not set: run the tests with scripts/test.sh"
BROKERS=$LEADFLOW_TEST_BROKERS
[[ -x "$CHROMIUM" ]] || die "no Chromium at $CHROMIUM: install it with scripts/deps.sh (Debian package chromium)"
for tool in curl node npm kcat python3; do
  command -v "$tool" >/dev/null || die "$tool not found; run scripts/deps.sh"
done

# ---------------------------------------------------------------- 1. playwright-core
# npm ci only when needed: node_modules missing, or the lock file newer than
# npm's record of the last install (node_modules/.package-lock.json).
if [[ ! -f "$HERE/node_modules/.package-lock.json" || "$HERE/package-lock.json" -nt "$HERE/node_modules/.package-lock.json" ]]; then
  log "npm ci in tests/browser"
  (cd "$HERE" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
    die "npm ci failed in $HERE"
  touch "$HERE/node_modules/.package-lock.json"
fi

# ---------------------------------------------------------------- 2. data
TMP=$(mktemp -d "${TMPDIR:-/tmp}/leadflow-browser.XXXXXX")
ARTIFACTS=${LEADFLOW_TEST_ARTIFACTS:-$(mktemp -d "${TMPDIR:-/tmp}/leadflow-browser-artifacts.XXXXXX")}
mkdir -p "$ARTIFACTS"
ARTIFACTS=$(cd -- "$ARTIFACTS" && pwd -P)
log "screenshots go to $ARTIFACTS"
service_pid=""
test_pid=""
stop_service() {
  if [[ -n "$service_pid" ]] && kill -0 "$service_pid" 2>/dev/null; then
    kill -TERM "$service_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$service_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$service_pid" 2>/dev/null || true
    wait "$service_pid" 2>/dev/null || true
  fi
  service_pid=""
}
cleanup() {
  local rc=$?
  if [[ -n "$test_pid" ]]; then
    kill -TERM "$test_pid" 2>/dev/null || true
    wait "$test_pid" 2>/dev/null || true
  fi
  stop_service
  rm -rf -- "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

topic="browser-$(date +%s)-$$-$RANDOM"
broker=${BROKERS%%,*}
create_topic() {
  KAFKA_PORT=${broker##*:} KAFKA_DIR="$TMP/kafka-tools" bash "$ROOT/scripts/kafka.sh" create-topic "$1" "$2" \
    >"$TMP/create-topic.log" 2>&1 || { cat "$TMP/create-topic.log" >&2; die "cannot create topic $1 on $broker"; }
}
create_topic "$topic" 2
create_topic "$topic.dlq" 1
# The 45 days before today (UTC): every event is in the past, and the page's
# "last 30 days" starts with leads in every status (started, lost, change %).
history_start=$(date -u -d "$(date -u +%F) 45 days ago" +%FT%TZ)
"$GEN_BIN" --brokers "$BROKERS" --topic "$topic" --seed 11 --orgs 2 --leads 120 --statuses 5 --users 4 \
  --days 45 --start "$history_start" 2>"$TMP/gen.log" ||
  { cat "$TMP/gen.log" >&2; die "leadflow-gen failed"; }
log "$(tail -n 1 "$TMP/gen.log")"

# ---------------------------------------------------------------- 3. the service
# Keys with a random part, so that finding one in a URL or the log is not chance.
nonce=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
API_KEY="browser-acme-key-$nonce"
OTHER_API_KEY="browser-globex-key-$nonce"
LSQ_ACCESS_KEY="u\$browser-acme-$nonce"
LSQ_SECRET_KEY="browser-acme-secret-$nonce"
cat >"$TMP/credentials.json" <<JSON
[{"org_id": "org_acme", "api_key": "$API_KEY", "lsq_access_key": "$LSQ_ACCESS_KEY", "lsq_secret_key": "$LSQ_SECRET_KEY"},
 {"org_id": "org_globex", "api_key": "$OTHER_API_KEY", "lsq_access_key": "u\$browser-globex-$nonce", "lsq_secret_key": "browser-globex-secret-$nonce"}]
JSON
web_args=()
if [[ -n "${LEADFLOW_TEST_WEB_DIR:-}" ]]; then
  web_args=(--web-dir "$LEADFLOW_TEST_WEB_DIR")
  log "serving the page from $LEADFLOW_TEST_WEB_DIR, not the built-in copy"
fi
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
"$LEADFLOW_BIN" serve --brokers "$BROKERS" --topic "$topic" --dlq-topic "$topic.dlq" --group "$topic" \
  --data-dir "$TMP/data" --listen "127.0.0.1:$port" --credentials "$TMP/credentials.json" --threads 2 \
  --memory-budget 256M --apply-workers 1 --log-level debug "${web_args[@]}" \
  >"$TMP/leadflow.log" 2>&1 &
service_pid=$!
deadline=$((SECONDS + 120))
until [[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/readyz" || true)" == 200 ]]; do
  if ! kill -0 "$service_pid" 2>/dev/null; then
    tail -n 40 "$TMP/leadflow.log" >&2
    die "leadflow serve exited before it was ready"
  fi
  if ((SECONDS > deadline)); then
    tail -n 40 "$TMP/leadflow.log" >&2
    die "leadflow serve not ready after 120 s"
  fi
  sleep 0.3
done
log "leadflow serve ready on $base after $((SECONDS - started)) s"

# ---------------------------------------------------------------- 4. the browser
rc=0
LEADFLOW_URL=$base LEADFLOW_BROKERS=$BROKERS LEADFLOW_TOPIC=$topic \
  LEADFLOW_ORG=org_acme LEADFLOW_API_KEY=$API_KEY LEADFLOW_OTHER_ORG=org_globex LEADFLOW_OTHER_API_KEY=$OTHER_API_KEY \
  LEADFLOW_LSQ_ACCESS_KEY=$LSQ_ACCESS_KEY LEADFLOW_LSQ_SECRET_KEY=$LSQ_SECRET_KEY \
  LEADFLOW_LOG=$TMP/leadflow.log LEADFLOW_ARTIFACTS=$ARTIFACTS LEADFLOW_CHROMIUM=$CHROMIUM \
  node "$HERE/dashboard.test.mjs" &
test_pid=$!
wait "$test_pid" || rc=$?
test_pid=""

# ---------------------------------------------------------------- 5. the log
if ! kill -0 "$service_pid" 2>/dev/null; then
  tail -n 40 "$TMP/leadflow.log" >&2
  log "leadflow serve died during the run"
  rc=1
fi
stop_service
if grep -q "request failed" "$TMP/leadflow.log"; then
  grep "request failed" "$TMP/leadflow.log" | head -n 20 >&2
  log "leadflow serve failed requests (above)"
  rc=1
fi
encoded_access=${LSQ_ACCESS_KEY//\$/%24}
for secret in "$API_KEY" "$LSQ_ACCESS_KEY" "$encoded_access" "$LSQ_SECRET_KEY"; do
  if grep -qF -- "$secret" "$TMP/leadflow.log"; then
    log "a key appears in the service's log"
    rc=1
  fi
done
cp "$TMP/leadflow.log" "$ARTIFACTS/leadflow.log" 2>/dev/null || true
log "exit $rc; $((SECONDS - started)) s in all; screenshots in $ARTIFACTS"
exit "$rc"
