# Churn early-warning platform. Two commands on a fresh machine: `make run` and `make test`.
# Every target bootstraps the pinned environment (.venv from requirements.lock) when needed.

PYTHON   ?= python3.11
VENV     := .venv
PY       := $(VENV)/bin/python
UV       := $(VENV)/bin/uv
UV_VERSION := 0.13.9
SIZE     ?= demo
STAMP    := $(VENV)/.installed-$(shell sha1sum requirements.lock | cut -c1-12)

export CHURN_SIZE := $(SIZE)

.PHONY: help env run test lint generate bench airflow lock dbt-docs clean clean-data

help:
	@echo "make run       generate the demo bank if absent, run the daily early-warning DAG once, print a summary"
	@echo "make test      lint and run the whole test suite"
	@echo "make generate SIZE=tiny|demo|large   write the synthetic bank to data/source/<size>"
	@echo "make bench SIZE=demo|large          run the stage benchmarks, results in benchmarks/results/"
	@echo "make airflow   start Airflow (UI on http://localhost:8080) with the project's DAGs"
	@echo "make lock      regenerate requirements.lock from pyproject.toml"

$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(UV) pip sync --python $(PY) --require-hashes requirements.lock
	$(UV) pip install --python $(PY) --no-deps -e .
	rm -f $(VENV)/.installed-* && touch $@

env: $(STAMP)
	@$(PY) -m include.dbt_manifest >/dev/null

run: env
	$(PY) -m include.run_main --size $(SIZE)

test: env lint
	$(PY) -m pytest

lint: env
	$(PY) -m ruff check .

generate: env
	$(PY) -m include.bank_simulator --size $(SIZE) --out data/source/$(SIZE) --truth-out data/truth/$(SIZE)

bench: env
	$(PY) -m benchmarks.run --size $(SIZE)

airflow: env
	$(PY) -m include.airflow_local

dbt-docs: env
	cd dbt_project && CHURN_WAREHOUSE=$(CURDIR)/data/warehouse.duckdb ../$(VENV)/bin/dbt docs generate --profiles-dir .

# Regenerate the lock after changing dependencies in pyproject.toml (see docs/decisions.md).
lock: env
	$(UV) pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -o requirements.lock

clean:
	rm -rf .airflow dbt_project/target dbt_project/logs .pytest_cache .ruff_cache

clean-data:
	rm -rf data models
