# One entry point for every task. pre-commit and CI call these same targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# jsii (under cdk8s) warns on every run that Node 20 is end-of-life; users run Node 22/24.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
# The cdk8s CLI asks npm for a newer version of itself on every run (--check-upgrade); offline
# that prints a stack trace before the synth. The CLI is pinned: there is nothing to ask.
export CDK8S_CHECK_UPGRADE := false

.PHONY: help
help: ## List the targets.
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

# pip itself, pinned like everything else (requirements.lock cannot hold it).
PIP_VERSION := 26.3

$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip==$(PIP_VERSION)
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	@# Synth runs with -O; precompile its bytecode so no run pays for compiling, even where
	@# PYTHONDONTWRITEBYTECODE keeps Python from caching it.
	$(PY) -O -m compileall -q -j 0 $$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') >/dev/null
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

.PHONY: install
install: $(VENV)/.installed node_modules/.installed ## Install the Python venv (.venv) and the pinned cdk8s CLI.

.PHONY: synth
synth: $(VENV)/.installed ## Render dist/<env>/ for every environment from config/ and clusters/.
	@$(PY) -O -m compileall -q -j 0 app.py constructs_lib imports >/dev/null
	$(PY) -O app.py

.PHONY: cdk8s-synth
cdk8s-synth: install ## The same through the pinned cdk8s CLI (what the pipeline runs).
	node_modules/.bin/cdk8s synth

.PHONY: schema
schema: $(VENV)/.installed ## Regenerate the JSON Schemas and the generated reference pages.
	$(PY) -m constructs_lib.tools.schema --write

.PHONY: imports
imports: install ## Regenerate imports/ from the CRDs pinned in platform/crds.yaml (CRDS_DIR=mirror).
	$(PY) imports/regenerate.py

.PHONY: crds
crds: $(VENV)/.installed ## Download the pinned CRDs and check their SHA-256 (into $CRDS_DIR or the cache).
	$(PY) -m constructs_lib.render.schema_check --fetch-crds

# The schema validation needs the pinned CRDs; fetched once, only where they are missing.
.PHONY: crds-ready
crds-ready: $(VENV)/.installed
	@$(PY) -m constructs_lib.render.schema_check --ensure-crds

.PHONY: secrets
secrets: $(VENV)/.installed ## Scan every line of every file of the repo, dist/ included, for secrets (detect-secrets).
	git ls-files -z --cached --others --exclude-standard | xargs -0 $(PY) constructs_lib/tools/secret_scan.py --baseline .secrets.baseline

.PHONY: lint
lint: $(VENV)/.installed ## ruff and mypy.
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

.PHONY: fmt
fmt: $(VENV)/.installed ## Format the code.
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

.PHONY: check
check: crds-ready ## Validate config, clusters and dist/ against the Kubernetes and CRD schemas.
	$(PY) -m constructs_lib.render.schema_check

.PHONY: test
test: install crds-ready ## Every test: units, golden output, dist drift, schemas, docs, lint, then end to end.
	$(VENV)/bin/pytest --ignore=tests/e2e
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory e2e

.PHONY: unit
unit: install crds-ready ## Every test except the end-to-end suite (fast feedback).
	$(VENV)/bin/pytest --ignore=tests/e2e

.PHONY: e2e
e2e: install crds-ready ## End to end: real kube-apiserver, controller-manager, etcd and Argo CD (docs/e2e.md).
	PYTHON=$(PY) bash tests/e2e/run.sh

.PHONY: e2e-node
e2e-node: install crds-ready ## The journeys on a real node: kubelet, containerd, policies, the add-ons running (docs/e2e.md).
	PYTHON=$(PY) bash tests/e2e/node/run.sh

.PHONY: bench
bench: $(VENV)/.installed ## Benchmarks: synth, generate and validate at 10/100/1000 services.
	$(PY) -O tests/bench/bench_synth.py
	$(PY) tests/bench/bench_cli.py

.PHONY: lock
lock: ## Re-resolve requirements.lock from pyproject.toml (needs network to PyPI).
	$(PY) -m pip install --quiet uv
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 \
	  --universal --output-file requirements.lock --quiet

.PHONY: clean
clean: ## Remove the venv, node_modules and caches.
	rm -rf $(VENV) node_modules .cdk8s.out .mypy_cache .ruff_cache .pytest_cache .hypothesis
