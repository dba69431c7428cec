"""run_gate on the tiny bank (simulator -> ingestion -> dbt): no false alarms on clean data, every
result stored, Data Docs rendered, critical failures raise after storing, warnings do not."""

from __future__ import annotations

import json
from datetime import date, timedelta

import duckdb
import pytest

from include.quality import CriticalDataQualityError, run_gate
from tests.conftest import PROJECT_ROOT, last_month_end

pytestmark = pytest.mark.integration

EXPECTATIONS = PROJECT_ROOT / "expectations"


@pytest.fixture(scope="module")
def as_of_date(tiny_bank) -> str:
    return last_month_end(tiny_bank["manifest"])


def _results(warehouse, run_id):
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(
            "select layer, suite, table_name, expectation, severity, success, observed_value, unexpected_count, "
            "unexpected_sample from quality.data_quality_results where run_id = ? order by suite, expectation",
            [run_id]).df()
    finally:
        con.close()


@pytest.mark.parametrize("layer", ["raw", "staging", "marts"])
def test_clean_data_raises_no_alarm_and_stores_every_result(layer, warehouse_copy, as_of_date, tmp_path):
    result = run_gate(layer, warehouse_path=warehouse_copy, as_of_date=as_of_date, run_id="clean_run",
                      expectations_dir=EXPECTATIONS, output_dir=tmp_path)
    assert [(o.table_name, o.expectation, o.observed_value) for o in result.failures] == []
    suites = sorted((EXPECTATIONS / "suites" / layer).glob("*.json"))
    expected_count = sum(len(json.loads(p.read_text())["expectations"]) for p in suites)
    stored = _results(warehouse_copy, "clean_run")
    assert len(stored) == len(result.outcomes) == expected_count
    assert set(stored["suite"]) == {f"{layer}.{p.stem}" for p in suites}
    assert set(stored["severity"]) <= {"critical", "warning"}
    assert stored["success"].all()
    assert result.data_docs_index is not None and result.data_docs_index.exists()
    assert "Data Docs" in result.data_docs_index.read_text() or "<html" in result.data_docs_index.read_text().lower()


def test_no_false_alarm_for_a_past_as_of_date(warehouse_copy, tmp_path):
    """A backfill: the warehouse holds data after the as_of_date, which must not look wrong."""
    partitioned = ["raw.transactions", "raw.balance_snapshots", "raw.digital_activity",
                   "raw.service_interactions", "raw.market_environment"]
    result = run_gate("raw", warehouse_path=warehouse_copy, as_of_date="2024-03-31", run_id="backfill",
                      expectations_dir=EXPECTATIONS, output_dir=tmp_path, suites=partitioned)
    assert [(o.table_name, o.expectation, o.observed_value) for o in result.failures] == []
    assert result.row_counts["raw.transactions"] > 0


def test_critical_failure_raises_after_storing(warehouse_copy, as_of_date, tmp_path):
    con = duckdb.connect(str(warehouse_copy))
    # A duplicated customer and a NULL key: both primary-key expectations are critical.
    con.execute("insert into raw.customers select * from raw.customers limit 1")
    con.execute("drop table raw.retention_actions")  # a table ingestion did not create
    con.execute("update raw.products set customer_id = NULL where product_id = (select min(product_id) from raw.products)")
    con.close()
    notified = []
    with pytest.raises(CriticalDataQualityError) as raised:
        run_gate("raw", warehouse_path=warehouse_copy, as_of_date=as_of_date, run_id="broken_run",
                 expectations_dir=EXPECTATIONS, output_dir=tmp_path, notify=notified.append,
                 suites=["raw.customers", "raw.products", "raw.retention_actions"])
    message = str(raised.value)
    assert "raw.customers" in message and "customer_id_unique" in message
    assert "raw.products" in message and "customer_id_not_null" in message
    assert "raw.retention_actions: table_exists failed (observed 'missing')" in message
    assert len(notified) == 1 and notified[0] is raised.value.gate_result  # notified before raising
    stored = _results(warehouse_copy, "broken_run")
    failed = stored[~stored["success"]]
    assert {("raw.customers", "customer_id_unique"), ("raw.products", "customer_id_not_null"),
            ("raw.retention_actions", "table_exists")} <= set(
        zip(failed["table_name"], failed["expectation"], strict=True))
    assert set(failed["severity"]) == {"critical"}


def test_warning_failure_does_not_raise_and_masks_pii(warehouse_copy, as_of_date, tmp_path):
    con = duckdb.connect(str(warehouse_copy))
    # Orphans (warning): transactions of a customer the bank does not know.
    con.execute("update raw.transactions set customer_id = 'GHOST-1' where transaction_id in "
                f"(select transaction_id from raw.transactions where transaction_ts >= DATE '{as_of_date}' - 20 limit 3)")
    # Undecodable bytes a load kept escaped, in a PII column (warning; the sample shows the key only).
    [(customer_id, name)] = con.execute(
        "select customer_id, name from raw.customers order by customer_id limit 1").fetchall()
    con.execute("update raw.customers set name = '\\xCD\\xF5' || name where customer_id = ?", [customer_id])
    con.close()
    result = run_gate("raw", warehouse_path=warehouse_copy, as_of_date=as_of_date, run_id="warn_run",
                      expectations_dir=EXPECTATIONS, output_dir=tmp_path,
                      suites=["raw.customers", "raw.transactions"])
    assert result.critical_failures == []
    [orphans] = [o for o in result.failures if o.expectation == "customer_id_in_customers"]
    assert orphans.severity == "warning" and orphans.unexpected_count == 3
    assert orphans.unexpected_sample and all(row["customer_id"] == "GHOST-1" for row in orphans.unexpected_sample)
    [encoding] = [o for o in result.failures if o.expectation == "text_is_valid_utf8"]
    assert encoding.severity == "warning" and encoding.unexpected_count == 1
    assert encoding.unexpected_sample == [{"customer_id": customer_id}]
    stored = _results(warehouse_copy, "warn_run")
    assert name not in stored.to_csv()
    assert {"raw.customers", "raw.transactions"} == set(stored[~stored["success"]]["table_name"])
    docs = "".join(p.read_text(errors="ignore") for p in result.data_docs_index.parent.rglob("*.html"))
    assert name not in docs  # the customer's name never reaches Data Docs


def test_volume_and_distribution_against_the_previous_run(warehouse_copy, as_of_date, tmp_path):
    """The previous run's count is kept in quality.table_volumes; the month's partition then loses
    70% of its rows (every day still present) and its amounts jump a hundredfold: both warnings
    fire, nothing raises."""
    previous = (date.fromisoformat(as_of_date).replace(day=1) - timedelta(days=1)).isoformat()
    common = dict(warehouse_path=warehouse_copy, expectations_dir=EXPECTATIONS, output_dir=tmp_path,
                  suites=["raw.transactions"])
    first = run_gate("raw", as_of_date=previous, run_id="previous_run", **common)
    assert first.failures == [] and first.row_counts["raw.transactions"] > 0
    con = duckdb.connect(str(warehouse_copy))
    con.execute(f"delete from raw.transactions where transaction_ts >= DATE '{as_of_date}' - 30 "
                "and hash(transaction_id) % 10 < 7")
    con.execute(f"update raw.transactions set amount = amount * 100 where transaction_ts >= DATE '{as_of_date}' - 30")
    con.close()
    result = run_gate("raw", as_of_date=as_of_date, run_id="this_run", **common)
    failed = {o.expectation: o for o in result.failures}
    assert {"row_count_within_band", "amount_quantiles_stable"} <= set(failed)
    assert all(o.severity == "warning" for o in failed.values() if o.check in ("volume", "distribution"))
    assert failed["row_count_within_band"].unexpected_sample[0]["previous_row_count"] == first.row_counts["raw.transactions"]
