#!/usr/bin/env bash
# Set up everything the tests drive, then lint, type-check and run the whole suite.
# This is the README's test command; .ci/run calls it unchanged. System packages (a real
# Redis for the cluster tests) come from apt when missing and we are root; a virtualenv
# (.venv) gets the test extra.
set -euo pipefail
cd "$(dirname "$0")/.."
DEBIAN_PACKAGES=(redis-server)
missing=()
for package in "${DEBIAN_PACKAGES[@]}"; do
    command -v "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 \
            || { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; }
    else
        echo "test.sh: ${missing[*]} not installed and cannot apt-get it; those tests skip" >&2
    fi
fi
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
