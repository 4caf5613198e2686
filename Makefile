# `make run` and `make test` work on a fresh machine with only Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NOTEBOOK_STAMP := $(VENV)/.installed-notebook
WALKTHROUGH := notebooks/walkthrough.ipynb

.PHONY: run test test-slow test-all bench lint notebook notebook-outputs clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

$(NOTEBOOK_STAMP): $(STAMP)
	$(BIN)/python -m pip install -q -e '.[dev,notebook]'
	touch $(NOTEBOOK_STAMP)

run: $(STAMP)
	$(BIN)/estpipe run

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

test-all: $(STAMP)
	$(BIN)/python -m pytest -q -m ''

bench: $(STAMP)
	$(BIN)/python -m bench.train_throughput

# JupyterLab on notebooks/ (the kernel "Python 3" is this venv's). The walkthrough is trusted
# first: JupyterLab shows the HTML outputs committed with it (the evaluator's report) only then.
notebook: $(NOTEBOOK_STAMP)
	$(BIN)/jupyter trust $(WALKTHROUGH)
	$(BIN)/jupyter lab --notebook-dir=notebooks $(WALKTHROUGH)

# Runs the walkthrough top to bottom and saves its outputs in the file.
notebook-outputs: $(STAMP)
	$(BIN)/jupyter execute --inplace $(WALKTHROUGH)

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info
