#!/usr/bin/env bash
# Runs the whole test suite (set-up included). Extra arguments go to pytest.
# DATABASE_URL selects the database (SQLite by default, PostgreSQL in CI's second run).
set -euo pipefail
cd "$(dirname "$0")/.."
# PgBouncer only for the run on PostgreSQL, where the pooling test runs.
case "${DATABASE_URL:-}" in
  postgres*) scripts/setup.sh --browser --pgbouncer ;;
  *) scripts/setup.sh --browser ;;
esac
export PATRON_TESTING=1
# One test process per core (pytest-xdist), each on its own test database; a test file stays on
# one process, so its module fixtures are built once. PATRON_TEST_PROCESSES=0 runs in this process.
exec .venv/bin/pytest -n "${PATRON_TEST_PROCESSES:-auto}" --dist loadfile "$@"
