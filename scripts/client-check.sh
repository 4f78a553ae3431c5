#!/usr/bin/env bash
# Generate the Python client from the live OpenAPI document, unchanged, and import every
# module of it (the mobile team's first step; 17 modules failed to import before).
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
