# relaunch: `make test` and `make demo` work from a fresh clone.
SHELL := /bin/bash
# Python 3.11 is what CI tests and constraints.txt pins for.
PYTHON ?= $(shell command -v python3.11 >/dev/null && echo python3.11 || echo python3)
VENV := .venv
BIN := $(VENV)/bin
export DO_NOT_TRACK := 1

.PHONY: venv test soak unit demo lint bench postgres constraints clean

# The exact set CI tested (constraints.txt), with every extra and the dev tools.
$(BIN)/relaunch: pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e ".[dev]"
	$(BIN)/pip check
	touch $@

venv: $(BIN)/relaunch

# Regenerate constraints.txt from .venv, after upgrading it and running `make test`:
#   .venv/bin/pip install --upgrade --upgrade-strategy eager -e ".[dev]"
constraints:
	@test -x $(BIN)/pip || { echo "no $(VENV): run make venv first" >&2; exit 1; }
	$(BIN)/pip check
	{ echo "# Every package relaunch is tested with (CI: Python 3.11, Linux x86_64)."; \
	  echo "# make venv / make test / .ci/run install: pip install -c constraints.txt -e \".[dev]\""; \
	  echo "# Regenerate with \`make constraints\` (pip freeze --exclude-editable of .venv) after"; \
	  echo "# upgrading .venv: .venv/bin/pip install -U --upgrade-strategy eager -e \".[dev]\""; \
	  echo "# and a green \`make test\`."; \
	  $(BIN)/pip freeze --exclude-editable | grep -v -i -E '^relaunch( |==| @)'; \
	} > constraints.txt.tmp
	mv constraints.txt.tmp constraints.txt

# Starts a private PostgreSQL on 127.0.0.1 unless RELAUNCH_TEST_POSTGRES_URL is set.
# Tests whose service is missing skip (fail under CI=true); the summary names them.
# In parallel (pytest-xdist, TEST_WORKERS): each worker has its own databases, Prefect
# server and moto on free ports. CLI calls fork from one process that imported the CLI
# (tests/support/cli_fork.py) except in tests marked `real_cli`. The long cells
# (marked `soak`) are left to `make soak`.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); echo $$(( n * 2 > 8 ? 8 : n * 2 )))
test: venv
	@url="$${RELAUNCH_TEST_POSTGRES_URL:-$$(bash scripts/start-postgres.sh 2>/dev/null || true)}"; \
	if [ -n "$$url" ]; then export RELAUNCH_TEST_POSTGRES_URL="$$url"; fi; \
	RELAUNCH_TEST_CLI="$${RELAUNCH_TEST_CLI-fork}" \
	  $(BIN)/pytest -q -m "not soak" -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

# The long cells: the full fault matrix, chaos at scale, the agent image build, Docker
# daemon restarts. One at a time (a daemon restart would break the other Docker tests).
soak: venv
	@url="$${RELAUNCH_TEST_POSTGRES_URL:-$$(bash scripts/start-postgres.sh 2>/dev/null || true)}"; \
	if [ -n "$$url" ]; then export RELAUNCH_TEST_POSTGRES_URL="$$url"; fi; \
	RELAUNCH_TEST_CLI="$${RELAUNCH_TEST_CLI-fork}" $(BIN)/pytest -q -m soak $(PYTEST_ARGS)

# Every test that needs no external service (PostgreSQL, Docker, Prefect server, moto):
# tests/conftest.py marks the others `service` from the fixtures they use. In parallel
# (pytest-xdist), two workers per CPU as many tests mostly wait on subprocesses.
UNIT_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); echo $$(( n * 2 > 8 ? 8 : n * 2 )))
unit: venv
	env -u RELAUNCH_TEST_POSTGRES_URL -u RELAUNCH_TEST_DOCKER RELAUNCH_TEST_CLI=fork \
	  $(BIN)/pytest -q -m "not service and not soak" -n $(UNIT_WORKERS) --dist worksteal $(PYTEST_ARGS)

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
