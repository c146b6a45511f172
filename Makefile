# The two commands of the README: `make lab` runs JupyterLab with the extension and
# the demo models; `make test` runs the test suite. Both set everything up first.
.PHONY: setup lab test lint bench

VENV := .venv
BIN := $(VENV)/bin

setup:
	bash scripts/setup.sh

# jupyter refuses to run as root without --allow-root (containers, CI machines)
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: setup
	$(BIN)/jupyter lab $(ROOT_FLAG) $(LAB_ARGS)

test: setup
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: setup
	$(BIN)/python benchmarks/bench_engine.py
	$(BIN)/python benchmarks/bench_magics.py
	$(BIN)/python benchmarks/bench_voice.py
	$(BIN)/python benchmarks/bench_switch.py
