# Two commands for a newcomer: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# uv (resolves the lock) and pip-audit (checks it) live in a venv of their own, pinned by
# requirements/tools.txt, so they never mix with the application's packages.
TOOLS  := $(VENV)/tools

# The pinned, hash-checked sets everything installs from (README: Development).
LOCK       := requirements/lock.txt
LOCK_TEST  := requirements/lock-test.txt
LOCK_TOOLS := requirements/tools.txt
# `make lock` moves every pin to the newest release the bounds in pyproject.toml admit;
# `make lock LOCK_UPGRADE=` only re-resolves what pyproject.toml changed.
LOCK_UPGRADE ?= --upgrade
# --no-strip-extras: a pin keeps the extras asked of it (cachecontrol[filecache] for pip-audit), or
# pip --require-hashes takes the extra as an unpinned requirement once a newer release exists.
UV_COMPILE = $(TOOLS)/bin/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
             --no-strip-extras --custom-compile-command 'make lock' $(LOCK_UPGRADE)

.PHONY: run test install test-deps system-deps tools lock audit clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The application's packages come from the lock, hash-checked; the project itself goes on
# top, editable and without resolving anything (--no-deps).
$(VENV)/.installed: $(LOCK) pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-test: $(LOCK_TEST) $(VENV)/.installed
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK_TEST)
	touch $@

$(TOOLS)/.installed: $(LOCK_TOOLS)
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --require-hashes -r $(LOCK_TOOLS)
	touch $@

install: $(VENV)/.installed

tools: $(TOOLS)/.installed

## make run: install, migrate the SQLite database in instance/, seed the demo company, serve.
run: install
	$(BIN)/smartbcc check-ports
	$(BIN)/smartbcc db upgrade
	$(BIN)/smartbcc demo
	$(BIN)/smartbcc serve

system-deps:
	scripts/install-system-deps.sh

test-deps: $(VENV)/.installed-test system-deps

## make test: install what tests need (Python extras, Chromium, Node packages) and run the suite.
test: test-python
	npm test --silent

## make test-python: the Python suite alone (.ci/run runs it on PostgreSQL beside `make test`).
test-python: test-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## make lock: re-resolve the pins (runtime, runtime + test extra, tools) from pyproject.toml
## and requirements/tools.in, for Python 3.11+ on any platform, with hashes.
lock: $(TOOLS)/.installed
	$(UV_COMPILE) pyproject.toml -o $(LOCK)
	$(UV_COMPILE) pyproject.toml --extra test -c $(LOCK) -o $(LOCK_TEST)
	$(UV_COMPILE) requirements/tools.in -o $(LOCK_TOOLS)

## make audit: check every locked pin against PyPI's advisory data (pip-audit; scripts/audit.py).
audit: $(TOOLS)/.installed
	$(TOOLS)/bin/python scripts/audit.py $(AUDIT_ARGS) $(LOCK) $(LOCK_TEST) $(LOCK_TOOLS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
