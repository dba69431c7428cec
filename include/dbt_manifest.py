"""Keeps dbt_project/target/manifest.json current.

The Airflow DAGs render the dbt project from this manifest (Cosmos LoadMode.DBT_MANIFEST), so
parsing a DAG file never runs dbt, touches the warehouse or the network. ``make`` and the test
suite call :func:`ensure_manifest` before Airflow reads the DAGs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from include.config import get_settings

WATCHED_SUFFIXES = {".sql", ".yml", ".yaml", ".csv", ".md"}


def manifest_path(project_dir: Path) -> Path:
    return project_dir / "target" / "manifest.json"


def is_stale(project_dir: Path) -> bool:
    manifest = manifest_path(project_dir)
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    for path in project_dir.rglob("*"):
        if "target" in path.parts or "logs" in path.parts or path.suffix not in WATCHED_SUFFIXES:
            continue
        if path.stat().st_mtime > built:
            return True
    return False


def ensure_manifest(project_dir: Path | None = None, *, force: bool = False) -> Path:
    from dbt.cli.main import dbtRunner

    project_dir = project_dir or get_settings().dbt_project_dir
    if force or is_stale(project_dir):
        # parse needs no warehouse; the profile's path is only read, never opened
        env_before = os.environ.get("CHURN_WAREHOUSE")
        os.environ.setdefault("CHURN_WAREHOUSE", str(get_settings().warehouse_path))
        try:
            result = dbtRunner().invoke(
                ["parse", "--project-dir", str(project_dir), "--profiles-dir", str(project_dir), "--quiet"]
            )
        finally:
            if env_before is None:
                os.environ.pop("CHURN_WAREHOUSE", None)
        if not result.success:
            raise RuntimeError(f"dbt parse failed for {project_dir}: {result.exception}")
    return manifest_path(project_dir)


if __name__ == "__main__":
    print(ensure_manifest(force="--force" in sys.argv))
