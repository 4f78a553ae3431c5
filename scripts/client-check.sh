#!/usr/bin/env bash
# Generate the Python client from the live OpenAPI document, unchanged, import every module of
# it (the mobile team's first step; 17 modules failed to import before), then walk a buyer's and
# a seller's journey through it against a running server and the Stripe stand-in.
# The generator lives in its own virtualenv (.venv-client) so its pins never touch the app's.
set -euo pipefail
cd "$(dirname "$0")/.."
GENERATOR_VERSION="0.29.1"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if [ ! -x .venv-client/bin/openapi-python-client ]; then
  /usr/bin/python3 -m venv .venv-client
  .venv-client/bin/pip install --quiet "openapi-python-client==${GENERATOR_VERSION}"
fi
.venv/bin/python manage.py spectacular --fail-on-warn --format openapi-json --file "$out/schema.json"
# The document as /api/schema/ serves it to a client asking for JSON (no indentation).
size=$(.venv/bin/python -c "import json, sys; print(len(json.dumps(json.load(open(sys.argv[1])), separators=(',', ':'), ensure_ascii=False).encode()))" "$out/schema.json")
echo "OpenAPI document as served (JSON): ${size} bytes (target under 409,600)"
[ "$size" -lt 409600 ] || { echo "the OpenAPI document grew past 400 KB"; exit 1; }
repo=$PWD

# TypeScript: types from openapi-typescript (pinned in clients/ts/package-lock.json), a typed
# journey that tsc --noEmit must accept. --default-non-nullable false: a field with a default is
# optional in a request (openapi-typescript 7 otherwise makes it required).
(
  cd clients/ts
  [ -x node_modules/.bin/tsc ] || npm ci --no-audit --no-fund --silent
  mkdir -p generated
  node_modules/.bin/openapi-typescript "$out/schema.json" --default-non-nullable false -o generated/schema.d.ts --silent
  node_modules/.bin/tsc --noEmit -p .
)
echo "TypeScript: types generated, clients/ts/journey.ts type-checks"

(cd "$out" && "$repo/.venv-client/bin/openapi-python-client" generate --path schema.json --meta none >/dev/null 2>&1)
"$PWD/.venv-client/bin/python" - "$out" <<'PY'
import importlib, pkgutil, sys
sys.path.insert(0, sys.argv[1])
import souk_loop_api_client as pkg
failed = []
modules = list(pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."))
for info in modules:
    try:
        importlib.import_module(info.name)
    except Exception as exc:  # report every module that does not import
        failed.append(f"{info.name}: {exc!r}")
print(f"generated client: {len(modules)} modules, {len(failed)} failed to import")
if failed:
    print("\n".join(failed))
    sys.exit(1)
PY

# --- the journey, through the generated client, against a real server -------------------------
free_port() { .venv/bin/python -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"; }
api_port=$(free_port); stripe_port=$(free_port)
export DATABASE_URL="spatialite:///$out/journey.sqlite3" SMS_FILE_PATH="$out/sms" DEBUG=true \
  STRIPE_API_BASE="http://127.0.0.1:${stripe_port}" MEDIA_ROOT="$out/media" \
  PUBLIC_BASE_URL="https://api.soukloop.test"
unset REDIS_URL CELERY_BROKER_URL
.venv/bin/python manage.py migrate --noinput -v 0
.venv/bin/python -m payments.testing.fake_stripe --port "$stripe_port" \
  --webhook-url "http://127.0.0.1:${api_port}/api/v1/payments/webhook/" >"$out/stripe.log" 2>&1 &
stripe_pid=$!
.venv/bin/uvicorn soukloop.asgi:application --host 127.0.0.1 --port "$api_port" --lifespan off \
  --log-level warning >"$out/server.log" 2>&1 &
server_pid=$!
trap 'kill $server_pid $stripe_pid 2>/dev/null || true; rm -rf "$out"' EXIT
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:${api_port}/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done
if ! .venv-client/bin/python scripts/client_journey.py "$out" "http://127.0.0.1:${api_port}" \
    "http://127.0.0.1:${stripe_port}" "$out/sms"; then
  echo "== server log"; tail -n 40 "$out/server.log"
  exit 1
fi
