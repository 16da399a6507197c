#!/usr/bin/env bash
# A real single-node Apache Kafka 4.x broker (KRaft, broker+controller in one
# JVM) on 127.0.0.1, for development and CI. The jars come from Maven Central
# through scripts/kafka/pom.xml and are cached; no Docker, no tarball download.
#
#   scripts/kafka.sh fetch                       copy the broker's jars into the cache
#   scripts/kafka.sh start                       format (first time) + start + wait until ready
#   scripts/kafka.sh create-topic NAME [PARTS] [TopicCommand args...]
#                                                create a topic if it does not exist
#   scripts/kafka.sh stop                        SIGTERM, up to 30 s, then SIGKILL
#   scripts/kafka.sh kill                        SIGKILL at once (fault tests: a crashed broker)
#   scripts/kafka.sh client-quota CLIENT_ID BYTES_PER_S
#                                                throttle a client.id's fetches (fault tests: a slow catch-up)
#   scripts/kafka.sh consumer-groups ARGS...     Kafka's kafka-consumer-groups tool on this broker
#                                                (e.g. --describe --group leadflow: positions and lag)
#   scripts/kafka.sh status                      exit 0 when running and answering
#   scripts/kafka.sh reset                       stop + delete the state dir (all data)
#   scripts/kafka.sh env                         print LEADFLOW_BROKERS=127.0.0.1:PORT
#   scripts/kafka.sh logs [N]                    last N lines of the broker's log
#
# Environment:
#   KAFKA_VERSION           Kafka release on Maven Central    (4.1.1)
#   LEADFLOW_CACHE          jar cache root                    ($HOME/.cache/leadflow)
#   KAFKA_DIR               state dir: config, data, log, pid (/tmp/leadflow-kafka)
#   KAFKA_PORT              PLAINTEXT listener port           (9092)
#   KAFKA_CONTROLLER_PORT   KRaft controller listener port    (9093)
#   KAFKA_SASL_PORT         a SASL_PLAINTEXT listener (SASL/PLAIN) on this port too
#                           (unset: none); its one user is
#   KAFKA_SASL_USER         ... this                          (leadflow)
#   KAFKA_SASL_PASSWORD     ... with this password            (leadflow-secret)
#   KAFKA_HEAP_OPTS         JVM heap flags                    (-Xms256m -Xmx512m)
#   KAFKA_START_TIMEOUT     seconds to wait for readiness     (90)
set -euo pipefail

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
POM="$SCRIPT_DIR/kafka/pom.xml"

KAFKA_VERSION=${KAFKA_VERSION:-4.1.1}
CACHE_ROOT=${LEADFLOW_CACHE:-${HOME:-/root}/.cache/leadflow}
DIST="$CACHE_ROOT/kafka-$KAFKA_VERSION"
LIBS="$DIST/libs"
MARKER="$DIST/.fetched"

KAFKA_DIR=${KAFKA_DIR:-/tmp/leadflow-kafka}
KAFKA_PORT=${KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}
KAFKA_START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}
KAFKA_SASL_PORT=${KAFKA_SASL_PORT:-}
KAFKA_SASL_USER=${KAFKA_SASL_USER:-leadflow}
KAFKA_SASL_PASSWORD=${KAFKA_SASL_PASSWORD:-leadflow-secret}

BOOTSTRAP="127.0.0.1:$KAFKA_PORT"
CONFIG="$KAFKA_DIR/server.properties"
LOG4J_CONFIG="$KAFKA_DIR/log4j2.properties"
DATA_DIR="$KAFKA_DIR/data"
LOG_FILE="$KAFKA_DIR/kafka.log"
PID_FILE="$KAFKA_DIR/kafka.pid"
FORMATTED="$KAFKA_DIR/.formatted"

log() { echo "kafka.sh: $*" >&2; }
die() { echo "kafka.sh: error: $*" >&2; exit 1; }

need() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' not found on PATH; run scripts/deps.sh"
}

# Kafka 4.x brokers and tools need Java 17 or newer.
need_java() {
  need java
  local v
  v=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
  [[ "$v" =~ ^[0-9]+$ && "$v" -ge 17 ]] ||
    die "Kafka $KAFKA_VERSION needs Java 17+, found '${v:-unknown}' ($(command -v java)); install openjdk-17-jre-headless"
}

pom_hash() { sha256sum "$POM" | cut -d' ' -f1; }

fetched() {
  [[ -f "$MARKER" && -d "$LIBS" ]] && [[ "$(cat "$MARKER")" == "$KAFKA_VERSION $(pom_hash)" ]]
}

# ---------------------------------------------------------------- fetch
cmd_fetch() {
  [[ -f "$POM" ]] || die "missing $POM"
  fetched && return 0
  need mvn
  need_java
  mkdir -p "$DIST"
  # One fetch at a time per cache dir (parallel CI jobs on one machine).
  exec 8>"$DIST/.lock"
  if command -v flock >/dev/null 2>&1; then flock 8; fi
  if fetched; then exec 8>&-; return 0; fi

  local t0=$SECONDS tmp="$DIST/libs.tmp.$$" out="$DIST/mvn.log"
  log "fetching Kafka $KAFKA_VERSION jars from Maven Central into $LIBS"
  rm -rf "$tmp"
  if ! mvn -B -q -f "$POM" \
        -Dkafka.version="$KAFKA_VERSION" \
        dependency:copy-dependencies \
        -DincludeScope=runtime \
        -DoutputDirectory="$tmp" </dev/null >"$out" 2>&1; then
    rm -rf "$tmp"
    sed 's/\x1b\[[0-9;]*m//g' "$out" | grep -v '^\s*$' | tail -n 30 >&2
    die "mvn could not resolve org.apache.kafka:kafka_2.13:$KAFKA_VERSION (full log: $out);" \
        "try another 4.x with KAFKA_VERSION=..."
  fi
  [[ -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ]] || die "kafka_2.13-$KAFKA_VERSION.jar missing after mvn"
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
  echo "$KAFKA_VERSION $(pom_hash)" >"$MARKER"
  exec 8>&-
  log "fetched $(ls "$LIBS" | wc -l) jars ($(du -sh "$LIBS" | cut -f1)) in $((SECONDS - t0)) s"
}

# ---------------------------------------------------------------- process helpers
kjava() {
  # Run a Kafka main class from the cached jars (short-lived tools).
  java -Xmx256m -XX:TieredStopAtLevel=1 -Xshare:auto \
    -Dlog4j2.configurationFile="$LOG4J_CONFIG" \
    -cp "$LIBS/*" "$@" </dev/null
}

# The broker's pid, if the pid file names a live process that is our broker.
broker_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid=$(cat "$PID_FILE" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # Guard against a recycled pid: the command line must be ours.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "kafka.Kafka $CONFIG" || return 1
  echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The broker answers a metadata request and lists itself.
answering() {
  if command -v kcat >/dev/null 2>&1; then
    kcat -b "$BOOTSTRAP" -L -m 5 -t __leadflow_probe 2>/dev/null </dev/null \
      | grep -q '1 brokers:'
  else
    port_open "$KAFKA_PORT"
  fi
}

write_config() {
  mkdir -p "$KAFKA_DIR" "$DATA_DIR"
  local listeners="PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT"
  local sasl=""
  if [[ -n "$KAFKA_SASL_PORT" ]]; then
    # A client listener that wants SASL/PLAIN (the broker's own traffic
    # stays on PLAINTEXT), with one user, as a secured cluster would.
    listeners="$listeners,SASL_PLAINTEXT://127.0.0.1:$KAFKA_SASL_PORT"
    sasl="sasl.enabled.mechanisms=PLAIN
listener.name.sasl_plaintext.sasl.enabled.mechanisms=PLAIN
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$KAFKA_SASL_USER=\"$KAFKA_SASL_PASSWORD\";"
  fi
  cat >"$CONFIG" <<EOF
# Generated by scripts/kafka.sh; rewritten on every start.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=$listeners
advertised.listeners=$listeners
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
$sasl
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
log.dirs=$DATA_DIR

num.partitions=3
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=false
delete.topic.enable=true

# Single node: every internal topic has one replica and few partitions (fast
# creation on a small machine).
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
share.coordinator.state.topic.num.partitions=4
group.initial.rebalance.delay.ms=0

# Small segments, modest threads.
log.segment.bytes=16777216
log.retention.hours=168
log.retention.check.interval.ms=300000
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
EOF
  cat >"$LOG4J_CONFIG" <<'EOF'
# Generated by scripts/kafka.sh. Everything goes to stdout, which start
# redirects into kafka.log in the state dir.
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = info
logger.request.name = kafka.request.logger
logger.request.level = warn
logger.network.name = kafka.network.RequestChannel$
logger.network.level = warn
logger.cleaner.name = kafka.log.LogCleaner
logger.cleaner.level = warn
logger.state.name = state.change.logger
logger.state.level = warn
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = warn
EOF
}

# A Kafka Uuid: 16 random bytes, base64url without padding, not starting
# with '-' (Kafka's own random-uuid avoids those too).
new_cluster_id() {
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    [[ ${#id} -eq 22 && "$id" != -* ]] && { echo "$id"; return; }
  done
}

format_storage() {
  if [[ -f "$DATA_DIR/meta.properties" ]]; then
    if [[ -f "$FORMATTED" && "$(cat "$FORMATTED")" != "controller=$KAFKA_CONTROLLER_PORT" ]]; then
      die "storage in $DATA_DIR was formatted with $(cat "$FORMATTED"), now KAFKA_CONTROLLER_PORT=$KAFKA_CONTROLLER_PORT;" \
          "use the old port or run: scripts/kafka.sh reset"
    fi
    return 0
  fi
  local id out
  id=$(new_cluster_id)
  log "formatting storage in $DATA_DIR (cluster id $id)"
  # --standalone: this node is the whole (dynamic) controller quorum, which
  # goes with controller.quorum.bootstrap.servers in server.properties.
  if ! out=$(kjava kafka.tools.StorageTool format -t "$id" -c "$CONFIG" --standalone 2>&1); then
    echo "$out" >&2
    die "kafka-storage format failed"
  fi
  echo "controller=$KAFKA_CONTROLLER_PORT" >"$FORMATTED"
}

# ---------------------------------------------------------------- start / stop
START_BANNER="===== scripts/kafka.sh start"

# The errors, then the tail, of the log written since the last start.
show_start_log() {
  [[ -f "$LOG_FILE" ]] || return 0
  local section
  section=$(awk -v b="$START_BANNER" 'index($0, b) == 1 { buf = "" } { buf = buf $0 "\n" } END { printf "%s", buf }' "$LOG_FILE")
  if grep -qE '\] (ERROR|FATAL) ' <<<"$section"; then
    echo "--- errors (from $LOG_FILE):" >&2
    grep -E -A3 '\] (ERROR|FATAL) ' <<<"$section" | head -n 30 >&2
  fi
  echo "--- last lines of $LOG_FILE:" >&2
  if grep -qE '\] (ERROR|FATAL) ' <<<"$section"; then
    tail -n 8 <<<"$section" >&2
  else
    tail -n 30 <<<"$section" >&2
  fi
}

wait_ready() {
  local pid=$1 deadline=$((SECONDS + KAFKA_START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if answering; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      log "broker process $pid exited during startup"
      show_start_log
      rm -f "$PID_FILE"
      return 1
    fi
    sleep 0.5
  done
  log "broker (pid $pid) not answering on $BOOTSTRAP after ${KAFKA_START_TIMEOUT} s;" \
      "it is left running: see scripts/kafka.sh logs, or scripts/kafka.sh stop"
  show_start_log
  return 1
}

cmd_start() {
  local pid t0=$SECONDS
  if pid=$(broker_pid); then
    if answering; then
      log "already running (pid $pid) on $BOOTSTRAP"
      return 0
    fi
    log "pid $pid is starting; waiting"
    wait_ready "$pid"
    return
  fi
  need_java
  cmd_fetch
  if port_open "$KAFKA_PORT" || port_open "$KAFKA_CONTROLLER_PORT"; then
    die "port $KAFKA_PORT or $KAFKA_CONTROLLER_PORT on 127.0.0.1 is taken by another process;" \
        "set KAFKA_PORT / KAFKA_CONTROLLER_PORT"
  fi
  write_config
  format_storage
  rm -f "$PID_FILE"
  {
    echo
    echo "$START_BANNER $(date -u +%FT%TZ) Kafka $KAFKA_VERSION ====="
  } >>"$LOG_FILE"
  # shellcheck disable=SC2086  # KAFKA_HEAP_OPTS is a list of flags
  # setsid: a broker of its own session, so that a terminal's Ctrl-C or the
  # end of the calling job's process group does not reach it; stop does.
  setsid java $KAFKA_HEAP_OPTS \
    -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$LOG4J_CONFIG" \
    -Dkafka.logs.dir="$KAFKA_DIR" \
    -cp "$LIBS/*" kafka.Kafka "$CONFIG" \
    </dev/null >>"$LOG_FILE" 2>&1 &
  pid=$!
  echo "$pid" >"$PID_FILE"
  log "started pid $pid (Kafka $KAFKA_VERSION, state $KAFKA_DIR); waiting for $BOOTSTRAP"
  wait_ready "$pid" || die "broker did not start"
  log "ready on $BOOTSTRAP in $((SECONDS - t0)) s"
}

# Sends the broker SIGNAL and waits for it to exit (up to 30 s, then
# SIGKILL); returns 1 when no broker runs.
signal_broker() {
  local pid
  if ! pid=$(broker_pid); then
    rm -f "$PID_FILE"
    log "not running"
    return 1
  fi
  log "sending SIG$1 to pid $pid"
  kill -"$1" "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 60; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "still alive after 30 s; SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$PID_FILE"
}

cmd_stop() { if signal_broker TERM; then log "stopped"; fi; }

cmd_kill() { if signal_broker KILL; then log "killed"; fi; }

cmd_status() {
  local pid
  if pid=$(broker_pid); then
    if answering; then
      echo "running: pid $pid, $BOOTSTRAP, Kafka $KAFKA_VERSION, state $KAFKA_DIR"
      return 0
    fi
    echo "starting or unhealthy: pid $pid, not answering on $BOOTSTRAP (log: $LOG_FILE)"
    return 1
  fi
  echo "stopped (state $KAFKA_DIR$([[ -f "$DATA_DIR/meta.properties" ]] && echo ", formatted"))"
  return 3
}

cmd_reset() {
  cmd_stop
  case "$KAFKA_DIR" in
    "" | / | /tmp | /tmp/ | "$HOME" | "$HOME/") die "refusing to delete KAFKA_DIR=$KAFKA_DIR" ;;
  esac
  rm -rf -- "$KAFKA_DIR"
  log "deleted $KAFKA_DIR"
}

# ---------------------------------------------------------------- topics
cmd_create_topic() {
  [[ $# -ge 1 && -n "$1" ]] || die "usage: kafka.sh create-topic NAME [PARTITIONS] [TopicCommand args...]"
  local name=$1 parts=${2:-3}
  shift; [[ $# -gt 0 ]] && shift
  [[ "$parts" =~ ^[1-9][0-9]*$ ]] || die "PARTITIONS must be a positive integer, got '$parts'"
  need java
  fetched || die "Kafka jars not fetched; run: scripts/kafka.sh start"
  broker_pid >/dev/null || answering || die "no broker on $BOOTSTRAP; run: scripts/kafka.sh start"
  [[ -f "$LOG4J_CONFIG" ]] || write_config
  local out
  if ! out=$(kjava org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" \
        --create --if-not-exists --topic "$name" \
        --partitions "$parts" --replication-factor 1 "$@" 2>&1); then
    echo "$out" >&2
    die "could not create topic $name"
  fi
  # Wait until every partition has a leader, so producers and consumers
  # started right after this see the topic.
  if command -v kcat >/dev/null 2>&1; then
    local deadline=$((SECONDS + 30)) md
    while :; do
      md=$(kcat -b "$BOOTSTRAP" -L -t "$name" -m 5 2>/dev/null </dev/null || true)
      if grep -q "topic \"$name\" with [0-9]* partitions" <<<"$md" &&
         ! grep -q 'leader -1' <<<"$md"; then
        break
      fi
      ((SECONDS < deadline)) || die "topic $name has no leaders after 30 s"
      sleep 0.3
    done
    local have
    have=$(grep -o "topic \"$name\" with [0-9]* partitions" <<<"$md" | grep -o '[0-9]* partitions' | cut -d' ' -f1)
    if [[ "$have" != "$parts" ]]; then
      log "topic $name ready, but it already existed with $have partition(s) (asked for $parts)"
    else
      log "topic $name ready ($have partition(s))"
    fi
  else
    log "topic $name ready"
  fi
}

cmd_client_quota() {
  [[ $# -eq 2 ]] || die "usage: kafka.sh client-quota CLIENT_ID BYTES_PER_SECOND"
  need java
  kjava kafka.admin.ConfigCommand --bootstrap-server "$BOOTSTRAP" --alter \
    --add-config "consumer_byte_rate=$2" --entity-type clients --entity-name "$1" >/dev/null \
    || die "cannot set the quota of client $1"
  log "client $1 fetches at most $2 bytes/s"
}

cmd_consumer_groups() {
  need java
  # The tool's own output only (its client's INFO lines would go to stdout).
  local quiet="$KAFKA_DIR/tools-log4j2.properties"
  mkdir -p "$KAFKA_DIR"
  printf '%s\n' 'status = warn' 'appender.err.type = Console' 'appender.err.name = STDERR' \
    'appender.err.target = SYSTEM_ERR' 'appender.err.layout.type = PatternLayout' \
    'appender.err.layout.pattern = %p %m%n' 'rootLogger.level = warn' 'rootLogger.appenderRef.err.ref = STDERR' >"$quiet"
  java -Xmx256m -XX:TieredStopAtLevel=1 -Xshare:auto -Dlog4j2.configurationFile="$quiet" -cp "$LIBS/*" \
    org.apache.kafka.tools.consumer.group.ConsumerGroupCommand --bootstrap-server "$BOOTSTRAP" "$@" </dev/null
}

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
}

main() {
  local cmd=${1:-}
  [[ $# -gt 0 ]] && shift
  case "$cmd" in
    fetch) cmd_fetch ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    kill) cmd_kill ;;
    client-quota) cmd_client_quota "$@" ;;
    consumer-groups) cmd_consumer_groups "$@" ;;
    restart) cmd_stop; cmd_start ;;
    status) cmd_status ;;
    reset) cmd_reset ;;
    create-topic) cmd_create_topic "$@" ;;
    env) echo "LEADFLOW_BROKERS=$BOOTSTRAP" ;;
    logs) tail -n "${1:-100}" "$LOG_FILE" ;;
    -h | --help | help) usage ;;
    "") usage; exit 2 ;;
    *) usage; die "unknown command '$cmd'" ;;
  esac
}

main "$@"
