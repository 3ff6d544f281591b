# The two commands of the README: `make run` and `make test`. Everything they need is
# installed or started here; nothing is a manual step.
SHELL := /bin/bash
CARGO ?= cargo
DEMO_EVENTS ?= 20000

.PHONY: run test test-citus bench bench-citus spa fuzz openapi

# The browser app, built into dist/ (installs the wasm toolchain and Chromium when missing).
spa:
	@tools=$$(bash .ci/ensure-frontend.sh) && \
	$(CARGO) fetch --locked && \
	PATH="$$tools:$$PATH" trunk build --release

# Start the product: PostgreSQL with ip4r, schema, demo data, then the server
# (IDEADB_BIND, default 127.0.0.1:8080).
run: spa
	@admin=$$(bash .ci/ensure-postgres.sh); \
	url=$${DATABASE_URL:-$${admin%/*}/ideadb}; \
	psql "$$admin" -tAc "SELECT 1 FROM pg_database WHERE datname = '$${url##*/}'" | grep -q 1 \
	  || psql "$$admin" -qc "CREATE DATABASE \"$${url##*/}\""; \
	$(CARGO) build --release --locked -p ideadb && \
	export DATABASE_URL="$$url" && \
	./target/release/ideadb migrate && \
	if [ "$$(psql "$$url" -tAc 'SELECT count(*) FROM events')" = 0 ]; then \
	  ./target/release/ideadb ingest ../shared/data/idea-corpus/valid 2>/dev/null || true; \
	  ./target/release/ideadb gen --count $(DEMO_EVENTS) --days 7 | ./target/release/ideadb ingest --keep-storage-time -; \
	fi; \
	if [ -z "$$(./target/release/ideadb user list)" ]; then \
	  pw=$$(head -c 12 /dev/urandom | base64 | tr -d '/+='); \
	  echo "$$pw" | ./target/release/ideadb user add demo --role user --password-stdin >/dev/null && \
	  echo "log in as demo with the password $$pw (shown once; change it: ideadb user passwd demo)"; \
	fi; \
	echo "serving on http://$${IDEADB_BIND:-127.0.0.1:8080}/ (API: /api, API browser: /api/docs)"; \
	exec ./target/release/ideadb serve

# Every test: unit, integration against a throw-away database per test, CLI, and the browser
# app in headless Chromium.
test: spa
	@admin=$$(bash .ci/ensure-postgres.sh); run=r$$$$; \
	IDEADB_TEST_ADMIN_URL="$$admin" IDEADB_TEST_RUN=$$run $(CARGO) test --workspace --locked -- --skip on_citus::; status=$$?; \
	for db in $$(psql "$$admin" -tAc "SELECT datname FROM pg_database WHERE datname ~ '^ideadb_(t|tpl)_$${run}_'"); do \
	  psql "$$admin" -qc "DROP DATABASE IF EXISTS $$db WITH (FORCE)"; \
	done; exit $$status

# The storage, search-model and HTTP integration tests again, against a Citus coordinator
# with two workers on this machine (Citus is built from ../shared/vendor/citus once). Left
# out: what measures one server's own plans, relation sizes or clusters (explain, faults,
# maintenance), and the browser and schemathesis, which read through the same API the HTTP
# tests cover.
CITUS_SKIP ?= --skip explain:: --skip faults:: --skip maintenance:: --skip spa:: --skip schemathesis::
test-citus:
	@{ read -r coordinator; read -r workers; } < <(bash .ci/ensure-citus.sh); run=c$$$$; \
	IDEADB_TEST_ADMIN_URL="$$coordinator" IDEADB_TEST_CITUS_WORKERS="$$workers" IDEADB_TEST_RUN=$$run \
	  $(CARGO) test --workspace --locked --test integration -- $(CITUS_SKIP) $(TESTS); status=$$?; \
	for node in $$coordinator $$workers; do \
	  for db in $$(psql "$$node" -tAc "SELECT datname FROM pg_database WHERE datname ~ '^ideadb_(t|tpl)_$${run}_'"); do \
	    PGOPTIONS="-c citus.enable_create_database_propagation=off" psql "$$node" -qc "DROP DATABASE IF EXISTS $$db WITH (FORCE)"; \
	  done; \
	done; exit $$status

# Storage benchmark on 3,000,000 generated events, on a private PostgreSQL cluster tuned
# for the workload (figures go to BENCHMARKS.md).
bench:
	@command -v wrk >/dev/null && command -v curl >/dev/null || apt-get install -y -q wrk curl >/dev/null; \
	admin=$$(bash .ci/bench-postgres.sh); \
	$(CARGO) build --release --locked -p ideadb --bins && \
	IDEADB_BENCH_ADMIN_URL="$$admin" IDEADB_BENCH_RESTART="bash .ci/bench-postgres.sh restart" \
	  ./target/release/ideadb-bench $(BENCH_ARGS)

# The storage benchmark's events and search shapes on one node and on the Citus cluster of
# make test-citus, in the same run (BENCHMARKS.md, "Citus").
bench-citus:
	@{ read -r coordinator; read -r workers; } < <(bash .ci/ensure-citus.sh); \
	$(CARGO) build --release --locked -p ideadb --bins && \
	IDEADB_BENCH_ADMIN_URL="$$coordinator" IDEADB_BENCH_CITUS_WORKERS="$$workers" \
	  ./target/release/ideadb-bench --only citus $(BENCH_ARGS)

# The property tests of api/tests/properties.rs (arbitrary bytes, mutated real messages,
# arbitrary JSON, addresses, search forms, times and ages) at FUZZ_CASES cases each.
FUZZ_CASES ?= 1000000
fuzz:
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --release --locked -p ideadb --test properties -- --nocapture

# Regenerates the committed OpenAPI document from the code (a test fails while they differ).
openapi:
	$(CARGO) run -q --locked -p ideadb --bin ideadb -- openapi > openapi/openapi.json
