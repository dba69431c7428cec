"""``make run``: the whole early-warning flow once, through Airflow, on the embedded defaults.

1. generates the synthetic bank for the chosen size if its data is absent;
2. prepares the embedded Airflow (SQLite metadata DB under .airflow/, the warehouse pool);
3. runs the DAG ``churn_warning_daily`` once with ``airflow dags test`` for the as-of date;
4. prints what the run produced and where.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd

from include.config import ALERT_LEVELS, Settings, airflow_environment, get_settings
from include.orchestration import WAREHOUSE_POOL
from include.warehouse import scalar

MAIN_DAG = "churn_warning_daily"


def ensure_source_data(settings: Settings) -> dict:
    if settings.source_kind == "mapping":
        return mapping_run(settings)
    manifest_path = settings.source_dir / "_manifest.json"
    if settings.source_kind == "files" and not manifest_path.exists():
        from include.bank_simulator import generate

        print(f"[run] generating the {settings.size} synthetic bank into {settings.source_dir} ...", flush=True)
        generate(settings.source_dir, settings.truth_dir, size=settings.size, seed=settings.seed)
    if manifest_path.exists():
        return json.loads(manifest_path.read_text())
    return {}


def mapping_run(settings: Settings) -> dict:
    """A bank's one-snapshot export (e.g. Churn_Modelling.csv): the mapping file names the as-of
    date, and its label is the observed outcome, so the data covers the whole label horizon."""
    from include.ingestion.mapping import MappingError, mapping_as_of_date, resolve_mapping

    if not settings.source_mapping:
        raise SystemExit("CHURN_SOURCE_KIND=mapping needs CHURN_SOURCE_MAPPING: a mapping file or a name of "
                         "include/mappings/, e.g. churn_modelling")
    try:
        path = resolve_mapping(settings.source_mapping)
    except MappingError as error:
        raise SystemExit(str(error)) from None
    # Airflow's tasks get the resolved file, whatever the working directory.
    os.environ["CHURN_SOURCE_MAPPING"] = str(path)
    as_of = mapping_as_of_date(path)
    if as_of is None:
        raise SystemExit(f"{settings.source_mapping} names no as_of_date; pass --as-of-date")
    if not settings.data_end_date:
        end = pd.Timestamp(as_of) + pd.Timedelta(days=settings.label_horizon_days)
        os.environ["CHURN_DATA_END_DATE"] = end.date().isoformat()
    print(f"[run] source: {path} as of {as_of}", flush=True)
    return {"end_month_end": str(as_of)}


def default_as_of_date(manifest: dict) -> str:
    for key in ("end_month_end", "last_month_end", "end_date", "as_of_date"):
        if manifest.get(key):
            return str(manifest[key])[:10]
    raise SystemExit("no as-of date: pass --as-of-date YYYY-MM-DD (the source has no _manifest.json)")


def prepare_airflow(settings: Settings, env: dict[str, str]) -> None:
    from include.dbt_manifest import ensure_manifest

    ensure_manifest(settings.dbt_project_dir)
    home = Path(env["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(
        [airflow, "pools", "set", WAREHOUSE_POOL, "1", "One writer at a time on the DuckDB warehouse"],
        env=env, check=True, stdout=subprocess.DEVNULL,
    )


def run_dag(settings: Settings, env: dict[str, str], as_of_date: str, log_path: Path) -> int:
    airflow = str(Path(sys.executable).with_name("airflow"))
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [airflow, "dags", "test", MAIN_DAG, as_of_date]
    print(f"[run] {' '.join(command[1:])} (full log: {log_path})", flush=True)
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert process.stdout is not None
        for line in process.stdout:
            log.write(line)
            if "[DAG TEST] end task" in line or "DagRun Finished" in line or "Task failed" in line:
                print("[airflow] " + line.split("]", 1)[-1].strip()[:160], flush=True)
        returncode = process.wait()
    if returncode == 0:
        # `airflow dags test` can exit 0 with a failed run; the published run id is the proof.
        text = log_path.read_text(encoding="utf-8")
        if "state=failed" in text and "state=success" not in text.split("DagRun Finished")[-1]:
            returncode = 1
    return returncode


def summary(settings: Settings, as_of_date: str) -> str:
    con = duckdb.connect(str(settings.published_path), read_only=True)
    try:
        scored = scalar(con, "select count(*) from customer_risk_scores where as_of_date = ?", [as_of_date])
        levels = dict(con.execute(
            "select risk_level, count(*) from churn_alerts where as_of_date = ? group by 1", [as_of_date]
        ).fetchall())
        run_id = scalar(con, "select run_id from publication")
    finally:
        con.close()
    report = settings.reports_dir / as_of_date / "churn_warning_report.html"
    lines = [
        "",
        f"Churn early warning, as of {as_of_date} (run {run_id})",
        f"  customers scored:       {scored:,}",
        "  alerts by risk level:   " + ", ".join(f"{level} {levels.get(level, 0):,}" for level in ALERT_LEVELS),
        f"  published snapshot:     {settings.published_path}",
        f"  data-quality results:   {settings.published_path} (table data_quality_results); "
        f"Data Docs under {settings.quality_dir}",
        f"  report:                 {report}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--as-of-date", help="as-of date (default: the last month-end of the source data)")
    parser.add_argument("--size", help="synthetic bank size: tiny, demo or large (default: CHURN_SIZE or demo)")
    args = parser.parse_args(argv)
    if args.size:
        os.environ["CHURN_SIZE"] = args.size
    # a one-shot run reports a failure at once instead of waiting out retry delays
    os.environ.setdefault("CHURN_TASK_RETRIES", "0")
    get_settings.cache_clear()
    settings = get_settings()
    started = time.monotonic()
    manifest = ensure_source_data(settings)
    as_of_date = args.as_of_date or default_as_of_date(manifest)
    get_settings.cache_clear()
    settings = get_settings()
    env = airflow_environment(settings)
    prepare_airflow(settings, env)
    log_path = Path(env["AIRFLOW_HOME"]) / "logs" / f"make-run-{as_of_date}.log"
    code = run_dag(settings, env, as_of_date, log_path)
    if code != 0:
        print(f"[run] the run failed; see {log_path}. The last good snapshot stays at {settings.published_path}.")
        return code
    print(summary(settings, as_of_date))
    print(f"  wall time:              {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
