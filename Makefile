# Two commands on a fresh machine: `make demo` and `make test`. Everything installs into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_DEMO := $(VENV)/.installed-demo
STAMP_DEV := $(VENV)/.installed-dev
PIP_FLAGS ?= --disable-pip-version-check --progress-bar off

.PHONY: demo test lint typecheck unit install-dev install-demo bench bench-smoke clean

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

## make demo: set up and run the demo on the embedded local store (./infertel-data)
demo: $(STAMP_DEMO)
	$(BIN)/infertel demo

## make test: set up, lint, type-check and run the whole suite
test: $(STAMP_DEV) lint typecheck unit

lint: $(STAMP_DEV)
	$(BIN)/ruff check src tests examples benchmarks

typecheck: $(STAMP_DEV)
	$(BIN)/mypy --strict src

unit: $(STAMP_DEV)
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) infertel-data .mypy_cache .ruff_cache .pytest_cache
