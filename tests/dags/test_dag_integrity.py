"""Every DAG file imports cleanly, declares owners, tags, retries and docs, and parsing it touches
neither a database nor the network (the scheduler parses DAG files constantly)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DAGS = sorted(p.name for p in (PROJECT_ROOT / "dags").glob("*.py") if not p.name.startswith("_"))

PARSE_SCRIPT = textwrap.dedent(
    """
    import json, socket, sys
    import duckdb

    def forbidden(*args, **kwargs):
        raise RuntimeError("DAG parsing must not open connections")

    socket.socket.connect = forbidden
    socket.create_connection = forbidden
    duckdb.connect = forbidden

    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=sys.argv[1], safe_mode=False)
    out = {"errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": {}}
    for dag_id, dag in bag.dags.items():
        out["dags"][dag_id] = {
            "file": dag.fileloc,
            "tags": sorted(dag.tags),
            "doc_md": bool(dag.doc_md and len(dag.doc_md) > 80),
            "tasks": {
                t.task_id: {"owner": t.owner, "retries": t.retries, "pool": t.pool, "operator": type(t).__name__,
                            "upstream": sorted(t.upstream_task_ids)} for t in dag.tasks
            },
        }
    print("RESULT" + json.dumps(out))
    """
)


@pytest.fixture(scope="module")
def parsed(tmp_path_factory) -> dict:
    from include.dbt_manifest import ensure_manifest

    ensure_manifest(PROJECT_ROOT / "dbt_project")
    home = tmp_path_factory.mktemp("airflow_home")
    env = {k: v for k, v in os.environ.items() if k != "CHURN_TASK_RETRIES"}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            # a metadata DB in a folder that does not exist: any query at parse time would fail
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/missing/dir/airflow.db",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "CHURN_WAREHOUSE": str(home / "no-warehouse.duckdb"),
        }
    )
    result = subprocess.run(
        [sys.executable, "-c", PARSE_SCRIPT, str(PROJECT_ROOT / "dags")],
        env=env, capture_output=True, text=True, timeout=300, cwd=PROJECT_ROOT,
    )
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("RESULT")), None)
    assert line, f"DAG parsing crashed:\n{result.stderr[-4000:]}"
    return json.loads(line[len("RESULT"):])


def test_dag_files_import_without_errors(parsed):
    assert parsed["errors"] == {}
    files = {Path(d["file"]).name for d in parsed["dags"].values()}
    assert files == set(DAGS), "every DAG file defines a DAG"


def test_expected_dags_exist(parsed):
    assert {"churn_warning_daily", "churn_model_training"} <= set(parsed["dags"])


@pytest.mark.parametrize("dag_id", ["churn_warning_daily", "churn_model_training"])
def test_dags_have_owners_tags_retries_and_docs(parsed, dag_id):
    dag = parsed["dags"][dag_id]
    assert "churn-warning" in dag["tags"]
    assert dag["doc_md"], f"{dag_id} needs doc_md"
    for task_id, task in dag["tasks"].items():
        assert task["owner"] and task["owner"] != "airflow", f"{dag_id}.{task_id} has no owner"
        assert task["retries"] >= 1, f"{dag_id}.{task_id} has no retries"


def test_daily_dag_orders_gates_before_scoring_and_publishing(parsed):
    tasks = parsed["dags"]["churn_warning_daily"]["tasks"]
    for expected in ("ingest_raw", "validate_raw", "validate_staging", "validate_indicators",
                     "score_customers", "raise_alerts", "publish_snapshot", "render_report"):
        assert expected in tasks
    dbt_tasks = [t for t in tasks if t.startswith(("dbt_staging.", "dbt_marts."))]
    assert dbt_tasks, "the dbt layers are rendered as Cosmos task groups"
    # ephemeral dbt models render as EmptyOperator: they run nothing
    writers = [t for t, spec in tasks.items() if t != "render_report" and spec["operator"] != "EmptyOperator"]
    assert all(tasks[t]["pool"] == "duckdb_warehouse" for t in writers), "warehouse writers share one pool"

    def ancestors(task_id: str) -> set[str]:
        seen, todo = set(), [task_id]
        while todo:
            for up in tasks[todo.pop()]["upstream"]:
                if up not in seen:
                    seen.add(up)
                    todo.append(up)
        return seen

    gates = {"validate_raw", "validate_staging", "validate_indicators"}
    assert gates <= ancestors("score_customers"), "no scoring before every gate passed"
    assert gates | {"score_customers", "raise_alerts"} <= ancestors("publish_snapshot")
    assert set(dbt_tasks) <= ancestors("validate_indicators")
    assert "validate_raw" in ancestors(next(t for t in dbt_tasks if t.startswith("dbt_staging.")))
