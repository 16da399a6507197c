#!/usr/bin/env bash
# Runs the whole test suite on a fresh or warm machine:
#   installs what is missing (apt packages, Kafka jars), builds with warnings
#   as errors, starts a real single-node Kafka broker for the tests on its own
#   ports, runs every test with ctest (unit and integration), stops the broker.
#
#   scripts/test.sh [ctest args...]      e.g. scripts/test.sh -R unit
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/deps.sh

BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLEADFLOW_WERROR=ON >/dev/null
cmake --build "$BUILD_DIR"

# The test broker has its own ports and state, apart from the demo's.
export KAFKA_PORT=${LEADFLOW_TEST_KAFKA_PORT:-19092}
export KAFKA_CONTROLLER_PORT=${LEADFLOW_TEST_KAFKA_CONTROLLER_PORT:-19093}
export KAFKA_DIR=${LEADFLOW_TEST_KAFKA_DIR:-/tmp/leadflow-kafka-test}
# A SASL/PLAIN listener beside the plain one, for the secured-cluster tests.
export KAFKA_SASL_PORT=${LEADFLOW_TEST_KAFKA_SASL_PORT:-19094}
export KAFKA_SASL_USER=leadflow KAFKA_SASL_PASSWORD=leadflow-test-secret
sasl_open() { (exec 3<>"/dev/tcp/127.0.0.1/$KAFKA_SASL_PORT") 2>/dev/null; }
started_here=0
if bash scripts/kafka.sh status >/dev/null 2>&1 && ! sasl_open; then
  # A test broker from before the SASL listener: restarted with it.
  bash scripts/kafka.sh stop
fi
if ! bash scripts/kafka.sh status >/dev/null 2>&1; then
  bash scripts/kafka.sh start
  started_here=1
fi
stop_broker() { if [ "$started_here" = 1 ]; then bash scripts/kafka.sh stop || true; fi; }
trap stop_broker EXIT

export LEADFLOW_TEST_BROKERS="127.0.0.1:$KAFKA_PORT"
export LEADFLOW_TEST_SASL_BROKERS="127.0.0.1:$KAFKA_SASL_PORT"
export LEADFLOW_TEST_SASL_USER=$KAFKA_SASL_USER LEADFLOW_TEST_SASL_PASSWORD=$KAFKA_SASL_PASSWORD
ctest --test-dir "$BUILD_DIR" --output-on-failure "$@"
