"""The steps of the early-warning run, as plain functions the Airflow DAGs call.

Each step reads its inputs from the warehouse and writes its outputs back, so a step can be
rerun alone and a rerun for the same as_of_date replaces exactly what the first run wrote.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, is_dataclass

import pandas as pd

from include.config import ALERT_LEVELS, Settings
from include.publish import PublishedTable, publish_snapshot
from include.warehouse import connection, replace_partition, table_exists
from include.warning import assign_risk_levels, build_alerts, thresholds_from_history

log = logging.getLogger(__name__)


def _as_date(as_of_date) -> pd.Timestamp:
    return pd.Timestamp(as_of_date).normalize()


def _summary(report) -> dict:
    """A load report as plain JSON values, small enough for XCom."""
    return json.loads(json.dumps(asdict(report) if is_dataclass(report) else dict(report), default=str))


def ingest_sources(settings: Settings) -> list[dict]:
    """Load every contract table from the configured source into the raw schema (plan 3.3(1))."""
    from include import ingestion

    kind = settings.source_kind
    if kind == "files":
        reports = ingestion.ingest_files(settings.source_dir, settings.warehouse_path)
    elif kind == "postgres":
        reports = ingestion.ingest_postgres(settings.source_conn_id, settings.warehouse_path)
    elif kind == "api":
        reports = ingestion.ingest_api(settings.api_conn_id, settings.warehouse_path)
    elif kind == "mapping":
        if not settings.source_mapping:
            raise ValueError("CHURN_SOURCE_KIND=mapping needs CHURN_SOURCE_MAPPING (a mapping file)")
        reports = ingestion.ingest_mapped(settings.source_mapping, settings.warehouse_path)
    else:
        raise ValueError(f"unknown CHURN_SOURCE_KIND {kind!r}: expected files, postgres, api or mapping")
    return [_summary(r) for r in reports]


def run_quality_gate(settings: Settings, layer: str, *, as_of_date, run_id: str) -> dict:
    """Validate a layer; warnings notify the owners, a critical failure notifies them and raises.

    A notification that cannot be delivered (no SMTP server on a laptop, a webhook down) is
    logged and reported in the task's result; it never hides the data-quality outcome itself."""
    from include import quality

    output_dir = settings.quality_dir / run_id.replace(":", "_").replace("+", "_")
    not_applicable = None
    if layer == "raw" and settings.source_kind == "mapping" and settings.source_mapping:
        from include.ingestion.mapping import gate_exemptions

        # a one-snapshot export is not a feed: its feed-freshness checks are recorded as not applicable
        not_applicable = gate_exemptions(settings.source_mapping)
    try:
        result = quality.run_gate(
            layer,
            warehouse_path=settings.warehouse_path,
            as_of_date=_as_date(as_of_date).date().isoformat(),
            run_id=run_id,
            expectations_dir=settings.expectations_dir,
            output_dir=output_dir,
            not_applicable=not_applicable,
        )
    except quality.CriticalDataQualityError as error:
        _notify(settings, error.result)
        raise
    summary = result.summary()
    summary["notification_error"] = _notify(settings, result)
    return summary


def _notify(settings: Settings, result) -> str | None:
    from include import quality

    try:
        quality.notify_owners(result, smtp_conn_id=settings.smtp_conn_id, sender=settings.alert_from)
    except Exception as error:  # delivery problems must not mask the data-quality result
        log.error("data-quality owners could not be notified: %s", error)
        return str(error)
    return None


def _read(settings: Settings, sql: str, params: list | None = None) -> pd.DataFrame:
    with connection(settings.warehouse_path, read_only=True) as con:
        return con.execute(sql, params or []).df()


# A new installation's first run trains with this budget so the first warnings come in minutes;
# the monthly training DAG then runs the full search and backtest.
BOOTSTRAP_TRIAL_BUDGET = 4


def train_champion(settings: Settings, *, bootstrap: bool = False) -> dict:
    """Train the challengers on the labelled panel and register the champion (plan 2.3, 4.1)."""
    from ml.training import train_and_register

    panel = _read(settings, "select * from marts.training_panel")
    catalog = _read(settings, "select * from marts.indicator_catalog")
    if panel.empty:
        raise ValueError("marts.training_panel is empty: no labelled customer-months to train on")
    return train_and_register(
        panel,
        catalog,
        models_dir=settings.models_dir,
        seed=settings.seed,
        horizon_days=settings.label_horizon_days,
        trial_budget=min(BOOTSTRAP_TRIAL_BUDGET, settings.train_trial_budget) if bootstrap else settings.train_trial_budget,
        time_budget_s=settings.train_time_budget_s,
        backtest_origins=0 if bootstrap else settings.backtest_origins,
    )


def ensure_champion(settings: Settings) -> str:
    """The first run of a new installation has no model yet: train one quickly, else keep the champion."""
    from ml.registry import Registry

    champion = Registry(settings.models_dir).champion()
    if champion is not None:
        return champion
    return str(train_champion(settings, bootstrap=True)["model_version"])


def score_customers(settings: Settings, *, as_of_date, run_id: str) -> dict:
    """Score every customer of the scoring panel and turn the scores into risk levels."""
    from ml.scoring import score_panel

    day = _as_date(as_of_date)
    panel = _read(settings, "select * from marts.scoring_panel where as_of_date = ?", [day.date()])
    if panel.empty:
        raise ValueError(f"marts.scoring_panel has no customers for as_of_date {day.date()}")
    catalog = _read(settings, "select * from marts.indicator_catalog")
    scores, reasons = score_panel(panel, catalog, models_dir=settings.models_dir)
    missing = set(panel["customer_id"]) - set(scores["customer_id"])
    if missing:
        raise RuntimeError(f"scoring dropped {len(missing)} customers, e.g. {sorted(missing)[:5]}")

    history = _read(
        settings,
        "select avg(case when churned_within_horizon then 1.0 else 0.0 end) as rate "
        "from marts.training_panel where churned_within_horizon is not null",
    )
    thresholds = thresholds_from_history(float(history["rate"].iloc[0]))
    scores["risk_level"] = assign_risk_levels(scores["churn_probability"], thresholds).astype(str)
    scores["as_of_date"] = pd.to_datetime(scores["as_of_date"]).dt.date
    scores["run_id"] = run_id
    with connection(settings.warehouse_path) as con:
        replace_partition(con, scores, schema="warning", table="customer_risk_scores",
                          key_column="as_of_date", key_value=day.date())
        replace_partition(con, thresholds.to_frame(day), schema="warning", table="risk_parameters",
                          key_column="as_of_date", key_value=day.date())
        if reasons is not None and len(reasons):
            reasons = reasons.copy()
            reasons["as_of_date"] = pd.to_datetime(reasons["as_of_date"]).dt.date
            replace_partition(con, reasons, schema="warning", table="churn_reasons",
                              key_column="as_of_date", key_value=day.date())
    levels = scores["risk_level"].value_counts().to_dict()
    return {"customers_scored": len(scores), "risk_levels": levels, "cutoffs": thresholds.cutoffs}


def raise_alerts(settings: Settings, *, as_of_date, run_id: str) -> dict:
    """Alert table with owner, reasons and recommended retention action (plan 3.2(4), 3.3(7))."""
    day = _as_date(as_of_date)
    scores = _read(settings, "select * from warning.customer_risk_scores where as_of_date = ?", [day.date()])
    customers = _read(
        settings, "select customer_id, name, segment, relationship_manager_id, branch_id from raw.customers"
    )
    top_reasons = None
    with connection(settings.warehouse_path, read_only=True) as con:
        if table_exists(con, "warning", "churn_reasons"):
            top_reasons = con.execute(
                "select customer_id, family, indicator from warning.churn_reasons "
                "where as_of_date = ? and rank = 1",
                [day.date()],
            ).df()
    alerts = build_alerts(scores, customers, top_reasons=top_reasons, created_at=pd.Timestamp.now(tz="UTC"))
    alerts["as_of_date"] = pd.to_datetime(alerts["as_of_date"]).dt.date
    alerts["run_id"] = run_id
    with connection(settings.warehouse_path) as con:
        replace_partition(con, alerts, schema="warning", table="churn_alerts",
                          key_column="as_of_date", key_value=day.date())
    counts = alerts["risk_level"].value_counts().to_dict()
    return {"alerts": len(alerts), **{level: int(counts.get(level, 0)) for level in ALERT_LEVELS}}


def snapshot_tables(settings: Settings) -> dict[str, PublishedTable]:
    """What BI reads. Names are stable: dashboards are built on them."""
    from ml.registry import Registry

    return {
        "customer_risk_scores": PublishedTable(
            source="warning.customer_risk_scores",
            columns="customer_id, as_of_date, churn_probability, risk_level, model_version, scored_at, "
            "* exclude (customer_id, as_of_date, churn_probability, risk_level, model_version, scored_at)",
        ),
        "churn_alerts": PublishedTable(source="warning.churn_alerts"),
        "churn_reasons": PublishedTable(source="warning.churn_reasons", required=False),
        "risk_parameters": PublishedTable(source="warning.risk_parameters"),
        "indicator_catalog": PublishedTable(source="marts.indicator_catalog", required=False),
        "customer_segments": PublishedTable(source="marts.customer_segments", required=False),
        "data_quality_results": PublishedTable(source="quality.data_quality_results", required=False),
        "model_registry": PublishedTable(frame=Registry(settings.models_dir).to_frame()),
    }


def publish(settings: Settings, *, as_of_date, run_id: str) -> dict:
    counts = publish_snapshot(
        settings.warehouse_path,
        settings.published_path,
        snapshot_tables(settings),
        run_id=run_id,
        as_of_date=_as_date(as_of_date).date().isoformat(),
    )
    return {"published_path": str(settings.published_path), "row_counts": counts}


def render_report(settings: Settings, *, as_of_date, run_id: str) -> str:
    from include.report import write_report

    day = _as_date(as_of_date).date().isoformat()
    path = settings.reports_dir / day / "churn_warning_report.html"
    write_report(settings.published_path, path, as_of_date=day, run_id=run_id)
    return str(path)


def build_mapped_warehouse(mapping: str, warehouse_path, *, source_path=None, work_dir=None,
                           label_horizon_days: int = 90, memory_limit: str = "4GB") -> str:
    """A warehouse built from a one-snapshot export through its mapping: ingest, then ``dbt build``
    for the mapping's as_of_date, with the label window observed (data_end_date = as_of_date +
    horizon: the export's label is the known outcome). Returns the as_of_date (ISO).

    What ``ml.evaluate --churn-modelling`` measures on, without Airflow or the gates; the daily DAG
    does the same steps with the gates in between."""
    import os
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    from include import ingestion
    from include.config import PROJECT_ROOT
    from include.ingestion.mapping import mapping_as_of_date

    as_of = mapping_as_of_date(mapping)
    if as_of is None:
        raise ValueError(f"mapping {mapping} names no as_of_date: it is not a one-snapshot export")
    ingestion.ingest_mapped(mapping, warehouse_path, source_path=source_path)
    end = (pd.Timestamp(as_of) + pd.Timedelta(days=label_horizon_days)).date().isoformat()
    variables = {"as_of_date": as_of.isoformat(), "data_end_date": end, "label_horizon_days": label_horizon_days}
    work = Path(work_dir or tempfile.mkdtemp(prefix="churn-dbt-"))
    project = PROJECT_ROOT / "dbt_project"
    command = [str(Path(sys.executable).with_name("dbt")), "build", "--project-dir", str(project),
               "--profiles-dir", str(project), "--target-path", str(work / "target"),
               "--log-path", str(work / "logs"), "--vars", json.dumps(variables), "--quiet"]
    env = dict(os.environ, CHURN_WAREHOUSE=str(Path(warehouse_path).resolve()),
               CHURN_DUCKDB_MEMORY_LIMIT=memory_limit)
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"dbt build failed on the {mapping} warehouse:\n{result.stdout[-3000:]}{result.stderr[-2000:]}")
    return as_of.isoformat()
