# MultiSSL Studio: `make run` starts the app, `make test` runs the test suite.
# Both create the virtual environment on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
WORKSPACE ?= $(HOME)/.multissl-studio
PORT ?= 8501
DATA ?=
BANDS ?=

IMPORT_ARGS := $(if $(DATA),--import $(DATA),) $(if $(BANDS),--bands $(BANDS),)

.PHONY: run test test-fast lint install clean-venv

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-build-isolation --no-deps -e .
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/python run_app.py --workspace $(WORKSPACE) --port $(PORT) $(IMPORT_ARGS)

lint: install
	$(BIN)/ruff check core app tests benchmarks run_app.py
	$(BIN)/mypy

test: install lint
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not slow and not browser"

clean-venv:
	rm -rf $(VENV)
