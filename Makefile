# Two commands do all the set-up on a fresh machine: `make demo` and `make test`
# (`make test-all` runs the tests `make test` leaves out as well).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# What `make test` leaves to `make test-all`: Spark, and the tests marked slow (end to end,
# the killed ingest, worlds of their own). Browser tests and, when DATABASE_URL is set,
# PostgreSQL stay in.
QUICK := not slow and not spark
# Each file runs on one worker, so a module-scoped fixture (a trained model) is built once.
PYTEST := $(BIN)/pytest -n 2 --dist loadfile --durations=10

.PHONY: demo test test-all lint typecheck architecture unit unit-all clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev,spark]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/caseline demo

# The quick loop: linters, types, import contracts and every test but those QUICK leaves out.
test: lint typecheck architecture unit

# Everything CI runs (.ci/run): the same, with every test.
test-all: lint typecheck architecture unit-all

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

architecture: $(STAMP)
	$(BIN)/lint-imports

unit: $(STAMP)
	$(PYTEST) -m "$(QUICK)" $(PYTEST_ARGS)

unit-all: $(STAMP)
	$(PYTEST) $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) caseline-data .mypy_cache .ruff_cache .pytest_cache
