"""Airflow assets that connect the DAGs: training publishes a champion, scoring consumes it."""

from airflow.sdk import Asset

MODEL_CHAMPION = Asset(name="churn_model_champion", uri="file:///churn-warning/models/champion")
PUBLISHED_SNAPSHOT = Asset(name="churn_warning_published", uri="file:///churn-warning/published/churn_warning.duckdb")
INDICATOR_MARTS = Asset(name="churn_indicator_marts", uri="file:///churn-warning/warehouse/marts")
