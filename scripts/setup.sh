#!/usr/bin/env bash
# Installs everything Patron needs into the repository: .venv from uv.lock, node_modules from
# package-lock.json. Safe to run again; it only does what is missing or out of date.
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="$HOME/.local/bin:$PATH"
if ! command -v uv >/dev/null 2>&1; then
  echo "setup: installing uv with pip" >&2
  python3 -m pip install --quiet --user uv 2>/dev/null || python3 -m pip install --quiet uv
fi

groups=()
if [ "${PATRON_BENCH:-0}" = 1 ]; then groups+=(--group bench); fi
uv sync --frozen --quiet "${groups[@]}"

# Reinstall front-end packages when the lock file is newer than the installed tree.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
