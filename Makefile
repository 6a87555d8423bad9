# Two commands on a fresh machine: `make demo` and `make test`. Everything installs into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_DEMO := $(VENV)/.installed-demo
STAMP_DEV := $(VENV)/.installed-dev
PIP_FLAGS ?= --disable-pip-version-check --progress-bar off

.PHONY: demo test lint typecheck unit soak install-dev install-demo bench bench-smoke clean system-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_FLAGS) --upgrade pip

$(STAMP_DEMO): pyproject.toml | $(BIN)/python
	$(BIN)/pip install $(PIP_FLAGS) -e '.[demo]'
	touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/pip install $(PIP_FLAGS) -e '.[dev]'
	touch $@ $(STAMP_DEMO)

install-demo: $(STAMP_DEMO)
install-dev: $(STAMP_DEV)

# The benchmark peers (logfire, traceloop-sdk, mlflow) go into their own venv: traceloop-sdk
# cannot share .venv's OpenTelemetry release (see benchmarks/constraints-bench.txt).
VENV_BENCH := .venv-bench
STAMP_BENCH := $(VENV_BENCH)/.installed-bench

$(STAMP_BENCH): pyproject.toml benchmarks/constraints-bench.txt
	$(PYTHON) -m venv $(VENV_BENCH)
	$(VENV_BENCH)/bin/python -m pip install $(PIP_FLAGS) --upgrade pip
	$(VENV_BENCH)/bin/pip install $(PIP_FLAGS) -c benchmarks/constraints-bench.txt \
		-e '.[bench,presidio]'
	touch $@

## make bench: overhead, sustained load, memory, import time against hand-written OTel and
## peers; then end to end over OTLP/HTTP to a local collector; writes
## benchmarks/results/overhead.json and e2e.json (see benchmarks/README.md)
bench: $(STAMP_BENCH)
	$(VENV_BENCH)/bin/python benchmarks/bench_overhead.py
	$(VENV_BENCH)/bin/python benchmarks/bench_e2e.py  # end to end over OTLP/HTTP (issue 12)

## make bench-smoke: the same harness with small counts, no thresholds
bench-smoke: $(STAMP_BENCH)
	$(VENV_BENCH)/bin/python benchmarks/bench_overhead.py --quick
	$(VENV_BENCH)/bin/python benchmarks/bench_e2e.py --quick --out /tmp/infertel-e2e-smoke.json

## make demo: set up and run the demo on the embedded local store (./infertel-data)
demo: $(STAMP_DEMO)
	$(BIN)/infertel demo

## make test: set up, lint, type-check, check the layer contract and run the whole suite
test: $(STAMP_DEV) system-deps lint typecheck unit

# Programs the suite runs for real: Chromium (the report's browser test), promtool and
# Prometheus (the alert rules). Installed from Debian when missing (CI runs as root).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
system-deps:
	@command -v chromium >/dev/null && command -v promtool >/dev/null \
		&& command -v prometheus >/dev/null || { \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends \
			chromium prometheus >/dev/null; }

lint: $(STAMP_DEV)
	$(BIN)/ruff check src tests examples benchmarks
	$(BIN)/lint-imports

typecheck: $(STAMP_DEV)
	$(BIN)/mypy --strict src

unit: $(STAMP_DEV)
	$(BIN)/pytest -q

## make soak: the long fault tests (collector outages of minutes, spool bounds), pytest -m soak
soak: $(STAMP_DEV)
	$(BIN)/pytest -q -m soak --timeout 900

clean:
	rm -rf $(VENV) $(VENV_BENCH) infertel-data .mypy_cache .ruff_cache .pytest_cache
