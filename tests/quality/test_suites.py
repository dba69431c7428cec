"""The suite files: in step with the contract, the dbt YAML and expectations/rules.yml; every
expectation has a severity; run parameters fill in."""

from __future__ import annotations

import json
from datetime import date

import pytest

from include.contract import load_contract
from include.quality.suites import (
    RunParameters,
    batch_query,
    build_suites,
    list_suites,
    load_suite,
    render,
    suite_path,
)
from tests.conftest import PROJECT_ROOT

EXPECTATIONS = PROJECT_ROOT / "expectations"
MARTS = ("customer_indicators", "training_panel", "scoring_panel", "customer_segments", "churn_labels")


@pytest.fixture(scope="module")
def generated():
    return build_suites(rules_path=EXPECTATIONS / "rules.yml", dbt_project_dir=PROJECT_ROOT / "dbt_project")


def test_committed_suites_match_their_sources(generated):
    stale = [name for name, suite in generated.items()
             if not suite_path(EXPECTATIONS, name).exists()
             or suite_path(EXPECTATIONS, name).read_text(encoding="utf-8") != render(suite)]
    assert stale == [], f"regenerate with `python -m include.quality.suites`: {stale}"
    on_disk = {f"{p.parent.name}.{p.stem}" for p in (EXPECTATIONS / "suites").glob("*/*.json")}
    assert on_disk == set(generated), "suite files without a rule (or rules without a file)"


def test_every_raw_table_and_mart_has_a_suite(generated):
    assert {f"raw.{t}" for t in load_contract().tables} <= set(generated)
    assert {f"marts.{m}" for m in MARTS} <= set(generated)


def test_every_expectation_is_critical_or_warning(generated):
    for name, suite in generated.items():
        for e in suite["expectations"]:
            assert e["meta"]["severity"] in ("critical", "warning"), (name, e)
            assert e["meta"]["check"] and e["meta"]["name"], (name, e)


def test_raw_suites_cover_the_contract(generated):
    contract = load_contract()
    for table in contract.tables.values():
        suite = generated[f"raw.{table.name}"]
        checks = {e["meta"]["check"] for e in suite["expectations"]}
        assert {"schema", "primary_key"} <= checks, table.name
        kwargs = [e["kwargs"] for e in suite["expectations"]]
        columns_set = next(k["column_set"] for k in kwargs if "column_set" in k)
        assert columns_set == table.column_names
        for col in table.columns:
            by_col = {e["type"] for e in suite["expectations"] if e["kwargs"].get("column") == col.name}
            if col.required:
                assert "expect_column_values_to_not_be_null" in by_col, (table.name, col.name)
            if col.accepted_values and not col.pii:
                assert "expect_column_values_to_be_in_set" in by_col, (table.name, col.name)
            if col.pii:  # no value checks: they would copy PII into results and Data Docs
                assert by_col <= {"expect_column_values_to_not_be_null"}, (table.name, col.name)
        fk_names = {e["meta"]["name"] for e in suite["expectations"] if e["meta"]["check"] == "foreign_key"}
        assert len(fk_names) == len(table.foreign_keys), table.name


def test_partitioned_tables_check_freshness_volume_and_distribution(generated):
    tx = {e["meta"]["check"] for e in generated["raw.transactions"]["expectations"]}
    assert {"freshness", "volume", "distribution", "foreign_key", "range", "accepted_values"} <= tx
    ci = {e["meta"]["check"] for e in generated["marts.customer_indicators"]["expectations"]}
    assert {"freshness", "volume", "distribution", "schema", "primary_key"} <= ci


def test_run_parameters_fill_every_placeholder():
    params = RunParameters(date(2025, 12, 31))
    for layer in ("raw", "staging", "marts"):
        for path in list_suites(EXPECTATIONS, layer):
            suite = load_suite(path, params)
            text = json.dumps(suite)
            assert "$as_of_date" not in text and "$partition" not in text and "$table" not in text, path
            for e in suite["expectations"]:
                if e["type"] == "unexpected_rows_expectation":
                    assert "{batch}" in e["kwargs"]["unexpected_rows_query"], (path, e["meta"]["name"])


def test_batch_of_a_mid_month_run():
    params = RunParameters(date(2025, 12, 15))
    v = params.values()
    assert (v["partition_start"], v["partition_end"], v["partition_days"]) == ("2025-12-01", "2025-12-16", "15")
    assert (v["snapshot_date"], v["previous_snapshot_date"]) == ("2025-11-30", "2025-10-31")
    q = batch_query("raw.transactions", {"kind": "month", "column": "transaction_ts"}, params)
    assert "transaction_ts >= '2025-12-01'" in q and "transaction_ts < '2025-12-16'" in q
    assert batch_query("raw.customers", {"kind": "table"}, params) is None
