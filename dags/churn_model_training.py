"""
### Churn models: monthly training

Trains the challengers (logistic regression, decision tree, linear SVM, XGBoost) on the
labelled customer-month panel that the daily run maintains, picks the champion on the
validation window and registers it (source plan 2.3, 5.2). Runs monthly and on demand; a new
champion updates the asset `churn_model_champion`, which triggers the daily scoring run.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, CronDataIntervalTimetable, task

from include.assets import MODEL_CHAMPION
from include.config import get_settings
from include.orchestration import DEFAULT_ARGS, WAREHOUSE_POOL


@task(pool=WAREHOUSE_POOL, outlets=[MODEL_CHAMPION])
def train_models() -> dict:
    from include.pipeline import train_champion

    result = train_champion(get_settings())
    return {key: value for key, value in result.items() if isinstance(value, str | int | float | bool)}


with DAG(
    dag_id="churn_model_training",
    description="Monthly training of the churn challengers; registers and promotes the champion.",
    schedule=CronDataIntervalTimetable("0 4 1 * *", timezone="UTC"),
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["churn-warning", "monthly", "training"],
    doc_md=__doc__,
) as dag:
    train_models()
