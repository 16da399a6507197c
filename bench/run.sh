#!/usr/bin/env bash
# One command for the benchmark: installs what is missing (apt packages incl.
# PostgreSQL 15, wrk, matplotlib; the Kafka jars), builds leadflow in Release
# mode, and runs bench/run.py, which writes bench/results/<scale>/results.md,
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
cmake --build "$BUILD_DIR" --target leadflow leadflow-gen leadflow-bench-consume leadflow-bench-freshness

exec /usr/bin/python3 bench/run.py --build-dir "$BUILD_DIR" "$@"
