# socle: the two commands of the README, plus the pieces they are made of.
#   make demo   set up, then run socle check (validate + test + scan) on the example repository
#   make test   set up, then run the linters and the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed

.PHONY: setup demo test lint unit bench-validate clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements/*.txt scripts/install-opa.sh
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q --require-hashes --no-deps -r requirements/engines.txt
	$(PIP) install -q -e '.[dev]'
	sh scripts/install-opa.sh $(PY)
	touch $(STAMP)

demo: setup
	$(VENV)/bin/socle check --summary --verbose examples/repo

lint: setup
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy

unit: setup
	$(PY) -m pytest -n 2 --dist loadgroup -p no:cacheprovider

test: lint unit

bench-validate: setup
	$(PY) bench/validate/run.py

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache .pytest_cache bench/out
