# Two set-up commands: `make demo` and `make test`. Everything else here supports them.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
SCALE ?= demo

.PHONY: install demo seed serve test test-sqlite test-postgres lint openapi bench bench-indicators bench-valuation bench-compensation bench-screening bench-matching bench-monitoring bench-portal bench-load clean

$(STAMP): pyproject.toml constraints.txt
	$(PY) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/ipledge migrate --noinput -v0
	$(BIN)/ipledge compilemessages -v0 --ignore '.venv/*' 2>/dev/null || true
	$(BIN)/ipledge collectstatic --noinput -v0
	$(BIN)/ipledge seed --scale $(SCALE) --if-empty
	$(BIN)/ipledge seed_pledges --if-empty
	$(BIN)/ipledge seed_loans --if-empty
	$(BIN)/ipledge close_of_business
	$(BIN)/ipledge scan_pledge_alerts
	$(BIN)/ipledge seed_valuations --if-empty
	$(BIN)/ipledge seed_compensation --if-empty
	$(BIN)/ipledge compensation scan
	$(BIN)/ipledge seed_disposal --if-empty
	$(BIN)/ipledge disposal close-auctions
	$(BIN)/ipledge seed_screening --if-empty
	$(BIN)/ipledge screening expire-lines
	$(BIN)/ipledge seed_market --if-empty
	$(BIN)/ipledge market expire-demands
	$(BIN)/ipledge market close-surveys
	$(BIN)/ipledge market remind-surveys
	$(BIN)/ipledge market close-events
	$(BIN)/ipledge seed_monitoring --if-empty
	$(BIN)/ipledge monitoring remind
	$(BIN)/ipledge seed_portal --if-empty
	$(BIN)/ipledge demo_logins
	@# One task worker beside the server runs batch revaluations; it stops with the server (Ctrl-C).
	$(BIN)/ipledge db_worker --interval 1 >var/db_worker.log 2>&1 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/ipledge runserver --noreload $(HOST):$(PORT)

# The whole suite on SQLite; then, when DATABASE_URL names a PostgreSQL server, the database tests again there.
test: install
	@if [ -n "$$REQUIRE_POSTGRES" ] && [ -z "$$DATABASE_URL" ]; then echo "REQUIRE_POSTGRES is set but DATABASE_URL is empty" >&2; exit 2; fi
	env -u DATABASE_URL IPLEDGE_DB_PASS=sqlite $(BIN)/pytest -n 2 -q
	@if [ -n "$$DATABASE_URL" ]; then \
		echo "== database tests again on PostgreSQL ($$DATABASE_URL)"; \
		IPLEDGE_DB_PASS=postgres $(BIN)/pytest -n 2 -q -m "django_db or postgres" -p no:randomly; \
	else echo "DATABASE_URL not set: PostgreSQL pass skipped"; fi

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src

openapi: install
	$(BIN)/ipledge export_openapi --output docs/openapi.json

bench: install
	$(BIN)/python bench/run.py

# The lending indicators at national scale (issue 7): seeds BENCH_LENDING_URL's database on first use (~5 min).
BENCH_LENDING_URL ?= postgres://postgres@127.0.0.1:5432/bench_lending
bench-indicators: install
	$(BIN)/python bench/run.py --skip-seed --skip-import --skip-validators --indicators --indicators-database $(BENCH_LENDING_URL)

# The valuation engine on 1,000,000 synthetic patents against its row-by-row reference (issue 4), and the API p95.
bench-valuation: install
	$(BIN)/python bench/run.py --skip-seed --skip-import --skip-validators --valuation --valuation-api

# The compensation funds' stress test on the province seed against a naive per-simulation loop; seeds
# BENCH_COMPENSATION_URL's database on first use (reduced registry, 30,000 loans, the Jiangsu fund: a few minutes).
BENCH_COMPENSATION_URL ?= sqlite:///$(CURDIR)/var/bench_province/ipledge.sqlite3
bench-compensation: install
	mkdir -p var/bench_province
	DATABASE_URL=$(BENCH_COMPENSATION_URL) $(BIN)/ipledge migrate --noinput -v0
	$(BIN)/ipledge bench compensation --scale province --database-url $(BENCH_COMPENSATION_URL) --output bench/results/compensation.json

# The credit screening of 500,000 synthetic enterprises with 2,000,000 credit records against a per-enterprise ORM
# loop on 2,000 of them written to BENCH_SCREENING_URL's database in a rolled-back transaction (issue 5).
BENCH_SCREENING_URL ?= sqlite:///$(CURDIR)/var/bench_screening/ipledge.sqlite3
bench-screening: install
	mkdir -p var/bench_screening
	DATABASE_URL=$(BENCH_SCREENING_URL) $(BIN)/ipledge migrate --noinput -v0
	$(BIN)/ipledge bench screening --enterprises 500000 --records 2000000 --database-url $(BENCH_SCREENING_URL) --output bench/results/screening.json

# Matching of 100,000 synthetic demands against 2,000 products, and one enterprise's ranking (issue 6).
bench-matching: install
	$(BIN)/ipledge bench matching --products 2000 --demands 100000 --output bench/results/matching.json

# The monitoring app's anomaly rules and targets on synthetic national-scale frames against a row-by-row twin.
bench-monitoring: install
	$(BIN)/ipledge bench monitoring --output bench/results/monitoring.json

# Word search over 20,000 synthetic policies against segmenting every policy at query time (issue 11); the rows
# are inserted in a transaction that is rolled back.
bench-portal: install
	$(BIN)/ipledge bench portal --output bench/results/portal.json

# ipledge's main read pages and API lists under locust (50 users, 60 s) on gunicorn over loopback, then a bare
# Django JSON view with the same server settings in the same run (issue 12); seeds a demo database (a few minutes).
LOAD_ARGS ?= --users 50 --duration 60
bench-load: install
	$(BIN)/python bench/load.py $(LOAD_ARGS) --output bench/results/load.json

clean:
	rm -rf $(VENV) var .pytest_cache
