# Sourced by the tests that run pinned Python tools: tests/openapi/schemathesis.sh
# (Schemathesis) and tests/schema/events_schema_test.sh (jsonschema). One
# virtual environment serves both, made once and kept in
# $LEADFLOW_CACHE/schemathesis-venv (default ~/.cache/leadflow), with every
# package pinned in one file, tests/openapi/requirements.txt; it is brought
# in line with that file only when the file changed (its hash is stamped
# into the venv), one installer at a time (a lock beside it).
#
#   leadflow_python_venv LOG_NAME    sets LEADFLOW_VENV to the venv's directory
#
# Environment: LEADFLOW_CACHE (cache root), LEADFLOW_PYTHON (the Python, 3.11
# or newer, the venv is made with; default python3; Debian needs python3-venv).

leadflow_python_venv() {
  local name=$1
  local tests_dir
  tests_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
  local requirements="$tests_dir/openapi/requirements.txt"
  local cache_root=${LEADFLOW_CACHE:-${HOME:-/root}/.cache/leadflow}
  local venv="$cache_root/schemathesis-venv"
  local python=${LEADFLOW_PYTHON:-python3}
  command -v "$python" >/dev/null || { echo "$name: error: python3 not found" >&2; return 1; }
  "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "$name: error: the test venv needs Python 3.11 or newer, found $("$python" --version 2>&1)" >&2
    return 1
  }
  local want_stamp
  want_stamp=$(sha256sum "$requirements" | cut -d' ' -f1)
  local stamp_file="$venv/.leadflow-requirements"
  mkdir -p "$cache_root"
  local rc=0
  exec 9>"$cache_root/schemathesis-venv.lock"
  flock 9  # one installer at a time (parallel ctest, parallel checkouts)
  if [[ ! -x "$venv/bin/python" || "$(cat "$stamp_file" 2>/dev/null)" != "$want_stamp" ]]; then
    echo "$name: installing $requirements into $venv" >&2
    if [[ ! -x "$venv/bin/python" ]] && ! "$python" -m venv "$venv"; then
      echo "$name: error: cannot create a venv (Debian: apt-get install python3-venv)" >&2
      rc=1
    elif ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"; then
      echo "$name: error: pip could not install $requirements" >&2
      rc=1
    else
      echo "$want_stamp" >"$stamp_file"
    fi
  fi
  exec 9>&-
  LEADFLOW_VENV=$venv
  return "$rc"
}
