# Two commands for a newcomer: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test install test-deps system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

## make run: install, migrate the SQLite database in instance/, seed the demo company, serve.
run: install
	$(BIN)/smartbcc db upgrade
	$(BIN)/smartbcc demo
	$(BIN)/smartbcc serve

system-deps:
	scripts/install-system-deps.sh

test-deps: $(VENV)/.installed-test system-deps

## make test: install what tests need (Python extras, Chromium, Node packages) and run the suite.
test: test-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	npm test --silent

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
