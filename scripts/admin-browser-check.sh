#!/usr/bin/env bash
# Browser check of the moderators' workspace (not run in CI): seeds a throwaway SpatiaLite
# database, serves it on :8765 and drives it with Playwright + the system Chromium.
#   PLAYWRIGHT_PYTHON=/path/to/venv-with-playwright/bin/python scripts/admin-browser-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PW=${PLAYWRIGHT_PYTHON:-python3}
WORK=$(mktemp -d)
export DATABASE_URL="spatialite:///$WORK/db.sqlite3" MEDIA_ROOT="$WORK/media" PRIVATE_MEDIA_ROOT="$WORK/private"
export REDIS_URL="" DEBUG=true
$PY manage.py migrate --noinput -v 0
$PY manage.py shell -c "exec(open('scripts/admin_browser_seed.py').read())"
$PY manage.py runserver 127.0.0.1:8765 --noreload >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do curl -sf -o /dev/null http://127.0.0.1:8765/healthz && break; sleep 0.2; done
$PW scripts/admin_browser_check.py
