# FaceRights. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help

# Local settings: a .env file of KEY=value lines (no quotes), see .env.example.
ifneq (,$(wildcard .env))
include .env
export
endif

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# requirements-dev.txt pins every package, transitive ones included, with its hashes
# (`make lock` writes it): a fresh machine installs exactly what CI tested.
$(STAMP): requirements-pip.txt requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements-pip.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.txt
	@touch $(STAMP)

.PHONY: install
install: $(STAMP) ## Create the virtualenv and install the pinned packages
	@scripts/system-packages.sh
	@DEBUG=true $(BIN)/python manage.py compilemessages --ignore=.venv --ignore=node_modules -v 0

.PHONY: run
run: install ## Set everything up and run web, worker and beat on the embedded defaults
	@DEBUG=$${DEBUG:-true} $(BIN)/python manage.py migrate --no-input -v 0
	@DEBUG=$${DEBUG:-true} $(BIN)/python manage.py seed_demo
	@DEBUG=$${DEBUG:-true} $(BIN)/python scripts/banner.py
	@DEBUG=$${DEBUG:-true} $(BIN)/honcho start -f Procfile || [ $$? -eq 130 ]  # Ctrl-C is a normal stop

node_modules/.installed: package.json package-lock.json
	npm ci --silent --no-audit --no-fund
	@touch $@

.PHONY: test-tools
test-tools: install node_modules/.installed
	@scripts/system-packages.sh chromium

.PHONY: test
test: test-tools ## Run the whole test suite (PostgreSQL and Redis when they answer)
	@$(BIN)/python scripts/run_tests.py $(ARGS)

.PHONY: soak
soak: install ## Deletions under injected faults on services of its own (SOAK_ARGS="--size ci" for the short one)
	@$(BIN)/python scripts/soak.py $(SOAK_ARGS)

.PHONY: prod-check
prod-check: ## Check a production host before going live (reads its environment; docs/deployment.md)
	@$(BIN)/python manage.py prod_check

.PHONY: lint
lint: $(STAMP) ## Check style with ruff and types with mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DEBUG=true $(BIN)/mypy facerights consent dataops portal

.PHONY: lock
lock: $(STAMP) ## Pin every package with its hashes, after editing requirements.in or requirements-dev.in
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links --output-file requirements.txt requirements.in
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links --output-file requirements-dev.txt requirements-dev.in

.PHONY: messages
messages: $(STAMP) ## Update the translation catalogue after changing user-facing strings
	DEBUG=true $(BIN)/python manage.py makemessages -l zh_Hans --no-location --ignore=.venv --ignore=node_modules --ignore="*/tests/*"

.PHONY: format
format: $(STAMP) ## Format the code with ruff
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
