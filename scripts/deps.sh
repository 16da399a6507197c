#!/usr/bin/env bash
# Install everything leadflow needs on a Debian 12 (bookworm) machine.
# Idempotent: a no-op (no apt-get update, no network) when all is present.
#
#   scripts/deps.sh            # install what is missing
#   scripts/deps.sh --check    # exit 1 and list what is missing, install nothing
#   scripts/deps.sh --bench    # also what the benchmark needs (bench/run.sh)
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build pkg-config g++
  librdkafka-dev librocksdb-dev nlohmann-json3-dev
  libboost-dev libboost-system-dev doctest-dev
  libroaring-dev libsimdjson-dev libjemalloc-dev libcli11-dev libssl-dev
  kcat curl maven python3 python3-venv  # python3-venv: the schemathesis test's virtual environment
  prometheus  # for promtool: the tests check /metrics with it (the server is not started)
  chromium    # the dashboard's browser test (tests/browser), driven headless by playwright-core
)
# The benchmark (bench/run.sh) also needs PostgreSQL 15, wrk, and Debian's
# Python with matplotlib and psycopg2, and venv for the peers' virtual
# environment (bench/peers/requirements.txt).
if [[ "${1:-}" == --bench ]]; then
  shift
  PKGS+=(postgresql-15 wrk python3-matplotlib python3-psycopg2 python3-venv)
fi
# A JRE for the local Kafka broker (scripts/kafka.sh) and for Maven; any java
# already on PATH will do.
if ! command -v java >/dev/null 2>&1; then
  PKGS+=(openjdk-17-jre-headless)
fi

# Node.js and npm for the browser test's playwright-core (tests/browser/run.sh
# installs it from its package-lock.json); any node with npm on PATH will do
# (Debian's nodejs is 18, which playwright-core supports).
if ! command -v npm >/dev/null 2>&1; then
  PKGS+=(nodejs npm)
fi

missing=()
for p in "${PKGS[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [[ "$status" == installed ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

if [[ "${1:-}" == --check ]]; then
  echo "deps: missing: ${missing[*]}" >&2
  exit 1
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "deps: not root and no sudo; install as root: ${missing[*]}" >&2
    exit 1
  fi
  SUDO=(sudo)
fi

echo "deps: installing: ${missing[*]}" >&2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
run_apt() {
  if ! "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "$@" >"$log" 2>&1; then
    echo "deps: apt-get $1 failed:" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
}
run_apt update -qq
run_apt install -y -qq --no-install-recommends "${missing[@]}"
echo "deps: done" >&2
