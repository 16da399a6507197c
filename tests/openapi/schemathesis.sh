#!/usr/bin/env bash
# The HTTP API against its description: runs Schemathesis (property-based
# tests generated from docs/openapi.json) against a real `leadflow serve`
# that holds data, and fails on any 5xx and on any answer whose status code,
# content type, headers or body the description does not allow.
#
#   tests/openapi/schemathesis.sh LEADFLOW_BIN LEADFLOW_GEN_BIN
#
# ctest runs it as `openapi_schemathesis` (tests/CMakeLists.txt); it needs the
# test broker of scripts/test.sh (LEADFLOW_TEST_BROKERS). What it does:
#   1. makes (once) or reuses a virtual environment with the pinned
#      Schemathesis (tests/openapi/requirements.txt) in
#      $LEADFLOW_CACHE/schemathesis-venv (default ~/.cache/leadflow), shared
#      with tests/schema/events_schema_test.sh (tests/python_venv.sh);
#   2. produces a small generated stream (2 orgs, 200 leads each, 30 days)
#      to a fresh topic with leadflow-gen;
#   3. starts `leadflow serve` on a free port with its own data directory and
#      credentials, and waits until /readyz answers 200;
#   4. runs `schemathesis run` on http://127.0.0.1:PORT/openapi.json (but
#      the report stream, whose answer never ends: tests/integration/
#      report_stream_test.cc tests it) with
#      org_acme's credentials for both APIs (schemathesis.toml), a bounded
#      number of examples per operation and a fixed seed;
#   5. always stops the service and deletes its directory.
#
# Environment:
#   LEADFLOW_TEST_BROKERS            the broker, HOST:PORT (required)
#   LEADFLOW_SCHEMATHESIS_EXAMPLES   examples per operation and phase (default 150)
#   LEADFLOW_SCHEMATHESIS_SEED       Hypothesis seed (default 12; "random" for a new one each run)
#   LEADFLOW_SCHEMATHESIS_WORKERS    concurrent workers (default 1: with more, Hypothesis on
#                                    CPython 3.11 may fail with "SystemError: AST constructor
#                                    recursion depth mismatch", a race in ast.parse across threads)
#   LEADFLOW_CACHE                   cache root (default ~/.cache/leadflow)
#   LEADFLOW_PYTHON                  the Python (3.11 or newer) the venv is made with (default python3;
#                                    Debian needs python3-venv)
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 LEADFLOW_BIN LEADFLOW_GEN_BIN" >&2
  exit 2
fi
LEADFLOW_BIN=$1
GEN_BIN=$2
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd -- "$HERE/../.." && pwd -P)
EXAMPLES=${LEADFLOW_SCHEMATHESIS_EXAMPLES:-150}
SEED=${LEADFLOW_SCHEMATHESIS_SEED:-12}
WORKERS=${LEADFLOW_SCHEMATHESIS_WORKERS:-1}
started=$SECONDS

log() { echo "schemathesis.sh: $*" >&2; }
die() { echo "schemathesis.sh: error: $*" >&2; exit 1; }

[[ -x "$LEADFLOW_BIN" ]] || die "no leadflow binary at $LEADFLOW_BIN"
[[ -x "$GEN_BIN" ]] || die "no leadflow-gen binary at $GEN_BIN"
[[ -n "${LEADFLOW_TEST_BROKERS:-}" ]] || die "LEADFLOW_TEST_BROKERS is not set: run the tests with scripts/test.sh"
BROKERS=$LEADFLOW_TEST_BROKERS
command -v curl >/dev/null || die "curl not found; run scripts/deps.sh"

# ---------------------------------------------------------------- 1. Schemathesis
# The venv is made once and kept; it is brought in line with requirements.txt
# only when that file changed (tests/python_venv.sh).
# shellcheck source=../python_venv.sh
source "$ROOT/tests/python_venv.sh"
leadflow_python_venv schemathesis.sh || exit 1
python=${LEADFLOW_PYTHON:-python3}
SCHEMATHESIS="$LEADFLOW_VENV/bin/schemathesis"
[[ -x "$SCHEMATHESIS" ]] || die "no schemathesis in $LEADFLOW_VENV"
log "$("$SCHEMATHESIS" --version)"

# ---------------------------------------------------------------- 2. data
TMP=$(mktemp -d "${TMPDIR:-/tmp}/leadflow-openapi.XXXXXX")
service_pid=""
schemathesis_pid=""
cleanup() {
  local rc=$?
  if [[ -n "$schemathesis_pid" ]]; then
    kill -TERM "$schemathesis_pid" 2>/dev/null || true
    wait "$schemathesis_pid" 2>/dev/null || true
  fi
  if [[ -n "$service_pid" ]] && kill -0 "$service_pid" 2>/dev/null; then
    kill -TERM "$service_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$service_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$service_pid" 2>/dev/null || true
    wait "$service_pid" 2>/dev/null || true
  fi
  rm -rf -- "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

topic="openapi-$(date +%s)-$$-$RANDOM"
broker=${BROKERS%%,*}
# scripts/kafka.sh's topic tool on that broker; its configuration files go
# to this test's directory, never to the broker's.
create_topic() {
  KAFKA_PORT=${broker##*:} KAFKA_DIR="$TMP/kafka-tools" bash "$ROOT/scripts/kafka.sh" create-topic "$1" "$2" \
    >"$TMP/create-topic.log" 2>&1 || { cat "$TMP/create-topic.log" >&2; die "cannot create topic $1 on $broker"; }
}
create_topic "$topic" 2
create_topic "$topic.dlq" 1
"$GEN_BIN" --brokers "$BROKERS" --topic "$topic" --seed 7 --orgs 2 --leads 200 --statuses 5 --users 4 \
  --days 30 --start 2024-01-01T00:00:00Z --dup-share 0.02 --ooo-share 0.02 2>"$TMP/gen.log" ||
  { cat "$TMP/gen.log" >&2; die "leadflow-gen failed"; }
log "$(tail -n 1 "$TMP/gen.log")"

# ---------------------------------------------------------------- 3. the service
# org_acme is the org Schemathesis speaks for; org_globex's data is there so
# that answers only ever show the key's own org.
access_key='u$openapi-acme'  # a literal '$', as LeadSquared's keys have
cat >"$TMP/credentials.json" <<EOF
[{"org_id": "org_acme", "api_key": "openapi-acme-key", "lsq_access_key": "$access_key", "lsq_secret_key": "openapi-acme-secret"},
 {"org_id": "org_globex", "api_key": "openapi-globex-key", "lsq_access_key": "u\$openapi-globex", "lsq_secret_key": "openapi-globex-secret"}]
EOF
port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
# The LeadSquared rate limit is raised so that the fuzzer's calls get past it
# to the report (the 429 itself is described and covered by unit tests).
"$LEADFLOW_BIN" serve --brokers "$BROKERS" --topic "$topic" --dlq-topic "$topic.dlq" --group "$topic" \
  --data-dir "$TMP/data" --listen "127.0.0.1:$port" --credentials "$TMP/credentials.json" --threads 2 \
  --memory-budget 256M --apply-workers 1 --lsq-rate-limit 1000000 --lsq-rate-window 1 \
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

# Two Smart Views to find: their ids go into the dictionaries below.
views=()
for body in '{"name": "Web leads", "query": "\"Source\":\"web\""}' \
            '{"name": "Qualified", "query": "lead_status:\"Qualified\""}'; do
  answer=$(curl -sf -u openapi-acme-key: -H 'Content-Type: application/json' -d "$body" "$base/api/v1/saved_search/") ||
    die "cannot create a Smart View"
  views+=("$(sed -n 's/.*"id":"\(save_[0-9a-f]*\)".*/\1/p' <<<"$answer")")
done
[[ -n "${views[0]}" && -n "${views[1]}" ]] || die "no Smart View id in the answers"

# ---------------------------------------------------------------- 4. Schemathesis
# Credentials per security scheme of the description: the first requirement
# an operation lists that is configured here is used (Basic with an empty
# password for the Close API, the key pair in the query string for LeadSquared's).
# Dictionaries: values that mean something to this org, drawn instead of a
# generated value with the given probability, so that most reports, searches
# and Smart View calls reach the views rather than a 400 or a 404 (the
# generated values keep coming for the rest). smart_view_id is mostly empty
# (absent to the service): the report's query and smart_view_id exclude each
# other, which OpenAPI cannot say of two query parameters.
cat >"$TMP/schemathesis.toml" <<EOF
[auth.openapi.closeBasic]
username = "openapi-acme-key"
password = ""
[auth.openapi.closeBearer]
bearer = "openapi-acme-key"
[auth.openapi.lsqAccessKeyQuery]
api_key = "$access_key"
[auth.openapi.lsqSecretKeyQuery]
api_key = "openapi-acme-secret"
[auth.openapi.lsqAccessKeyHeader]
api_key = "$access_key"
[auth.openapi.lsqSecretKeyHeader]
api_key = "openapi-acme-secret"

[dictionaries.orgs]
values = ["org_acme"]
[dictionaries.views]
values = ["${views[0]}", "${views[1]}"]
[dictionaries.report_views]
values = ["", "", "", "${views[0]}", "${views[1]}"]
[dictionaries.queries]
values = ['lead_status:"Qualified"', '"Source":"web" and created >= "2024-01-10"', 'not original_lead_status:"Potential" or owner_id:"user_acme_1"', 'lead_status_change(old_status:"Potential" new_status:"Qualified" and date < "2024-01-20")', '"EngagementScore" >= 10 in:"${views[0]}"', 'lead_status(status:"Interested" on:"2024-01-15 12:00:00.500")', '']
[dictionaries.lsq_columns]
values = ["ProspectID,FirstName,ProspectStage,OwnerId,CreatedOn,ModifiedOn,ProspectActivityDate_Max,ProspectActivityName_Max,EngagementScore,DoNotEmail,City,mx_NextFollowUp", "ProspectID"]
[dictionaries.lsq_group_by]
values = ["ProspectStage", "OwnerId", "Source", "DoNotEmail", "EngagementScore", ""]
[dictionaries.lsq_output]
values = ["List", "Aggregate"]
[dictionaries.lsq_function]
values = ["Count", "Sum", "Average"]
[dictionaries.lsq_numeric]
values = ["EngagementScore"]

[parameters]
"path.org_id" = { dictionary = "orgs", probability = 0.8 }
"path.id" = { dictionary = "views", probability = 0.3 }
"query.query" = { dictionary = "queries", probability = 0.5 }
"query.smart_view_id" = { dictionary = "report_views", probability = 0.9 }
"body.query" = { dictionary = "queries", probability = 0.5 }
"body.Output.Type" = { dictionary = "lsq_output", probability = 0.7 }
"body.Output.IncludeCSV" = { dictionary = "lsq_columns", probability = 0.5 }
"body.Output.GroupBy" = { dictionary = "lsq_group_by", probability = 0.7 }
"body.Output.AggregateFunction" = { dictionary = "lsq_function", probability = 0.7 }
"body.Output.AggregateField" = { dictionary = "lsq_numeric", probability = 0.7 }
EOF
seed_args=(--seed "$SEED")
[[ "$SEED" == random ]] && seed_args=()
cd "$TMP"  # anything Schemathesis writes stays in the test's directory
# In the background, so that a signal to this script is handled at once.
"$SCHEMATHESIS" --config-file "$TMP/schemathesis.toml" --no-color run "$base/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --phases examples,coverage,fuzzing,stateful \
  --max-examples "$EXAMPLES" "${seed_args[@]}" --workers "$WORKERS" \
  --generation-database none --request-timeout 30 --wait-for-schema 10 \
  --exclude-operation-id streamLeadStatusReport &
schemathesis_pid=$!
rc=0
wait "$schemathesis_pid" || rc=$?
schemathesis_pid=""

# A request the service failed on is logged; a crash ends it.
if ! kill -0 "$service_pid" 2>/dev/null; then
  tail -n 40 "$TMP/leadflow.log" >&2
  log "leadflow serve died during the run"
  rc=1
elif grep -q "request failed" "$TMP/leadflow.log"; then
  grep "request failed" "$TMP/leadflow.log" | head -n 20 >&2
  log "leadflow serve failed requests (above)"
  rc=1
fi
log "schemathesis exit $rc; $((SECONDS - started)) s in all"
exit "$rc"
