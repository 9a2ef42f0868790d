# Every command people and CI use. `make help` lists them.
SHELL := /bin/bash
VENV ?= $(CURDIR)/.venv
PYTHON ?= python3
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
export PATH := $(BIN):$(PATH)

.DEFAULT_GOAL := help
.PHONY: help venv lock run run-local test test-common test-auth test-media test-media-s3 test-web test-postgres e2e lint \
	typecheck migrations-check format bench bench-quick soak coverage-erase

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(INSTALLED): requirements.txt requirements-dev.txt constraints.txt common/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $@

venv: $(INSTALLED) ## Create .venv and install the pinned requirements (done by every target)

lock: ## Resolve the requirements afresh and write every version into constraints.txt
	bash scripts/lock_requirements.sh

run: ## Everything behind the gateway on :3000 (./run_with_gateway.sh)
	./run_with_gateway.sh

run-local: ## Both services on :8000 and :8001, no gateway (./run_local.sh)
	./run_local.sh

# Tests marked `redis` need Redis at 127.0.0.1:6379: `make test` needs no server and leaves them
# out; `make test-postgres` runs them.
TEST_MARKERS ?= not redis
# Every suite adds its coverage to one file; `make test` prints the total at its end.
export COVERAGE_FILE := $(CURDIR)/.coverage
COVERAGE_ARGS = --cov-config=$(CURDIR)/pyproject.toml --cov-append --cov-report= \
	--cov=$(CURDIR)/common/common

test: coverage-erase test-common test-auth test-media test-web ## The whole test suite, then its coverage (SQLite; TEST_DATABASE=postgres for PostgreSQL)
	$(BIN)/coverage report --data-file=$(COVERAGE_FILE)

coverage-erase: $(INSTALLED)
	$(BIN)/coverage erase --data-file=$(COVERAGE_FILE)

test-common: $(INSTALLED) ## The shared package's tests (common/tests)
	cd common && $(BIN)/pytest -m "$(TEST_MARKERS)" $(COVERAGE_ARGS) $(PYTEST_ARGS)

test-auth: $(INSTALLED) ## The auth service's tests
	cd auth_server && $(BIN)/pytest $(COVERAGE_ARGS) --cov=$(CURDIR)/auth_server $(PYTEST_ARGS)

test-media: $(INSTALLED) ## The media service's tests
	cd backend_server && $(BIN)/pytest $(COVERAGE_ARGS) --cov=$(CURDIR)/backend_server $(PYTEST_ARGS)

test-web: ## The web app's unit tests (vitest; installs its locked npm dependencies first)
	bash scripts/build_web.sh --deps-only
	cd web && npm test --silent

test-media-s3: $(INSTALLED) ## The media service's tests with MEDIA_STORAGE=s3, against moto's S3 server
	cd backend_server && TEST_MEDIA_STORAGE=s3 $(BIN)/pytest -m "not local_storage" $(PYTEST_ARGS)

test-postgres: ## The same suite on PostgreSQL at 127.0.0.1:5432, with the Redis tests (6379)
	TEST_DATABASE=postgres $(MAKE) test TEST_MARKERS="" PYTEST_ARGS="--create-db $(PYTEST_ARGS)"

e2e: $(INSTALLED) ## The end-to-end suite against the real stack (nginx + gunicorn)
	$(BIN)/pytest -c e2e/pytest.ini e2e $(PYTEST_ARGS)

lint: $(INSTALLED) migrations-check ## ruff, formatting, migrations up to date, every package locked
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python scripts/check_lock.py

# A development command: the production start-up check (common.checks) does not apply.
migrations-check: $(INSTALLED) ## Fails when a model change has no migration
	cd auth_server && MEDIA_HANDLER_ENV=development $(BIN)/python manage.py makemigrations --check --dry-run
	cd backend_server && MEDIA_HANDLER_ENV=development $(BIN)/python manage.py makemigrations --check --dry-run

# One mypy run per settings module (the Django plugin loads one); see [tool.mypy].
MYPY := $(BIN)/mypy --config-file $(CURDIR)/pyproject.toml
typecheck: $(INSTALLED) ## mypy (Django and DRF plugins) over common and both services
	cd common && DJANGO_SETTINGS_MODULE=tests.settings $(MYPY) common tests
	cd auth_server && DJANGO_SETTINGS_MODULE=auth_server.settings $(MYPY) accounts auth_server
	cd backend_server && DJANGO_SETTINGS_MODULE=backend_server.settings $(MYPY) media_handler backend_server

format: $(INSTALLED) ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(INSTALLED) ## Benchmarks of the real stack vs its ceilings; prints the table (BENCH_ARGS="--only api")
	$(BIN)/python -m bench $(BENCH_ARGS)

bench-quick: $(INSTALLED) ## The same benchmarks with small sizes and short runs (about 3 minutes)
	$(BIN)/python -m bench --quick $(BENCH_ARGS)

.PHONY: compose-check
compose-check: $(INSTALLED) ## Validate docker-compose.yml: the Compose spec, and each installed Compose's parser (no engine needed)
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml
	@for compose in docker-compose "docker compose"; do \
		if $$compose version >/dev/null 2>&1; then \
			$$compose --file docker-compose.yml config --quiet && \
				echo "$$compose $$($$compose version --short): docker-compose.yml ok" || exit 1; \
		else \
			echo "compose-check: $$compose is not installed, its parser not run (make compose-smoke installs it)"; \
		fi; \
	done

.PHONY: web e2e-browser
web: ## Build the web app into web/dist (done by ./run_with_gateway.sh when needed)
	bash scripts/build_web.sh

e2e-browser: $(INSTALLED) ## The web app in real headless Chromium against the real stack (installs chromium, ffmpeg)
	bash scripts/install_browser_test_packages.sh
	bash scripts/build_web.sh --deps-only
	$(BIN)/pytest -c e2e/pytest.ini e2e/browser $(PYTEST_ARGS)

.PHONY: web-lighthouse
web-lighthouse: $(INSTALLED) ## Lighthouse on the signed-in grid of 500 photos (LIGHTHOUSE_ITEMS); a measurement
	bash scripts/install_browser_test_packages.sh
	bash scripts/build_web.sh
	cd web/perf && npm ci --no-audit --no-fund --loglevel=error
	$(BIN)/python e2e/browser/lighthouse_grid.py

# A real Docker engine (installed and started when missing), local stand-ins for the base images
# when no registry answers, then the stack under each Compose (docs/compose.md).
.PHONY: compose-smoke
compose-smoke: $(INSTALLED) ## Build and run docker-compose.yml for real under Compose v1.29 and v2 (docs/compose.md)
	bash scripts/install_docker.sh
	bash scripts/docker_base_images.sh
	timeout --kill-after=30 $${COMPOSE_SMOKE_TIMEOUT:-1800} \
		$(BIN)/python scripts/compose_smoke.py $(COMPOSE_SMOKE_ARGS)

# The suites where files are stored, served and removed, with the stack's files in a bucket of
# moto's S3 server (the rest of the e2e suite does not touch the storage).
E2E_S3_SUITES ?= e2e/test_files.py e2e/test_streamed_uploads.py e2e/test_derivatives.py \
	e2e/test_seed_flows.py e2e/test_mobile_flows.py e2e/test_storage_downloads.py \
	e2e/test_two_nodes.py e2e/test_accounts.py e2e/test_resumable_uploads.py
.PHONY: e2e-s3
e2e-s3: $(INSTALLED) ## The end-to-end suites that store files, with MEDIA_STORAGE=s3 (moto) through the gateway
	E2E_MEDIA_STORAGE=s3 $(BIN)/pytest -c e2e/pytest.ini $(E2E_S3_SUITES) $(PYTEST_ARGS)

.PHONY: e2e-postgres
e2e-postgres: ## The end-to-end suite on throw-away PostgreSQL databases at 127.0.0.1:5432
	E2E_DATABASE=postgres $(MAKE) e2e

# The reliability and security suites of issue 6 (tests/, docs/reliability.md). Each starts its
# own stack with ./run_with_gateway.sh on ports of its own (3100/8100/8101 when free).
RELIABILITY_PYTEST := $(BIN)/pytest -c tests/pytest.ini
.PHONY: security fuzz soak-quick faults reliability-quick
security: $(INSTALLED) ## OWASP API Top 10 attacks over HTTP against the real stack (PostgreSQL)
	$(RELIABILITY_PYTEST) tests/security $(PYTEST_ARGS)

fuzz: $(INSTALLED) ## schemathesis on both OpenAPI schemas, 200 cases per operation (FUZZ_MAX_EXAMPLES)
	FUZZ_MAX_EXAMPLES=$${FUZZ_MAX_EXAMPLES:-200} $(RELIABILITY_PYTEST) tests/fuzz $(PYTEST_ARGS)

# A Python client of each service, generated from a running stack's schemas (README, "API").
GATEWAY_URL ?= http://localhost:3000
CLIENTS_DIR ?= $(CURDIR)/var/clients
.PHONY: clients client-check
clients: $(INSTALLED) ## Generate auth_client and media_client (openapi-python-client) from the stack at GATEWAY_URL into CLIENTS_DIR
	@mkdir -p $(CLIENTS_DIR)
	@for service in auth media; do \
		$(BIN)/openapi-python-client generate --meta none --overwrite \
			--config tests/client/generator.yaml \
			--url "$(GATEWAY_URL)/api/$$service/schema/?format=json" \
			--output-path "$(CLIENTS_DIR)/$${service}_client" || exit 1; \
	done
	@echo "Generated $(CLIENTS_DIR)/auth_client and $(CLIENTS_DIR)/media_client"

client-check: $(INSTALLED) ## Clients generated (openapi-python-client) from both schemas run the whole flow through the gateway
	$(RELIABILITY_PYTEST) tests/client $(PYTEST_ARGS)

soak: $(INSTALLED) ## 50 clients for 5 minutes through the gateway on PostgreSQL: no 5xx, no lost or orphan file, flat memory
	SOAK_SECONDS=$${SOAK_SECONDS:-300} $(RELIABILITY_PYTEST) tests/soak $(PYTEST_ARGS)

soak-quick: $(INSTALLED) ## The soak for 30 seconds (CI)
	SOAK_SECONDS=$${SOAK_SECONDS:-30} $(RELIABILITY_PYTEST) tests/soak $(PYTEST_ARGS)

faults: $(INSTALLED) ## Faults injected under load: PostgreSQL restart (private cluster), worker SIGKILL, upstream down, disk full
	$(RELIABILITY_PYTEST) tests/faults $(PYTEST_ARGS)

reliability-quick: $(INSTALLED) ## The quick forms for CI: security, fuzz (15 cases/operation), soak 30 s, faults
	FUZZ_MAX_EXAMPLES=$${FUZZ_MAX_EXAMPLES:-15} SOAK_SECONDS=$${SOAK_SECONDS:-30} \
		$(RELIABILITY_PYTEST) tests/security tests/fuzz tests/soak tests/faults -m "not slow" $(PYTEST_ARGS)
