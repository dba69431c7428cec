"""`make run` on a real bank export through its mapping: Churn_Modelling.csv (10,000 customers, one
snapshot, label Exited), through Airflow, as

    CHURN_SOURCE_KIND=mapping CHURN_SOURCE_MAPPING=churn_modelling make run

runs it: ingestion, the gates (the feed-freshness checks a snapshot cannot meet recorded as not
applicable), dbt, cross-sectional training, scoring with reasons, alerts, publication.
Skips when ../shared (the data set) is absent."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pytest

from tests.integration.test_main_dag import PROJECT_ROOT

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def mapping_run(churn_modelling_csv, tmp_path_factory):
    root = tmp_path_factory.mktemp("mapping_run")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHURN_", "AIRFLOW"))}
    env.update(
        {
            "CHURN_SOURCE_KIND": "mapping",
            "CHURN_SOURCE_MAPPING": "churn_modelling",  # a name of include/mappings/
            "CHURN_DATA_DIR": str(root / "data"),
            "CHURN_MODELS_DIR": str(root / "models"),
            "AIRFLOW_HOME": str(root / "airflow"),
            "CHURN_TRAIN_TRIAL_BUDGET": "2",
        }
    )
    result = subprocess.run([sys.executable, "-m", "include.run_main"], env=env, cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, f"the mapping run failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return {"root": root, "stdout": result.stdout, "published": root / "data" / "published" / "churn_warning.duckdb"}


def test_every_customer_is_scored_with_reasons_and_alerted_by_level(mapping_run):
    out = mapping_run["stdout"]
    assert "as of 2025-12-31" in out and "customers scored:       10,000" in out
    con = duckdb.connect(str(mapping_run["published"]), read_only=True)
    try:
        scored, distinct = con.execute(
            "select count(*), count(distinct customer_id) from customer_risk_scores where as_of_date = '2025-12-31'"
        ).fetchall()[0]
        assert scored == distinct == 10_000
        reasons = con.execute("select count(distinct customer_id), count(*) from churn_reasons").fetchall()[0]
        assert reasons[0] == 10_000 and reasons[1] >= 20_000
        # reasons are told in the catalog's words, in both languages
        assert con.execute("select count(*) from churn_reasons where reason_en is null or reason_zh is null"
                           ).fetchall()[0][0] == 0
        alerts = con.execute("select count(*) from churn_alerts").fetchall()[0][0]
        non_green = con.execute("select count(*) from customer_risk_scores where risk_level <> 'green'").fetchall()[0][0]
        assert alerts == non_green > 0
        printed = next(line for line in out.splitlines() if "alerts by risk level:" in line)
        for level, n in con.execute("select risk_level, count(*) from churn_alerts group by 1").fetchall():
            assert f"{level} {n:,}" in printed
    finally:
        con.close()


def test_the_model_is_registered_as_cross_sectional_without_a_backtest(mapping_run):
    con = duckdb.connect(str(mapping_run["published"]), read_only=True)
    try:
        row = con.execute(
            "select split_kind, backtest_status, backtest_reason, test_roc_auc, training_rows, test_as_of_date "
            "from model_registry where is_champion").fetchall()[0]
    finally:
        con.close()
    split_kind, status, reason, auc, train_rows, test_date = row
    assert split_kind == "cross_sectional" and status == "not_applicable" and "one labelled as_of_date" in reason
    assert str(test_date) == "2025-12-31" and train_rows == 6_000
    assert auc > 0.8  # held-out customers; the full-protocol figure is ml.evaluate's


def test_snapshot_exemptions_are_recorded_not_hidden(mapping_run):
    con = duckdb.connect(str(mapping_run["published"]), read_only=True)
    try:
        rows = con.execute(
            "select table_name, expectation, success, observed_value from data_quality_results "
            "where layer = 'raw' and observed_value like '%not applicable%'").fetchall()
        critical = con.execute("select count(*) from data_quality_results where severity = 'critical' and not success"
                               ).fetchall()[0][0]
    finally:
        con.close()
    assert critical == 0
    tables = {r[0] for r in rows}
    assert {"raw.transactions", "raw.service_interactions", "raw.market_environment"} <= tables
    assert all(r[2] for r in rows)


def test_the_cv_panel_is_what_the_mapping_and_dbt_make(churn_modelling_csv, tmp_path):
    """`python -m ml.evaluate --churn-modelling` measures on the warehouse panel, not on the CSV."""
    from ml.evaluate import churn_modelling_panel

    panel, catalog, info = churn_modelling_panel(churn_modelling_csv, work_dir=tmp_path)
    assert info["as_of_date"] == "2025-12-31" and info["rows"] == 10_000
    assert panel["churned_within_horizon"].mean() == pytest.approx(0.2037)
    # the export's columns arrive as indicators of the catalog, none read from the CSV directly
    for column in ("age_years", "gender", "city", "tenure_days", "credit_score", "annual_income",
                   "asset_products_held", "has_credit_card", "aum_latest", "logins_30d"):
        assert column in set(catalog["indicator"]) and panel[column].notna().all(), column
    assert panel["transaction_count_90d"].isna().all()
