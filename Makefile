# OfficeX developer commands (DESIGN.md section 9).
#
#   make dev        run serve + worker locally against the local stack; Ctrl-C stops it
#   make test       every test against real PostgreSQL, Temporal and stripe-mock
#   make bench      the billing benchmark against its bare-SQL baseline
#   make chaos      the billing load under kills and a Temporal outage (CHAOS_DURATION, default 3m)
#                   (TOPOLOGY=1 for make bench and make chaos: against a running `make topology`)
#   make generate   regenerate db/dbgen (sqlc) and the SDK's client from api/openapi.yaml (oapi-codegen)
#   make build      build bin/officex
#   make tools      install the pinned tools (scripts/tools.sh) into the tools cache
#   make topology   the production topology on this machine (scripts/topology.sh up;
#                   scripts/topology.sh status|down): Temporal's four services on
#                   PostgreSQL, two serve, two worker, a proxy
#
# The pinned tool versions live in scripts/tools.sh; the local services
# (PostgreSQL, Temporal dev server, stripe-mock) are started by scripts/stack.sh
# only when they are not already running, and only those it started are stopped.

SHELL := /bin/bash

TOOLS_SH := scripts/tools.sh
STACK_SH := scripts/stack.sh
SQLC = $(shell $(TOOLS_SH) path sqlc)

# Where the stack listens (fixed in scripts/stack.sh).
TEMPORAL_ADDR := 127.0.0.1:7233
STRIPE_MOCK_URL := http://127.0.0.1:12111

ENCRYPTION_KEY_FILE := .data/encryption.key
ADMIN_SECRET_FILE := .data/admin.secret

# officex version prints it: the tag or commit this tree is at.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GO_BUILD := go build -ldflags "-X main.version=$(VERSION)"

.PHONY: dev test bench chaos generate build tools browser-deps topology

tools:
	@$(TOOLS_SH) install

# Variables already set in your environment win over every default below.
# With no STRIPE_SECRET_KEY, officex dev pays through its built-in Stripe
# test-mode simulator, so Stripe's test tokens (tok_visa succeeds,
# tok_chargeDeclined declines) work offline. To send the same requests to
# stripe-mock instead: STRIPE_SECRET_KEY=sk_test_123 STRIPE_API_BASE=$(STRIPE_MOCK_URL).
# The chat agent needs a model: point it at any OpenAI-compatible server, e.g. a
# local Ollama: OPENAI_API_KEY=local OPENAI_BASE_URL=http://127.0.0.1:11434/v1
# OPENAI_MODEL=llama3.1 make dev (without OPENAI_API_KEY the chat listener, on
# :8081, answers 503).
dev: tools $(ENCRYPTION_KEY_FILE) $(ADMIN_SECRET_FILE)
	@export OFFICEX_TESTING_MODE="$${OFFICEX_TESTING_MODE:-true}" \
		OFFICEX_ALLOW_PRIVATE_URLS="$${OFFICEX_ALLOW_PRIVATE_URLS:-true}" \
		OFFICEX_ENCRYPTION_KEY="$${OFFICEX_ENCRYPTION_KEY:-$$(cat $(ENCRYPTION_KEY_FILE))}" \
		OFFICEX_ADMIN_SECRET="$${OFFICEX_ADMIN_SECRET:-$$(cat $(ADMIN_SECRET_FILE))}" \
		TEMPORAL_ADDRESS="$${TEMPORAL_ADDRESS:-$(TEMPORAL_ADDR)}" && \
	echo "make: finance console at http://localhost:8080/admin/console (admin secret in $(ADMIN_SECRET_FILE) unless OFFICEX_ADMIN_SECRET is set)" && \
	$(GO_BUILD) -o bin/officex ./cmd/officex && $(STACK_SH) dev bin/officex dev

# A local key for secrets that must be shown again; never used outside dev.
$(ENCRYPTION_KEY_FILE):
	@mkdir -p $(dir $@)
	@umask 077 && head -c 32 /dev/urandom | base64 > $@
	@echo "make: generated $@"

# A local admin secret (finance console, admin routes); never used outside dev.
$(ADMIN_SECRET_FILE):
	@mkdir -p $(dir $@)
	@umask 077 && head -c 24 /dev/urandom | base64 | tr -d '/+=' > $@
	@echo "make: generated $@"

# Generated code must match the queries and the spec, vet must be clean, then the tests run
# against the stack; make fails when any step fails (go test's failure included).
test: export TEMPORAL_ADDRESS := $(TEMPORAL_ADDR)
test: export STRIPE_API_BASE := $(STRIPE_MOCK_URL)
test: tools browser-deps
	$(SQLC) diff
	scripts/sdkgen.sh check
	go vet ./...
	$(STACK_SH) test go test -count=1 -timeout 25m ./...

# playwright-core for the console's browser test (tests/browser), installed
# from package-lock.json when missing; the test also needs Debian's chromium
# (apt-get install chromium). OFFICEX_BROWSER_TEST_OPTIONAL=1 lets it skip
# where neither can be installed.
browser-deps:
	@if [ ! -d tests/browser/node_modules/playwright-core ] && command -v npm >/dev/null; then \
		cd tests/browser && npm ci --no-audit --no-fund --ignore-scripts; fi

# The billing benchmark (cmd/officex-bench): the API against a bare-SQL
# baseline in the same run, and expiry lateness; results in bench/results.md.
# TOPOLOGY=1: the same load through the proxy of a running `make topology`
# (two serve, two worker, Temporal's services on PostgreSQL); results in
# bench/results-topology.md. BENCH_FLAGS: flags of cmd/officex-bench; the default
# -dbprofile adds, for the last run of each shape and for the expiries, what
# PostgreSQL waited on, its WAL per table and, where pg_stat_statements is
# loaded, its statements (see README "Benchmark").
BENCH_FLAGS ?= -dbprofile
bench: export TEMPORAL_ADDRESS := $(TEMPORAL_ADDR)
bench: tools
ifeq ($(TOPOLOGY),1)
	scripts/topology.sh run go run ./cmd/officex-bench -topology-api http://127.0.0.1:18080/v1 -out bench/results-topology.md
else
	$(STACK_SH) test go run ./cmd/officex-bench -out bench/results.md $(BENCH_FLAGS)
endif

topology: tools
	scripts/topology.sh up

# Faults under load (cmd/chaos): its own Temporal dev server (on free ports,
# never the one on 7233) and its own database (dropped after), two serve and two
# worker processes, one SIGKILLed every 10 s, Temporal stopped once for 20 s;
# fails when a money check fails. Figures in bench/chaos.md. Not part of make
# test; CI runs it for 60 s.
# TOPOLOGY=1: the same against a running `make topology`: load through its
# proxy, the officex processes in its slots (its own are stopped for the run
# and started again after), Temporal's frontend and history stopped for the
# outage, a database and a namespace of the run's own; bench/chaos-topology.md.
# CHAOS_FLAGS adds flags of cmd/chaos (e.g. -expiry-grace 60s, -keep-logs).
CHAOS_DURATION ?= 3m
CHAOS_FLAGS ?=
chaos: tools
	go build -o bin/chaos ./cmd/chaos
ifeq ($(TOPOLOGY),1)
	scripts/topology.sh run bin/chaos -topology scripts/topology.sh -duration $(CHAOS_DURATION) \
		-temporal "$$($(TOOLS_SH) path temporal)" -out bench/chaos-topology.md $(CHAOS_FLAGS)
else
	bin/chaos -duration $(CHAOS_DURATION) -temporal "$$($(TOOLS_SH) path temporal)" -out bench/chaos.md $(CHAOS_FLAGS)
endif

generate:
	@$(TOOLS_SH) install sqlc
	$(SQLC) generate
	scripts/sdkgen.sh

build:
	$(GO_BUILD) -o bin/officex ./cmd/officex
