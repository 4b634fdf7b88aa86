#!/usr/bin/env bash
# Client-compatibility suite: boto3, the aws CLI (v1), watchtower and awslogs, unchanged,
# against a real `trailwatch serve`; S3 locations against moto's S3-compatible server
# (started by conftest.py on loopback), and PySpark and DuckDB over what Trailwatch writes.
# PySpark needs Java 17+ on PATH (.ci/run installs it).
#
#   tests/compat/run.sh [extra pytest args...]
#
# TRAILWATCH_VENV  the venv to create or reuse (default: <repo>/target/compat-venv; cache
#                  it between CI runs)
# TRAILWATCH_BIN   the server binary; when unset, `cargo build -p trailwatch` builds one
# PYTHON           the interpreter for a new venv (default: python3.11, else python3)
#
# Exit status: pytest's.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${TRAILWATCH_VENV:-$repo/target/compat-venv}"
requirements="$here/requirements.txt"

if [[ -z "${PYTHON:-}" ]]; then
  if command -v python3.11 >/dev/null 2>&1; then PYTHON=python3.11; else PYTHON=python3; fi
fi

# A cached venv is reused when its interpreter still runs and has pip; otherwise it is
# rebuilt from scratch (a venv whose base Python moved or vanished is not repairable).
if "$venv/bin/python" -c 'import pip' >/dev/null 2>&1; then
  echo "compat: reusing venv $venv"
else
  echo "compat: creating venv $venv with $("$PYTHON" --version 2>&1)"
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv"
fi
# Cheap when everything pinned is already installed: nothing is downloaded.
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements"

if [[ -z "${TRAILWATCH_BIN:-}" ]]; then
  echo "compat: building trailwatch"
  (cd "$repo" && cargo build -q -p trailwatch)
  TRAILWATCH_BIN="${CARGO_TARGET_DIR:-$repo/target}/debug/trailwatch"
fi
export TRAILWATCH_BIN
echo "compat: server binary $TRAILWATCH_BIN"

cd "$repo"
export PYTHONDONTWRITEBYTECODE=1
exec "$venv/bin/python" -m pytest -q tests/compat "$@"
