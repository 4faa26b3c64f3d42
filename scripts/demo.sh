#!/usr/bin/env bash
# Starts the demo: embedded SQLite under data/, demo data and users, web server on :8000 and
# the background worker.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/patron demo "$@"
