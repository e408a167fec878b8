# TradeDesk. `make run` for the embedded desk, `make test` for the suite; `make help` for the rest.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# The stack's defaults; the environment (or .env, when these are unset) may point elsewhere.
STACK_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/tradedesk
STACK_REDIS_URL ?= redis://127.0.0.1:6379/0

.DEFAULT_GOAL := help
.PHONY: help run stack test lint format install

help:
	@echo "make run     the embedded desk on http://127.0.0.1:8000 (SQLite, loops in-process, demo logins)"
	@echo "make test    ruff and the whole test suite (needs PostgreSQL and Redis on localhost)"
	@echo "make stack   daphne + celery worker + celery beat against PostgreSQL and Redis"
	@echo "make lint    ruff check, format check and the import contracts;  make format  to fix"

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || \
		{ echo "TradeDesk needs Python 3.11 or newer; set PYTHON=/path/to/python3.11 (found: $$($(PYTHON) --version 2>&1))."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed-base: requirements/base.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements/base.txt
	@touch $@

$(VENV)/.installed-dev: requirements/base.txt requirements/dev.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements/dev.txt
	@touch $@ $(VENV)/.installed-base

install: $(VENV)/.installed-dev

run: $(VENV)/.installed-base
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py seed_demo
	$(PY) manage.py rundesk

stack: export DATABASE_URL := $(or $(DATABASE_URL),$(STACK_DATABASE_URL))
stack: export REDIS_URL := $(or $(REDIS_URL),$(STACK_REDIS_URL))
stack: $(VENV)/.installed-base
	$(PY) manage.py createdb
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho --procfile Procfile start

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint
	$(PY) -m pytest
