# The two commands of the quick start: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test install install-dev services system-deps format

run: install  ## Install and run the hub on the zero-config default, with demo data
	$(BIN)/hub serve --demo

test: install-dev system-deps services  ## Install everything and run lint, type checks and the whole test suite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

system-deps:  ## Install the system packages the tests need (Chromium, Dovecot), if missing
	bash scripts/system-deps.sh

services:  ## Start the local PostgreSQL and Redis the tests use, if they are not running

	bash scripts/services.sh

format:
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
