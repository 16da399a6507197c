#!/usr/bin/env bash
# Alternated A/B of the live-like write path: each binary ingests the same
# NDJSON in small batches (default 7000 events, about what one live batch
# holds at 20,000 events/s) on a copy of the same prepared data directory,
# so the per-event cost of touching leads one or two events at a time is
# what is measured (see docs/design.md, issue 11, freshness).
#
#   bench/ab/live_batches.sh BASE_BIN NEW_BIN STATE_DIR EVENTS.ndjson [ROUNDS] [BATCH]
#
# STATE_DIR: e.g. `leadflow ingest --file medium.ndjson --data-dir STATE_DIR`;
# EVENTS: e.g. the first 700k lines of the freshness background stream
# (`leadflow-gen --seed 12345 --orgs 4 --first-org 12345 --leads 150000
# --days 365 --ndjson bg.ndjson`). Prints wall, user and system seconds per
# run; compare the pairs, not runs of different rounds.
set -euo pipefail
base=$1 new=$2 state=$3 events=$4 rounds=${5:-2} batch=${6:-7000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for r in $(seq "$rounds"); do
  for label in base new; do
    bin=$base
    [ "$label" = new ] && bin=$new
    rm -rf "$work/d" && cp -r "$state" "$work/d"
    /usr/bin/time -f "round $r $label: %e s wall %U s user %S s sys %M KB" \
      "$bin" ingest --file "$events" --data-dir "$work/d" --batch "$batch" 2>&1 >/dev/null | tail -1
  done
done
