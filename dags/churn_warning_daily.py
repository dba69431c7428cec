"""
### Churn early warning: the daily run

Collects the day's data, rebuilds the indicator system, checks it, scores every customer,
raises alerts with reasons and recommended actions, and publishes a read-only snapshot for BI
with an HTML report (source plan 4.1: collect → preprocess → features → model → evaluate →
output warnings → publish).

* **as_of_date**: the logical date of the run (`ds`); a manual run may set `params.as_of_date`.
* **Gates**: a critical data-quality failure stops the run before scoring and publishing, so
  the last good snapshot stays in place; warnings notify the data owners and the run goes on.
* **Reruns** of the same as_of_date replace exactly what the earlier run wrote.
* Runs also when a new champion model is promoted (asset `churn_model_champion`).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, AssetOrTimeSchedule, CronDataIntervalTimetable, Param, task

from include.assets import INDICATOR_MARTS, MODEL_CHAMPION, PUBLISHED_SNAPSHOT
from include.config import get_settings
from include.orchestration import AS_OF_DATE_TEMPLATE, DEFAULT_ARGS, WAREHOUSE_POOL, dbt_task_group

RUN = {"as_of_date": AS_OF_DATE_TEMPLATE, "run_id": "{{ run_id }}"}


@task(pool=WAREHOUSE_POOL)
def ingest_raw() -> list[dict]:
    from include.pipeline import ingest_sources

    return ingest_sources(get_settings())


@task(pool=WAREHOUSE_POOL)
def validate(layer: str, as_of_date: str, run_id: str) -> dict:
    from airflow.sdk.exceptions import AirflowFailException

    from include.pipeline import run_quality_gate
    from include.quality import CriticalDataQualityError

    try:
        return run_quality_gate(get_settings(), layer, as_of_date=as_of_date, run_id=run_id)
    except CriticalDataQualityError as error:
        # bad data does not heal by retrying: fail now, the owners are already notified
        raise AirflowFailException(str(error)) from error


@task(pool=WAREHOUSE_POOL)
def ensure_champion() -> str:
    from include.pipeline import ensure_champion as ensure

    return ensure(get_settings())


@task(pool=WAREHOUSE_POOL)
def score_customers(as_of_date: str, run_id: str) -> dict:
    from include.pipeline import score_customers as score

    return score(get_settings(), as_of_date=as_of_date, run_id=run_id)


@task(pool=WAREHOUSE_POOL)
def raise_alerts(as_of_date: str, run_id: str) -> dict:
    from include.pipeline import raise_alerts as alerts

    return alerts(get_settings(), as_of_date=as_of_date, run_id=run_id)


@task(pool=WAREHOUSE_POOL, outlets=[PUBLISHED_SNAPSHOT])
def publish_snapshot(as_of_date: str, run_id: str) -> dict:
    from include.pipeline import publish

    return publish(get_settings(), as_of_date=as_of_date, run_id=run_id)


@task
def render_report(as_of_date: str, run_id: str) -> str:
    from include.pipeline import render_report as render

    return render(get_settings(), as_of_date=as_of_date, run_id=run_id)


with DAG(
    dag_id="churn_warning_daily",
    description="Daily churn early warning: ingest, indicators, quality gates, scoring, alerts, publish.",
    schedule=AssetOrTimeSchedule(
        timetable=CronDataIntervalTimetable("0 2 * * *", timezone="UTC"), assets=[MODEL_CHAMPION]
    ),
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["churn-warning", "daily", "scoring"],
    doc_md=__doc__,
    params={"as_of_date": Param(None, type=["null", "string"], description="Override the as-of date (YYYY-MM-DD).")},
) as dag:
    settings = get_settings()
    raw = ingest_raw()
    raw_checked = validate.override(task_id="validate_raw")("raw", **RUN)
    staging = dbt_task_group(
        settings, "dbt_staging", ["path:models/staging", "path:models/intermediate"], tests_need_all_parents=True
    )
    staging_checked = validate.override(task_id="validate_staging")("staging", **RUN)
    marts = dbt_task_group(settings, "dbt_marts", ["path:models/marts"])
    marts_checked = validate.override(task_id="validate_indicators", outlets=[INDICATOR_MARTS])("marts", **RUN)
    champion = ensure_champion()
    scored = score_customers(**RUN)
    alerted = raise_alerts(**RUN)
    published = publish_snapshot(**RUN)
    report = render_report(**RUN)

    raw >> raw_checked >> staging >> staging_checked >> marts >> marts_checked >> champion
    champion >> scored >> alerted >> published >> report
