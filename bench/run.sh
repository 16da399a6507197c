#!/usr/bin/env bash
# One command for the benchmark: installs what is missing (apt packages incl.
# PostgreSQL 15, wrk, matplotlib; the Kafka jars; the peers' pinned Python
# packages in a virtual environment), builds leadflow in Release mode, and
# runs bench/run.py, which writes bench/results/<scale>/results.md,
# results.json and PNG plots.
#
#   bench/run.sh                       # small scale, a couple of minutes (CI smoke test)
#   bench/run.sh --scale full          # issue 5's scale: 1M leads, ~31M events; hours
#   bench/run.sh --scale medium --phases queries,pg,report
#
# BUILD_DIR (default build-release) selects the build; CI reuses its own build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/deps.sh --bench
bash scripts/kafka.sh fetch >/dev/null

BUILD_DIR=${BUILD_DIR:-build-release}
if [[ ! -f "$BUILD_DIR/CMakeCache.txt" ]]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$BUILD_DIR" --target leadflow leadflow-gen leadflow-bench-consume leadflow-bench-freshness leadflow-bench-sse

# The peers (bench/peers/requirements.txt: DuckDB, chdb, exact pins) in a
# virtual environment of Debian's python3 that also sees its matplotlib and
# psycopg2; made again only when the requirements change.
VENV=${LEADFLOW_CACHE:-${HOME:-/root}/.cache/leadflow}/bench-venv
REQ=bench/peers/requirements.txt
if ! cmp -s "$REQ" "$VENV/requirements.txt" 2>/dev/null || [[ ! -x "$VENV/bin/python" ]]; then
  echo "bench: creating $VENV ($REQ)" >&2
  rm -rf "$VENV"
  /usr/bin/python3 -m venv --system-site-packages "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-warn-script-location -r "$REQ"
  cp "$REQ" "$VENV/requirements.txt"
fi

exec "$VENV/bin/python" bench/run.py --build-dir "$BUILD_DIR" "$@"
