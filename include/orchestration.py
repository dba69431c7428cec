"""Airflow wiring shared by the DAG files: Cosmos task groups for the dbt layers, assets, pools.

DAG files stay declarative; what they share lives here. Nothing here runs dbt or opens the
warehouse at import time.
"""

from __future__ import annotations

from datetime import timedelta

from include.config import Settings, get_settings

# One writer at a time on the DuckDB file: every task that writes the warehouse runs in this pool.
WAREHOUSE_POOL = "duckdb_warehouse"

DEFAULT_ARGS = {
    "owner": "churn-data-engineering",
    "retries": get_settings().task_retries,
    "retry_delay": timedelta(minutes=5),
    "retry_exponential_backoff": True,
}

# The run's as-of date: a manual run may pass params.as_of_date; a scheduled daily run covers
# the day of its data interval (its logical date).
AS_OF_DATE_TEMPLATE = "{{ params.as_of_date or ds }}"


def dbt_task_group(
    settings: Settings, group_id: str, select: list[str], *, tests_need_all_parents: bool = False,
    extra_vars: dict | None = None,
):
    """A Cosmos DbtTaskGroup for one dbt layer: one Airflow task per model (``dbt run``), then one
    task with the layer's tests, run in-process by dbtRunner.

    ``tests_need_all_parents`` (dbt's cautious indirect selection) keeps a test that also reads a
    later layer, such as a relationship from a mart to a staging model, out of an earlier layer's
    test task; the later layer's test task runs it once both sides are built."""
    from cosmos import DbtTaskGroup, ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
    from cosmos.constants import InvocationMode, LoadMode, TestBehavior

    project_dir = settings.dbt_project_dir
    dbt_vars = {"as_of_date": AS_OF_DATE_TEMPLATE, "label_horizon_days": settings.label_horizon_days}
    if settings.data_end_date:
        dbt_vars["data_end_date"] = settings.data_end_date
    dbt_vars.update(extra_vars or {})
    return DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(
            dbt_project_path=project_dir,
            manifest_path=project_dir / "target" / "manifest.json",
            install_dbt_deps=False,
        ),
        profile_config=ProfileConfig(
            profile_name="churn_warning",
            target_name="dev",
            profiles_yml_filepath=project_dir / "profiles.yml",
        ),
        execution_config=ExecutionConfig(invocation_mode=InvocationMode.DBT_RUNNER),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            select=select,
            test_behavior=TestBehavior.AFTER_ALL,
            enable_mock_profile=False,
        ),
        operator_args={
            "vars": dbt_vars,
            "env": {
                "CHURN_WAREHOUSE": str(settings.warehouse_path),
                "CHURN_DUCKDB_MEMORY_LIMIT": settings.duckdb_memory_limit,
            },
            "install_deps": False,
            "dbt_cmd_flags": ["--indirect-selection", "cautious" if tests_need_all_parents else "eager"],
            "pool": WAREHOUSE_POOL,
        },
    )
