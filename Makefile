# Souk Loop: `make run` serves the API on http://127.0.0.1:8000, `make test` runs the suite.
# Both set up what they need first (system libraries as root, .venv, packages, migrations).

SHELL := /bin/bash
# Debian's/Ubuntu's own Python: pyenv builds here lack SQLite extension loading, which
# SpatiaLite (the embedded database) needs.
PYTHON ?= /usr/bin/python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: install lock system-deps messages run serve worker beat migrate seed test test-run lint client-check format bench clean help

help:
	@echo "make run      serve the API on http://$(HOST):$(PORT) (embedded SpatiaLite by default)"
	@echo "make test     run the test suite (DATABASE_URL/REDIS_URL pick PostGIS/Redis)"
	@echo "make worker   a Celery worker; make beat: the periodic ops (both need REDIS_URL)"
	@echo "make lock     refresh uv.lock after changing pyproject.toml (make install installs exactly the lock)"
	@echo "make lint     uv lock --check, ruff check, ruff format --check, the layer contract (import-linter), mypy, makemigrations --check"

system-deps:
	@bash scripts/system-deps.sh

# Installs exactly what uv.lock says (the versions CI tested): uv, itself pinned in the lock, is
# bootstrapped into the venv with pip once, then `uv sync --locked` fails if pyproject.toml and the
# lock disagree instead of resolving anew. `make lock` refreshes the lock after a pyproject change.
# Bytecode is compiled at install (the libraries by uv, the project's packages by compileall):
# where PYTHONDONTWRITEBYTECODE is set, as on these machines, every Python process otherwise
# compiles Django and every library from source again (`manage.py check`: 14 s, 4.5 s compiled),
# and the suite starts dozens of them (workers, servers, start-up checks).
PACKAGES := $(patsubst %/__init__.py,%,$(wildcard */__init__.py))
UV_VERSION := $(shell sed -n '/^name = "uv"$$/{n;s/^version = "\(.*\)"$$/\1/p;}' uv.lock)

$(STAMP): pyproject.toml uv.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c "import sqlite3; sqlite3.connect(':memory:').enable_load_extension(True)" \
		|| { echo "$(PYTHON) cannot load SQLite extensions (SpatiaLite); use PYTHON=/usr/bin/python3"; exit 1; }
	@test "$$($(BIN)/uv --version 2>/dev/null | cut -d' ' -f2)" = "$(UV_VERSION)" \
		|| $(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv sync --locked --extra dev --python $(BIN)/python --quiet --compile-bytecode
	@$(BIN)/python -m compileall -q -j 0 $(PACKAGES) manage.py > /dev/null
	@touch $(STAMP)

lock: $(STAMP)
	$(BIN)/uv lock

install: system-deps $(STAMP) messages

messages: $(STAMP)
	@$(BIN)/python manage.py compilemessages --ignore=.venv --ignore=var -v 0

migrate: install
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo

run: migrate
	@$(BIN)/python manage.py seed_demo --products 300
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

serve: migrate
	$(BIN)/python manage.py collectstatic --noinput -v 0
	GUNICORN_WORKER_CLASS=$${GUNICORN_WORKER_CLASS:-soukloop.workers.UvicornWorker} \
		$(BIN)/gunicorn -c deploy/gunicorn.conf.py soukloop.asgi:application

# `make test` spreads the suite over the machine's cores (pytest-xdist, -n auto; tests marked
# CONNECTION_HUNGRY share one worker, see tests/concurrency.py); CI runs its two
# suites side by side instead (.ci/run: PostGIS on two workers, embedded on one). PYTEST_ARGS
# replaces the default.
# Celery (needs REDIS_URL or CELERY_BROKER_URL): deliveries, SMS, email; beat runs the periodic ops.
worker: migrate
	$(BIN)/celery -A soukloop worker --loglevel=INFO

beat: migrate
	@mkdir -p var
	$(BIN)/celery -A soukloop beat --loglevel=INFO --schedule=var/celerybeat-schedule

test: install
	$(BIN)/pytest $(or $(PYTEST_ARGS),-n auto --dist loadgroup)

# The suite alone, for callers that installed first (CI runs two of these side by side).
test-run:
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/uv lock --check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python manage.py makemigrations --check --dry-run

# The Python client generated from /api/schema/ imports whole (openapi-python-client, pinned).
client-check: install
	@bash scripts/client-check.sh

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python bench/catalog.py

clean:
	rm -rf $(VENV) var db.sqlite3 .pytest_cache
