# The way in: `make up` starts the whole stack on this machine, `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements-dev.txt constraints.txt catalog-service/requirements.txt */pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: up test lint format bench clean

$(STAMP):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=...)")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	@rm -f $(VENV)/.installed-* && touch $@

up: $(STAMP)
	$(PY) -m mysfits_local up

test: $(STAMP) lint
	@scripts/ensure-system-packages
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP)
	@scripts/ensure-system-packages
	$(PY) bench/catalog_bench.py

clean:
	rm -rf $(VENV) .run .pytest_cache .ruff_cache
