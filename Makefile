# The two commands of the README: `make lab` runs JupyterLab with the extension and
# the demo models; `make test` runs the test suite. Both set everything up first.
.PHONY: setup lab test lint bench protocol

VENV := .venv
BIN := $(VENV)/bin

setup:
	bash scripts/setup.sh

# jupyter refuses to run as root without --allow-root (containers, CI machines)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: setup
	$(BIN)/jupyter lab $(ROOT_FLAG) $(LAB_ARGS)

# the lab extension's unit tests (jest, labextension/test/) first: they take seconds
test: setup
	cd labextension && npm test -- --ci
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# the lab extension's last step: eslint + prettier --check (`cd labextension && npm run lint` fixes)
lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m neira_jupyter.protocol | diff -u neira_jupyter/protocol/schema.json -
	cd labextension && (test -d node_modules || npm install --no-audit --no-fund) \
	  && npm run check:protocol && npm run check:recorder && npm run lint:check

# Regenerate the JSON Schema and the TypeScript types from neira_jupyter/protocol
# (lint fails when the checked-in copies differ from what this writes; it also type-checks the
# TypeScript and fails when the built neira_jupyter/kernel/recorder.js is stale or broken).
protocol:
	$(BIN)/python -m neira_jupyter.protocol > neira_jupyter/protocol/schema.json
	cd labextension && npm run build:protocol

bench: setup
	$(BIN)/python benchmarks/bench_engine.py
	$(BIN)/python benchmarks/bench_magics.py
	$(BIN)/python benchmarks/bench_voice.py
	$(BIN)/python benchmarks/bench_switch.py
