# relaunch: `make test` and `make demo` work from a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DO_NOT_TRACK := 1

.PHONY: venv test demo lint bench postgres clean

$(BIN)/relaunch: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

venv: $(BIN)/relaunch

# Starts a private PostgreSQL on 127.0.0.1 unless RELAUNCH_TEST_POSTGRES_URL is set.
test: venv
	@url="$${RELAUNCH_TEST_POSTGRES_URL:-$$(bash scripts/start-postgres.sh 2>/dev/null || true)}"; \
	if [ -n "$$url" ]; then export RELAUNCH_TEST_POSTGRES_URL="$$url"; fi; \
	$(BIN)/pytest -q $(PYTEST_ARGS)

demo: venv
	bash examples/demo.sh

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: venv
	@url="$${RELAUNCH_TEST_POSTGRES_URL:-$$(bash scripts/start-postgres.sh 2>/dev/null || true)}"; \
	export RELAUNCH_TEST_POSTGRES_URL="$$url"; \
	for script in bench/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .relaunch-demo
