"""The one place that reads the environment.

Every other module takes its paths and parameters as arguments; DAGs and command-line entry
points call :func:`get_settings` and pass the values on. Defaults are the embedded laptop
set-up: a DuckDB file under ``data/`` and a SQLite Airflow metadata DB under ``.airflow/``.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Sizes of the synthetic bank (see docs/data_contract.md and include/bank_simulator).
DEFAULT_SIZE = "demo"

# Risk levels, most severe first. Documented in docs/warning_levels.md.
RISK_LEVELS = ("red", "orange", "yellow", "green")
ALERT_LEVELS = ("red", "orange", "yellow")


def _path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


@dataclass(frozen=True)
class Settings:
    project_root: Path = PROJECT_ROOT
    data_dir: Path = field(default_factory=lambda: _path("CHURN_DATA_DIR", PROJECT_ROOT / "data"))
    size: str = field(default_factory=lambda: os.environ.get("CHURN_SIZE", DEFAULT_SIZE))
    seed: int = field(default_factory=lambda: int(os.environ.get("CHURN_SEED", "42")))
    label_horizon_days: int = field(default_factory=lambda: int(os.environ.get("CHURN_LABEL_HORIZON_DAYS", "90")))
    duckdb_memory_limit: str = field(default_factory=lambda: os.environ.get("CHURN_DUCKDB_MEMORY_LIMIT", "6GB"))
    duckdb_threads: int = field(default_factory=lambda: int(os.environ.get("CHURN_DUCKDB_THREADS", "2")))
    # Where the raw data comes from: "files" (simulator output or a bank's export), "postgres",
    # "api", or "mapping" (a bank's CSV export through a declarative mapping file).
    source_kind: str = field(default_factory=lambda: os.environ.get("CHURN_SOURCE_KIND", "files"))
    source_mapping: str | None = field(default_factory=lambda: os.environ.get("CHURN_SOURCE_MAPPING"))
    source_conn_id: str = field(default_factory=lambda: os.environ.get("CHURN_SOURCE_CONN_ID", "churn_source_postgres"))
    api_conn_id: str = field(default_factory=lambda: os.environ.get("CHURN_API_CONN_ID", "churn_source_api"))
    smtp_conn_id: str = field(default_factory=lambda: os.environ.get("CHURN_SMTP_CONN_ID", "smtp_default"))
    # Last date the data covers (labels need as_of_date + horizon on or before it). Unset: the
    # latest month-end in the data. A one-snapshot export whose outcome is known sets it.
    data_end_date: str | None = field(default_factory=lambda: os.environ.get("CHURN_DATA_END_DATE") or None)
    # Scheduled runs retry transient failures; `make run` sets 0 so a failure surfaces at once.
    task_retries: int = field(default_factory=lambda: int(os.environ.get("CHURN_TASK_RETRIES", "2")))
    # Bounds of the XGBoost hyper-parameter search and of the rolling-origin backtest per training.
    train_trial_budget: int = field(default_factory=lambda: int(os.environ.get("CHURN_TRAIN_TRIAL_BUDGET", "20")))
    train_time_budget_s: float = field(default_factory=lambda: float(os.environ.get("CHURN_TRAIN_TIME_BUDGET_S", "900")))
    backtest_origins: int = field(default_factory=lambda: int(os.environ.get("CHURN_BACKTEST_ORIGINS", "6")))
    alert_from: str = field(default_factory=lambda: os.environ.get("CHURN_ALERT_FROM", "churn-warning@localhost"))

    @property
    def source_dir(self) -> Path:
        return _path("CHURN_SOURCE_DIR", self.data_dir / "source" / self.size)

    @property
    def truth_dir(self) -> Path:
        return _path("CHURN_TRUTH_DIR", self.data_dir / "truth" / self.size)

    @property
    def warehouse_path(self) -> Path:
        return _path("CHURN_WAREHOUSE", self.data_dir / "warehouse.duckdb")

    @property
    def published_dir(self) -> Path:
        return _path("CHURN_PUBLISHED_DIR", self.data_dir / "published")

    @property
    def published_path(self) -> Path:
        return self.published_dir / "churn_warning.duckdb"

    @property
    def reports_dir(self) -> Path:
        return _path("CHURN_REPORTS_DIR", self.data_dir / "reports")

    @property
    def quality_dir(self) -> Path:
        return _path("CHURN_QUALITY_DIR", self.data_dir / "quality")

    @property
    def models_dir(self) -> Path:
        return _path("CHURN_MODELS_DIR", self.project_root / "models")

    @property
    def dbt_project_dir(self) -> Path:
        return self.project_root / "dbt_project"

    @property
    def expectations_dir(self) -> Path:
        return self.project_root / "expectations"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def airflow_environment(settings: Settings, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for the embedded Airflow (``make run``, ``make airflow``): SQLite metadata under
    ``.airflow/``, the project's DAGs, no examples. Values already set in the environment win, so
    the same commands run against a production configuration."""
    env = dict(os.environ if base is None else base)
    home = Path(env.get("AIRFLOW_HOME") or settings.project_root / ".airflow")
    env["AIRFLOW_HOME"] = str(home)
    env.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(settings.project_root / "dags"))
    env.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    env.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home / 'airflow.db'}")
    env.setdefault("AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT", "120")
    env.setdefault("CHURN_SIZE", settings.size)
    env.setdefault("CHURN_DATA_DIR", str(settings.data_dir))
    # Airflow starts its components as `airflow ...` subprocesses: the venv's scripts come first.
    env["PATH"] = os.pathsep.join(p for p in (str(Path(sys.executable).parent), env.get("PATH")) if p)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(settings.project_root), env.get("PYTHONPATH")) if p)
    return env
