# Two commands for a new machine:
#   make demo   installs Coordo and starts the console on a demo lab (SQLite)
#   make test   installs what the tests need and runs the whole suite
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
DEMO_DB ?= sqlite:///coordo-demo.db

.PHONY: demo install install-dev test lint check serve worker fuzz

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The project is installed in editable mode, so code and templates need no reinstall: a
# stamp in the virtualenv records the last install, redone only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

demo: install
	$(BIN)/python -m bot console --demo --db $(DEMO_DB)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The suite runs on SQLite always, and on PostgreSQL too when TEST_DATABASE_URL is set.
test: lint
	$(BIN)/pytest -q -n 2

# Many more generated commands than the suite's property tests, for FUZZ_SECONDS on a
# fresh demo lab: SQLite, and PostgreSQL too when TEST_DATABASE_URL is set. Prints the
# commands tried and what went wrong (internal errors, refused commands that changed
# rows, changes missing from the audit log); fails if anything did.
FUZZ_SECONDS ?= 300
fuzz: install-dev
	$(BIN)/python -m tests.fuzz --seconds $(FUZZ_SECONDS) sqlite
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		$(BIN)/python -m tests.fuzz --seconds $(FUZZ_SECONDS) "$$TEST_DATABASE_URL"; fi

serve: install
	$(BIN)/python -m bot serve

worker: install
	$(BIN)/python -m bot worker
