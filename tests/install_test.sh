#!/usr/bin/env bash
# `cmake --install` into a temporary prefix: the binaries run from there, the
# systemd unit names the installed binary and passes systemd-analyze verify,
# the example config is accepted by the installed binary.
#   tests/install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
fail() { echo "install_test: $*" >&2; exit 1; }
for f in bin/leadflow bin/leadflow-gen share/leadflow/leadflow.service share/leadflow/leadflow.toml \
         share/leadflow/credentials.example.json share/doc/leadflow/README.md share/doc/leadflow/operations.md; do
  [[ -e "$prefix/$f" ]] || fail "missing $f"
done
out=$("$prefix/bin/leadflow" --version) && grep -q '^leadflow [0-9]' <<<"$out" || fail "leadflow --version: $out"
out=$("$prefix/bin/leadflow" serve --help) && grep -q -- '--brokers' <<<"$out" || fail "leadflow serve --help"
unit="$prefix/share/leadflow/leadflow.service"
grep -q "^ExecStart=$prefix/bin/leadflow serve --config /etc/leadflow/leadflow.toml\$" "$unit" ||
  fail "the unit's ExecStart is not the installed binary: $(grep ExecStart "$unit")"
if command -v systemd-analyze >/dev/null 2>&1; then
  # Its User= need not exist here; anything else it reports is an error.
  out=$(systemd-analyze verify "$unit" 2>&1 | grep -v "User=leadflow\|Group=leadflow\|Failed to resolve\|No such user\|Failed to prepare" || true)
  [[ -z "$out" ]] || fail "systemd-analyze verify: $out"
fi
# The example config is accepted as it is: serve gets past the parse (every
# required flag set) to the credentials file, which the environment points
# elsewhere; shards takes the top-level keys.
out=$(LEADFLOW_CREDENTIALS="$prefix/no-credentials.json" \
      "$prefix/bin/leadflow" serve --config "$prefix/share/leadflow/leadflow.toml" 2>&1 || true)
grep -q "no-credentials.json" <<<"$out" || fail "the example config is not accepted by leadflow serve: $out"
out=$("$prefix/bin/leadflow" shards --config "$prefix/share/leadflow/leadflow.toml" --data-dir "$prefix/none" 2>&1 || true)
grep -q "no data directory $prefix/none" <<<"$out" || fail "the example config is not accepted by leadflow shards: $out"
echo "install_test: ok ($prefix)"
