#!/usr/bin/env bash
# Set up a virtualenv with the test extra, then lint, type-check and run the whole suite.
# This is the README's test command; .ci/run calls it unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e '.[test]'
"$VENV/bin/ruff" check .
"$VENV/bin/mypy" --strict protocol
"$VENV/bin/mypy" server tui_client
"$VENV/bin/python" -m pytest "$@"
