#!/usr/bin/env bash
# Runs the whole test suite (set-up included). Extra arguments go to pytest.
# DATABASE_URL selects the database (SQLite by default, PostgreSQL in CI's second run).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --browser
export PATRON_TESTING=1
exec .venv/bin/pytest "$@"
