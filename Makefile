# Baodao — the two commands (README): `make run` and `make test`. Both set up everything
# they need on a fresh machine with Python 3.11.
PY        ?= python3
VENV      := .venv
BIN       := $(VENV)/bin
PORT      ?= 8000
FLASK     := $(BIN)/flask --app wsgi
STAMP_RUN := $(VENV)/.installed-run
STAMP_TEST:= $(VENV)/.installed-test

.PHONY: run test check install install-test migrate demo clean bench-engine bench bench-notify

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP_RUN): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install -q -e '.[postgres]'
	touch $@

$(STAMP_TEST): $(STAMP_RUN)
	$(BIN)/pip install -q -e '.[postgres,test]'
	touch $@

install: $(STAMP_RUN)
install-test: $(STAMP_TEST)

## make run: migrate the SQLite file under instance/, load the demo once, serve on 127.0.0.1:$(PORT)
run: install
	$(FLASK) db upgrade
	$(FLASK) demo-data --if-empty
	PORT=$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

migrate: install
	$(FLASK) db upgrade

## make check: pip-audit (no known-vulnerable dependency; passes soft ONLY when the vulnerability
## service cannot be reached, saying so) and bandit (no high-severity finding in the package)
check: install-test
	$(BIN)/python tests/security/pip_audit_gate.py $(BIN)/pip-audit
	$(BIN)/bandit -q -r workflow api -lll

## make test: the checks, then the whole suite on SQLite and PostgreSQL (starting one if none answers)
test: install-test check
	scripts/ensure-chromium.sh
	scripts/ensure-pdftotext.sh
	scripts/ensure-nginx.sh
	scripts/ensure-wrk.sh
	TEST_DATABASE_URL=$$(scripts/ensure-postgres.sh) $(BIN)/python -m pytest $(PYTEST_ARGS)

bench-engine: install-test
	TEST_DATABASE_URL=$$(scripts/ensure-postgres.sh) $(BIN)/python bench/engine.py $(ARGS)

## make bench ARGS=--quick: the HTTP benchmark (bench/run.py, load from wrk); figures go to docs/performance.md
bench: install-test
	$(BIN)/pip install -q -e '.[postgres,test,bench]'
	scripts/ensure-wrk.sh
	TEST_DATABASE_URL=$$(scripts/ensure-postgres.sh) $(BIN)/python bench/run.py $(ARGS)

## make bench-notify: the bell's unread count and the inbox's first page at 1M notifications (PostgreSQL)
bench-notify: install-test
	TEST_DATABASE_URL=$$(scripts/ensure-postgres.sh) $(BIN)/python bench/notifications.py $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
