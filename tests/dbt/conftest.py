"""Fixtures for the dbt tests: a toy raw schema (tests/dbt/dbt_raw_fixture.py) and real
`dbt build` / `dbt run` invocations through dbtRunner, in process, on scratch DuckDB files.

Every invocation writes its target/ and logs under a per-session temporary folder, so these
tests never touch dbt_project/target (used by the Airflow DAG's manifest) or the project's
warehouse.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tests.dbt.dbt_raw_fixture import build_toy_warehouse

PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
AS_OF_DATE = "2025-12-31"
# The PIT test's date: half-way, so that later rows exist in every table.
PIT_DATE = "2025-06-30"


class DbtInvoker:
    def __init__(self, work_dir: Path):
        self.target_path = work_dir / "target"
        self.log_path = work_dir / "logs"

    def __call__(self, command: str, warehouse: Path, variables: dict | None = None, *args: str) -> None:
        from dbt.cli.main import dbtRunner

        os.environ["CHURN_WAREHOUSE"] = str(warehouse)
        os.environ.setdefault("CHURN_DUCKDB_MEMORY_LIMIT", "2GB")
        argv = [
            *command.split(),
            "--project-dir", str(PROJECT_DIR),
            "--profiles-dir", str(PROJECT_DIR),
            "--target-path", str(self.target_path),
            "--log-path", str(self.log_path),
            "--vars", json.dumps(variables or {}),
            "--quiet",
            *args,
        ]
        try:
            result = dbtRunner().invoke(argv)
        finally:
            _release_duckdb()
        if not result.success:
            failures = []
            for node in getattr(result.result, "results", None) or []:
                if str(node.status) not in ("success", "pass", "skipped"):
                    failures.append(f"{node.node.name}: {node.status} {node.message}")
            raise AssertionError(f"dbt {command} failed: {result.exception or ''} {failures}")


def _release_duckdb() -> None:
    """dbt-duckdb keeps its DuckDB instance open in the process after an in-process run; a
    later plain duckdb.connect() on the same file then fails (different configuration). Close it."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None


@pytest.fixture(scope="session")
def dbt(tmp_path_factory) -> DbtInvoker:
    return DbtInvoker(tmp_path_factory.mktemp("dbt_work"))


@pytest.fixture(scope="session")
def toy_raw(tmp_path_factory) -> tuple[Path, dict[str, pd.DataFrame]]:
    """A warehouse holding only the toy raw schema, and the frames it was made from."""
    path = tmp_path_factory.mktemp("toy_raw") / "warehouse.duckdb"
    frames = build_toy_warehouse(path)
    return path, frames


@pytest.fixture(scope="session")
def toy_built(toy_raw, dbt, tmp_path_factory) -> Path:
    """The toy warehouse after a full `dbt build` (models and all data tests) for AS_OF_DATE."""
    path = tmp_path_factory.mktemp("toy_built") / "warehouse.duckdb"
    shutil.copy(toy_raw[0], path)
    dbt("build", path, {"as_of_date": AS_OF_DATE})
    return path


@pytest.fixture
def toy_copy(toy_built, tmp_path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(toy_built, path)
    return path


def query(path: Path, sql: str, params: list | None = None) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params or []).df()


def execute(path: Path, *statements: str) -> None:
    with duckdb.connect(str(path)) as con:
        for statement in statements:
            con.execute(statement)
