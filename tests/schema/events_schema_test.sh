#!/usr/bin/env bash
# docs/events.schema.json, the JSON Schema for producers, against the real
# decoder: every event leadflow-gen makes is valid under it, every event the
# decoder accepts is valid under it, every event the decoder refuses for a
# rule a schema can state is invalid under it (tests/schema/events_schema_test.py
# says how, and lists the rules no schema can state).
#
#   tests/schema/events_schema_test.sh LEADFLOW_BIN LEADFLOW_GEN_BIN
#
# ctest runs it as `events_schema` (tests/CMakeLists.txt); no broker needed.
# Python's jsonschema, pinned in tests/openapi/requirements.txt, comes from
# the test venv that tests/openapi/schemathesis.sh uses too (tests/python_venv.sh).
#
# Environment:
#   LEADFLOW_SCHEMA_SEED    the variants' and generator's seed (default 12)
#   LEADFLOW_SCHEMA_BASES   valid events of each type to make variants of (default 6)
#   LEADFLOW_CACHE, LEADFLOW_PYTHON   as in tests/python_venv.sh
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 LEADFLOW_BIN LEADFLOW_GEN_BIN" >&2
  exit 2
fi
LEADFLOW_BIN=$1
GEN_BIN=$2
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd -- "$HERE/../.." && pwd -P)

die() { echo "events_schema_test.sh: error: $*" >&2; exit 1; }
[[ -x "$LEADFLOW_BIN" ]] || die "no leadflow binary at $LEADFLOW_BIN"
[[ -x "$GEN_BIN" ]] || die "no leadflow-gen binary at $GEN_BIN"

# shellcheck source=../python_venv.sh
source "$ROOT/tests/python_venv.sh"
leadflow_python_venv events_schema_test.sh || exit 1

TMP=$(mktemp -d "${TMPDIR:-/tmp}/leadflow-events-schema.XXXXXX")
trap 'rm -rf -- "$TMP"' EXIT

"$LEADFLOW_VENV/bin/python" "$HERE/events_schema_test.py" --leadflow "$LEADFLOW_BIN" --gen "$GEN_BIN" \
  --schema "$ROOT/docs/events.schema.json" --corpus "$ROOT/tests/fuzz/corpus/events" --work "$TMP"
