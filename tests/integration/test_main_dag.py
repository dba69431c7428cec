"""The main DAG end to end, through Airflow, as `make run` runs it, on the tiny bank."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LEVELS = {"red", "orange", "yellow", "green"}

pytestmark = pytest.mark.integration


def run_main(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "include.run_main", "--size", "tiny", *args],
        env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=1200,
    )


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("make_run")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHURN_", "AIRFLOW"))}
    env.update(
        {
            "CHURN_DATA_DIR": str(root / "data"),
            "CHURN_MODELS_DIR": str(root / "models"),
            "AIRFLOW_HOME": str(root / "airflow"),
            # a small search keeps the test short; the bars are checked by ml's own evaluation
            "CHURN_TRAIN_TRIAL_BUDGET": "3",
            "CHURN_BACKTEST_ORIGINS": "0",
        }
    )
    result = run_main(env)
    assert result.returncode == 0, f"make run failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return {"root": root, "env": env, "stdout": result.stdout, "published": root / "data" / "published" / "churn_warning.duckdb"}


def test_summary_names_what_was_produced_and_where(tiny_run):
    out = tiny_run["stdout"]
    assert "customers scored:" in out
    assert "alerts by risk level:   red" in out
    assert str(tiny_run["published"]) in out
    report_line = next(line for line in out.splitlines() if "report:" in line)
    assert Path(report_line.split("report:")[1].strip()).is_file()


def test_published_snapshot_holds_every_scored_customer(tiny_run):
    con = duckdb.connect(str(tiny_run["published"]), read_only=True)
    try:
        as_of = con.execute("select max(as_of_date) from customer_risk_scores").fetchall()[0][0]
        assert str(as_of) == "2025-12-31"
        scored, distinct, low, high = con.execute(
            "select count(*), count(distinct customer_id), min(churn_probability), max(churn_probability) "
            "from customer_risk_scores where as_of_date = ?", [as_of]
        ).fetchall()[0]
        # every customer still active at the as-of date is scored, once
        warehouse = duckdb.connect(str(tiny_run["root"] / "data" / "warehouse.duckdb"), read_only=True)
        panel = warehouse.execute("select count(*) from marts.scoring_panel where as_of_date = ?", [as_of]).fetchall()[0][0]
        warehouse.close()
        assert scored == distinct == panel > 1000
        assert 0.0 <= low <= high <= 1.0
        levels = {r[0] for r in con.execute("select distinct risk_level from customer_risk_scores").fetchall()}
        assert levels <= LEVELS and "green" in levels
        printed = next(line for line in tiny_run["stdout"].splitlines() if "customers scored:" in line)
        assert f"{scored:,}" in printed

        alerts = con.execute("select count(*), count(distinct alert_id) from churn_alerts where as_of_date = ?", [as_of]).fetchall()[0]
        assert alerts[0] == alerts[1] > 0
        # every alert has a score, with the same probability and level, and levels are alert levels
        mismatched = con.execute(
            "select count(*) from churn_alerts a left join customer_risk_scores s using (customer_id, as_of_date) "
            "where s.customer_id is null or s.churn_probability <> a.churn_probability or s.risk_level <> a.risk_level"
        ).fetchall()[0][0]
        assert mismatched == 0
        assert {r[0] for r in con.execute("select distinct risk_level from churn_alerts").fetchall()} <= {"red", "orange", "yellow"}
        # alerted = every non-green score
        non_green = con.execute(
            "select count(*) from customer_risk_scores where as_of_date = ? and risk_level <> 'green'", [as_of]
        ).fetchall()[0][0]
        assert non_green == alerts[0]
        tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
        assert {"customer_risk_scores", "churn_alerts", "indicator_catalog", "model_registry", "publication"} <= tables
        columns = {r[0] for t in tables for r in con.execute(f'describe "{t}"').fetchall()}
        assert not {"name", "phone", "email"} & columns, "no PII in clear for BI"
    finally:
        con.close()


def test_a_critical_failure_stops_the_run_keeps_the_snapshot_and_mails_the_owner(tiny_run, tmp_path, smtp_mailbox):
    mailbox, smtp_uri = smtp_mailbox
    # the source lost December's transactions: the run's partition is missing (a critical check)
    source = tmp_path / "source"
    shutil.copytree(tiny_run["root"] / "data" / "source" / "tiny", source)
    shutil.rmtree(source / "transactions" / "month=2025-12")
    data = tmp_path / "data"
    published = data / "published" / "churn_warning.duckdb"
    published.parent.mkdir(parents=True)
    shutil.copy(tiny_run["published"], published)
    before = hashlib.sha256(published.read_bytes()).hexdigest()
    env = dict(tiny_run["env"])
    env.update(
        {
            "CHURN_DATA_DIR": str(data),
            "CHURN_SOURCE_DIR": str(source),
            "AIRFLOW_HOME": str(tmp_path / "airflow"),
            "AIRFLOW_CONN_SMTP_DEFAULT": smtp_uri,
        }
    )
    result = run_main(env)
    assert result.returncode != 0
    assert "The last good snapshot stays" in result.stdout
    assert hashlib.sha256(published.read_bytes()).hexdigest() == before, "the published snapshot is untouched"
    assert not (data / "reports").exists(), "no report for a run that did not publish"

    to_transactions_owner = [m for m in mailbox.messages if "payments-data@bank.example" in m["rcpt_tos"]]
    assert to_transactions_owner, f"the transactions owner was alerted; got {[m['rcpt_tos'] for m in mailbox.messages]}"
    message = to_transactions_owner[0]
    assert "raw.transactions" in message["html"] and "critical" in message["html"].lower()
    assert "2025-12-31" in message["html"]
