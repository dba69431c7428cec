"""The dbt models lint clean with sqlfluff (dbt templater, DuckDB dialect; rules in .sqlfluff)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.dbt.conftest import PROJECT_DIR

pytestmark = pytest.mark.integration


def test_models_lint_clean(tmp_path):
    env = dict(os.environ, CHURN_WAREHOUSE=str(tmp_path / "lint.duckdb"))
    result = subprocess.run(
        [sys.executable, "-m", "sqlfluff", "lint", "dbt_project/models", "--processes", "2",
         "--format", "github-annotation-native", "--nofail"],
        cwd=PROJECT_DIR.parent, env=env, capture_output=True, text=True, timeout=300,
    )
    violations = [line for line in result.stdout.splitlines() if line.startswith("::")]
    assert "Project Compiled" in result.stderr + result.stdout or not result.returncode, result.stderr[-2000:]
    assert violations == [], "\n".join(violations)
    # the linter really read the models (a templating failure is not a clean lint)
    assert "TMP" not in result.stdout and "Traceback" not in result.stderr
