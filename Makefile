# The way in: `make up` starts the whole stack on this machine, `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
BENCH_SECONDS ?= 2
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements-dev.txt constraints.txt */requirements.txt */pyproject.toml | cksum | cut -d' ' -f1)

# axe-core, which the accessibility test injects into the page (pinned in tests/browser/package-lock.json).
AXE_STAMP := tests/browser/node_modules/.installed-$(shell cksum < tests/browser/package-lock.json | cut -d' ' -f1)

CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(shell cksum < requirements-checkov.txt | cut -d' ' -f1)

.PHONY: environments up test test-containers test-catalog test-adoption test-enricher lint format bench clicks trace clean

$(STAMP):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=...)")'
	@$(PYTHON) scripts/install_env.py $(VENV) -- -r requirements-dev.txt -c constraints.txt
	@rm -f $(VENV)/.installed-* && touch $@

# checkov pins versions of boto3 and networkx the project does not use: it gets its own environment.
$(CHECKOV_STAMP):
	@$(PYTHON) scripts/install_env.py $(CHECKOV_VENV) -- -r requirements-checkov.txt
	@rm -f $(CHECKOV_VENV)/.installed-* && touch $@

# Both Python environments, installed side by side (installing is mostly waiting on the index).
environments:
	@$(MAKE) -s --no-print-directory -j2 $(STAMP) $(CHECKOV_STAMP)

up: $(STAMP)
	$(PY) -m mysfits_local up

# Lint, every test (on two workers, each test file on one: most tests wait on processes they
# started), then the benchmark's figures (a benchmark prints; it is not a test).
PYTEST_WORKERS ?= 2
test: environments lint
	@scripts/ensure-system-packages
	@test -f $(AXE_STAMP) || (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/$(notdir $(AXE_STAMP)))
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile
	$(PY) bench/stack_bench.py --seconds $(BENCH_SECONDS) --transactions 1000

# The one-machine stack in containers, under podman (README "Containers"; not part of `make test`):
# the Debian packages it needs, the base image and the three images, then docker-compose.yml up,
# checked through the containers, and down.
test-containers: $(STAMP)
	@scripts/containers/ensure-tools
	scripts/containers/build
	MYSFITS_CONTAINER_TESTS=1 $(PY) -m pytest -p no:cacheprovider --durations=0 tests/containers

# One unit's tests alone, as its pipeline's CodeBuild runs them (its folder's buildspec.yml):
# a service with the shared package it installs; the enricher on its own.
test-catalog: $(STAMP)
	$(PY) -m pytest catalog-service/tests shared/tests

test-adoption: $(STAMP)
	$(PY) -m pytest adoption-service/tests shared/tests

test-enricher: $(STAMP)
	$(PY) -m pytest click-enricher/tests

# The latest enriched clicks and the views per mysfit, from the running stack's clicks bucket.
clicks: $(STAMP)
	$(PY) -m mysfits_local clicks

# The latest trace of the running stack (or TRACE=<id>) as an indented tree with durations.
trace: $(STAMP)
	$(PY) -m mysfits_local.traces --run-dir .run $(TRACE)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# The figures over longer runs, 50,000 like/unlike transactions, then a 5-minute soak printing
# every part's memory (CI runs it).
bench: $(STAMP)
	@scripts/ensure-system-packages
	$(PY) bench/stack_bench.py --seconds 10 --transactions 50000 --soak 300

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .run .pytest_cache .ruff_cache
