# Lighthouse OS: the two commands of the README's quick start, and helpers for developers.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: demo test check lint typecheck unit clean

## make demo: create .venv, install, run a simulated HCMC program and serve it on http://127.0.0.1:$(PORT)/
demo: $(VENV)/.installed
	$(BIN)/lhos demo --port $(PORT)

## make test: install what the tests need and run the whole suite (format, lint, types, tests)
test: $(VENV)/.installed-dev check unit

check: $(VENV)/.installed-dev
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

unit: $(VENV)/.installed-dev
	$(BIN)/pytest -n 2 --dist loadfile

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

clean:
	rm -rf $(VENV) lhos-data .pytest_cache .mypy_cache .ruff_cache
