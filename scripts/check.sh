#!/usr/bin/env bash
# Static checks: lint, types, the import contract (docs/architecture.md), declared dependencies,
# and that the models and migrations agree.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/mypy src
.venv/bin/lint-imports
.venv/bin/deptry src
PATRON_DATA_DIR="$(mktemp -d)" .venv/bin/patron makemigrations --check --dry-run
