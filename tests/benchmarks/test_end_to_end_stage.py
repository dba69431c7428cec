"""The arithmetic of the end_to_end stage: how wall time splits into work and orchestration.

The stage itself runs the main DAG (minutes at demo), so it is exercised by ``make bench``; here
its pure parts are checked on hand-built runs.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from benchmarks.stages import end_to_end as stage

T0 = datetime(2026, 1, 1, 2, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def task(task_id: str, start: float, end: float) -> dict:
    return {"task_id": task_id, "start": at(start), "end": at(end), "duration_s": end - start,
            "try_number": 1, "state": "success", "map_index": -1}


def test_union_counts_overlapping_tasks_once() -> None:
    intervals = [(at(0), at(10)), (at(5), at(12)), (at(20), at(25)), (at(21), at(22))]
    assert stage.union_seconds(intervals) == pytest.approx(17.0)
    assert stage.union_seconds([]) == 0.0


def test_breakdown_splits_wall_time_into_work_and_orchestration() -> None:
    tasks = [task("ingest_raw", 10, 30), task("dbt_marts.customer_indicators_run", 32, 52), task("publish", 55, 60)]
    breakdown = stage.orchestration_breakdown(
        started=T0, finished=at(80), tasks=tasks, dbt_own_s=None,
    )
    assert breakdown["total_wall_s"] == 80
    assert breakdown["task_time_s"] == 45
    assert breakdown["steps_work_s"] == 45
    assert breakdown["orchestration_and_startup_s"] == 35
    assert breakdown["orchestration_share"] == pytest.approx(35 / 80, abs=1e-4)
    assert breakdown["before_first_task_s"] == 10
    assert breakdown["gaps_between_tasks_s"] == 50 - 45
    assert breakdown["after_last_task_s"] == 20
    assert breakdown["dbt_startup_measured"] is False


def test_dbt_start_up_inside_its_tasks_counts_as_start_up() -> None:
    tasks = [task("ingest_raw", 0, 10), task("dbt_staging.stg_customers_run", 10, 20)]
    log = (
        "... Finished running 1 view model, 3 data tests in 0 hours 0 minutes and 2.50 seconds (2.50s).\n"
        "... Finished running 1 table model in 0 hours 0 minutes and 1.50 seconds (1.50s).\n"
    )
    own = stage.dbt_own_seconds(log)
    assert own == pytest.approx(4.0)
    breakdown = stage.orchestration_breakdown(
        started=T0, finished=at(25), tasks=tasks, dbt_own_s=own,
    )
    assert breakdown["dbt_startup_in_tasks_s"] == pytest.approx(6.0)
    assert breakdown["steps_work_s"] == pytest.approx(14.0)
    assert breakdown["orchestration_share"] == pytest.approx(11 / 25, abs=1e-4)


def test_no_dbt_lines_means_no_dbt_correction() -> None:
    assert stage.dbt_own_seconds("[airflow] end task ingest_raw\n") is None


def test_the_first_task_error_is_read_from_the_airflow_log() -> None:
    log = """2026-11-28T14:47:40.278479Z [info     ] raw gate for 2025-12-31: 158 expectations
2026-11-28T14:47:40.278942Z [error    ] Task failed with exception     [task] loc=task_runner.py:1673
Traceback (most recent call last):
  File "/work/main/include/pipeline.py", line 68, in run_quality_gate
    quality.notify_owners(result)
AttributeError: module 'include.quality' has no attribute 'notify_owners'
2026-11-28T14:47:40.280658Z [info     ] ::group::Post Execute          [task]
2026-11-28T14:49:00.000000Z [error    ] Task failed with exception     [task]
ValueError: a later failure
"""
    assert stage.first_task_error(log) == "AttributeError: module 'include.quality' has no attribute 'notify_owners'"
    assert stage.first_task_error("2026-11-28T14:47:40Z [info] all good\n") is None
    multi_line = """2026-11-28T14:57:00.39Z [error    ] Task failed with exception     [task]
Traceback (most recent call last):
  File "/venv/cosmos/dbt/runner.py", line 156, in handle_exception_if_needed
    raise CosmosDbtRunError(f"dbt invocation completed with errors: {error_message}")
cosmos.exceptions.CosmosDbtRunError: dbt invocation completed with errors: Runtime Error in test
  Catalog Error: Table with name stg_products does not exist!
  LINE 17:     from "warehouse"."staging"."stg_products"
                    ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
2026-11-28T14:57:00.40Z [info     ] ::group::Post Execute          [task]
"""
    assert stage.first_task_error(multi_line) == (
        "cosmos.exceptions.CosmosDbtRunError: dbt invocation completed with errors: Runtime Error in test"
    )
