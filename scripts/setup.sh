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

# Debian packages some tests need, installed only when missing and only with the flag that asks:
# --browser (the test run): Chromium and CJK fonts for the Playwright browser tests
# (tests/browser), which drive /usr/bin/chromium rather than a downloaded browser;
# --pgbouncer (the test run on PostgreSQL): PgBouncer for the connection-pooling test
# (tests/deploy/test_pooling.py), which skips without it.
apt_install() {  # purpose, packages...
  local purpose="$1" pkg missing=()
  shift
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ "${#missing[@]}" -gt 0 ] || return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${missing[*]} with apt-get for $purpose" >&2
    export DEBIAN_FRONTEND=noninteractive
    # A fresh machine has no package lists; a stale one may name versions no longer served.
    if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
      apt-get update -q >/dev/null
      apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
    fi
  else
    echo "setup: ${missing[*]} missing and cannot be installed here (needs root and apt-get)." >&2
    return 1
  fi
}

for flag in "$@"; do
  case "$flag" in
    --browser)
      apt_install "the browser tests" chromium fonts-noto-cjk ||
        echo "setup: the browser tests will fail; install them, or set PATRON_CHROMIUM to a Chromium binary." >&2
      ;;
    --pgbouncer)
      apt_install "the connection-pooling test" pgbouncer ||
        echo "setup: the connection-pooling test will be skipped; install pgbouncer to run it." >&2
      ;;
  esac
done
