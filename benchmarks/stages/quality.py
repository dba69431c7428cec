"""Data-quality gates: validating one as_of_date against the dbt build that produced it, in the
same script (issue 5).

``python -m benchmarks.stages.quality --size demo|large --out result.json``

* baseline: ``dbt build`` (models and their dbt tests) of the run's as_of_date, incremental
  (``build_dates: as_of_date``) on a warehouse whose panel up to the previous month-end is built;
* figure: the gates a run executes for that as_of_date on what the build touched: the raw suite of
  ``raw.transactions`` (the month's new partition) and every ``marts`` suite, through
  ``include.quality.run_gate`` -- Great Expectations inside DuckDB, results stored, Data Docs built;
* ratio = figure / baseline; target <= 0.25.

Setup (not timed): the size's raw warehouse (generated and ingested once per size, cached and
shared with the `indicators` stage) is copied to a benchmark warehouse, and dbt builds the two
as_of_dates the gates compare with (the previous month-end, and a labelled month-end four months
back). Both timed parts run ``--repeat`` times alternating (default 2, 1 at ``large``, where one
build takes minutes), best of each counts.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from datetime import date
from pathlib import Path

from benchmarks.stages.common import progress_for, stage_parser, write_result

TARGET_RATIO = 0.25


progress = progress_for("quality")


def _dbt(project_dir: Path, warehouse: Path, variables: dict, *args: str) -> None:
    from dbt.cli.main import dbtRunner

    os.environ["CHURN_WAREHOUSE"] = str(warehouse)
    result = dbtRunner().invoke(["build", "--project-dir", str(project_dir), "--profiles-dir", str(project_dir),
                                 "--vars", json.dumps(variables), "--quiet", *args])
    if not result.success:
        raise RuntimeError(f"dbt build failed: {result.exception or result.result}")


def _month_ends(warehouse: Path) -> list[date]:
    from include.quality.duckdb_gx import open_duckdb

    # dbt-duckdb keeps its handle open in this process: share it rather than open a second one.
    con = open_duckdb(warehouse, read_only=True)
    try:
        rows = con.execute("select distinct month_end from raw.balance_snapshots order by 1").fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


def _ingested(warehouse: Path) -> bool:
    """Every raw table loaded (an interrupted load leaves the warehouse incomplete)."""
    if not warehouse.exists():
        return False
    from include.contract import load_contract
    from include.quality.duckdb_gx import open_duckdb

    con = open_duckdb(warehouse, read_only=True)
    try:
        loaded = {r[0] for r in con.execute("select table_name from raw.load_log where status = 'success'").fetchall()}
    except Exception:
        return False
    finally:
        con.close()
    return set(load_contract().tables) <= loaded


def _built_dates(warehouse: Path) -> set[date]:
    from include.quality.duckdb_gx import open_duckdb

    con = open_duckdb(warehouse, read_only=True)
    try:
        return {r[0] for r in con.execute("select distinct as_of_date from marts.customer_indicators").fetchall()}
    except Exception:
        return set()
    finally:
        con.close()


def run(size: str, repeat: int = 2) -> dict:
    from include.config import get_settings
    from include.quality import run_gate

    settings = get_settings()
    work = settings.data_dir / "benchmarks" / "quality" / size
    work.mkdir(parents=True, exist_ok=True)
    warehouse = work / "warehouse.duckdb"
    setup: dict[str, float] = {}
    if not _ingested(warehouse):
        # The size's raw warehouse is ingested once and cached (shared with the indicators stage).
        from benchmarks.stages.indicators import raw_warehouse

        t0 = time.perf_counter()
        cache, _ = raw_warehouse(size)
        progress(f"copying the raw warehouse {cache} to {warehouse} (not timed)")
        for stale in (warehouse, Path(f"{warehouse}.wal")):
            stale.unlink(missing_ok=True)
        shutil.copyfile(cache, warehouse)
        setup["raw_warehouse_s"] = round(time.perf_counter() - t0, 1)
    month_ends = _month_ends(warehouse)
    # The marts the run's gates compare with: the previous month-end (distribution, volume) and a
    # labelled month-end (training_panel, churn_labels). Built one date at a time, not the whole
    # panel: at `large` the panel would take most of an hour and is not what is measured.
    for setup_date in (month_ends[-5], month_ends[-2]):
        if setup_date not in _built_dates(warehouse):
            progress(f"dbt build of {setup_date} (not timed)")
            t0 = time.perf_counter()
            _dbt(settings.dbt_project_dir, warehouse, {"as_of_date": setup_date.isoformat(), "build_dates": "as_of_date"})
            setup[f"dbt_{setup_date}_s"] = round(time.perf_counter() - t0, 1)
    month_ends = _month_ends(warehouse)
    as_of_date = month_ends[-1].isoformat()
    dbt_vars = {"as_of_date": as_of_date, "build_dates": "as_of_date"}

    from include.quality.duckdb_gx import open_duckdb

    con = open_duckdb(warehouse, read_only=True)
    partition_rows = con.execute(
        "select count(*) from raw.transactions where transaction_ts >= ? and transaction_ts < ? + interval 1 day",
        [month_ends[-1].replace(day=1), month_ends[-1]]).fetchone()[0]
    total_rows = con.execute("select count(*) from raw.transactions").fetchone()[0]
    con.close()
    progress(f"as_of_date {as_of_date}: {partition_rows:,} transactions in its partition of {total_rows:,}")

    build_runs, gate_runs, summaries = [], [], []
    for i in range(repeat):
        t0 = time.perf_counter()
        _dbt(settings.dbt_project_dir, warehouse, dbt_vars)
        build_runs.append(time.perf_counter() - t0)
        progress(f"run {i + 1}/{repeat}: dbt build of {as_of_date} {build_runs[-1]:.2f} s")

        t0 = time.perf_counter()
        common = dict(warehouse_path=warehouse, as_of_date=as_of_date, run_id=f"benchmark_{i}",
                      expectations_dir=settings.expectations_dir, output_dir=work / "docs",
                      memory_limit=settings.duckdb_memory_limit, threads=settings.duckdb_threads,
                      raise_on_critical=False)
        raw = run_gate("raw", suites=["raw.transactions"], **common)
        marts = run_gate("marts", **common)
        gate_runs.append(time.perf_counter() - t0)
        summaries = [raw.summary(), marts.summary()]
        progress(f"run {i + 1}/{repeat}: gates {gate_runs[-1]:.2f} s "
                 f"({len(raw.outcomes) + len(marts.outcomes)} expectations, "
                 f"{len(raw.failures) + len(marts.failures)} failed)")

    best, base = min(gate_runs), min(build_runs)
    ratio = best / base
    return {
        "figure": round(best, 3),
        "unit": "s to validate raw.transactions' new partition and every indicator mart for one as_of_date",
        "baseline": round(base, 3),
        "baseline_unit": "s for the dbt build (models and tests) of that as_of_date",
        "ratio": round(ratio, 3),
        "target": TARGET_RATIO,
        "target_met": ratio <= TARGET_RATIO,
        "details": {
            "size": size,
            "as_of_date": as_of_date,
            "partition_transactions": partition_rows,
            "total_transactions": total_rows,
            "gate_runs_s": [round(x, 3) for x in gate_runs],
            "dbt_build_runs_s": [round(x, 3) for x in build_runs],
            "gates": summaries,
            "setup": setup,
            "duckdb_memory_limit": settings.duckdb_memory_limit,
            "duckdb_threads": settings.duckdb_threads,
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser(__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, help="timed runs of each part (default 2; 1 at large)")
    args = parser.parse_args(argv)
    result = run(args.size, args.repeat or (1 if args.size == "large" else 2))
    write_result(args.out, result)
    progress(f"ratio {result['ratio']} (target <= {TARGET_RATIO}): {'met' if result['target_met'] else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
