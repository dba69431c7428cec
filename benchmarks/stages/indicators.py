"""Indicators: `dbt build` of every indicator mart for one as_of_date, against one hand-written
DuckDB query computing the same indicators, and pandas as a peer baseline (issue 4).

``python -m benchmarks.stages.indicators --size demo|large --out result.json``

* figure: ``dbt build --select path:models/intermediate path:models/marts`` with vars
  ``as_of_date`` (the data's last month-end) and ``build_dates: as_of_date``, run as the dbt CLI
  (start-up included) on a copy of the size's raw warehouse: the as_of_date spine, the family
  models, customer_indicators, churn_labels, training_panel, scoring_panel, customer_segments,
  indicator_catalog, and every data test on them. The staging views are created first, untimed
  (view definitions; their data tests validate raw, not the indicators);
* baseline: ``CREATE TABLE AS`` one hand-written DuckDB query (benchmarks/stages/
  indicator_baselines.py) computing the same customer_indicators columns for that date;
* ratio = figure / baseline; target <= 2;
* details: pandas computing the same columns (load the tables into DataFrames, then compute)
  and its ratio to dbt; dbt's own elapsed time; per-run peak RSS; and the comparison of the
  three outputs column by column (a baseline that computed something else would show here).

Every implementation runs in its own child process with the same DuckDB memory_limit; the raw
warehouse is ingested once per size (include.ingestion.ingest_files, untimed) and cached under
data/benchmarks/indicators/<size>/. pandas is skipped above 30 M transactions (it needs about
3x the data in memory; the details say so).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_RATIO = 2.0
PANDAS_MAX_TRANSACTIONS = 30_000_000
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def progress(text: str) -> None:
    print(f"indicators: {text}", file=sys.stderr, flush=True)


def raw_warehouse(size: str) -> tuple[Path, dict]:
    """The size's raw warehouse (ingested once, cached) and the generator's manifest."""
    from include.config import get_settings

    settings = get_settings()
    source_dir = settings.data_dir / "source" / size
    if not (source_dir / "_manifest.json").exists():
        progress(f"no source data at {source_dir}: generating size {size} (not timed)")
        code = ("import sys; from include.bank_simulator import generate; "
                "generate(sys.argv[1], sys.argv[2], size=sys.argv[3], seed=int(sys.argv[4]))")
        run_child([sys.executable, "-c", code, str(source_dir), str(settings.data_dir / "truth" / size), size,
                   str(settings.seed)], label="generation")
    manifest_path = source_dir / "_manifest.json"
    manifest = json.loads(manifest_path.read_text())
    cache = settings.data_dir / "benchmarks" / "indicators" / size / "warehouse_raw.duckdb"
    if not cache.exists() or cache.stat().st_mtime < manifest_path.stat().st_mtime:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.unlink(missing_ok=True)
        # Loaded under another name and renamed when complete: an interrupted load is never reused.
        partial = cache.with_name(cache.name + ".partial")
        for stale in (partial, Path(f"{partial}.wal")):
            stale.unlink(missing_ok=True)
        progress(f"ingesting {source_dir} into {cache} (once per size, not timed)")
        t0 = time.perf_counter()
        # In a child: this process must stay small, because a child's peak RSS as the kernel
        # reports it starts from its parent's resident set at fork time.
        code = "import sys; from include.ingestion import ingest_files; ingest_files(sys.argv[1], sys.argv[2])"
        run_child([sys.executable, "-c", code, str(source_dir), str(partial)], label="ingestion")
        os.replace(partial, cache)
        progress(f"ingested in {time.perf_counter() - t0:.1f} s")
    return cache, manifest


def run_child(argv: list[str], env: dict | None = None, label: str = "") -> dict:
    """Run a child process; wall seconds and its peak RSS (MB) measured around it."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=PROJECT_ROOT)
    output = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    if code != 0:
        raise RuntimeError(f"{label or argv[0]} failed ({code}):\n{output[-4000:]}")
    return {"wall_s": round(wall, 2), "peak_mb": round(usage.ru_maxrss / 1024, 1), "output": output}


def dbt_env(warehouse: Path, memory_limit: str) -> dict:
    return dict(os.environ, CHURN_WAREHOUSE=str(warehouse), CHURN_DUCKDB_MEMORY_LIMIT=memory_limit,
                DBT_SEND_ANONYMOUS_USAGE_STATS="false")


def dbt(command: list[str], warehouse: Path, variables: dict, memory_limit: str, target: Path, label: str) -> dict:
    dbt_bin = Path(sys.executable).with_name("dbt")
    project = PROJECT_ROOT / "dbt_project"
    argv = [str(dbt_bin), *command, "--project-dir", str(project), "--profiles-dir", str(project),
            "--target-path", str(target), "--log-path", str(target / "logs"), "--vars", json.dumps(variables)]
    result = run_child(argv, dbt_env(warehouse, memory_limit), label)
    run_results = json.loads((target / "run_results.json").read_text())
    result["dbt_elapsed_s"] = round(run_results.get("elapsed_time", 0.0), 2)
    result["model_s"] = {
        r["unique_id"].split(".")[-1]: round(r.get("execution_time", 0.0), 2)
        for r in run_results["results"] if r["unique_id"].startswith("model.")
    }
    result["nodes"] = len(run_results["results"])
    result.pop("output")
    return result


# ---- child implementations -------------------------------------------------------------------

def _child_sql(raw: Path, out: Path, as_of: str, memory_limit: str) -> None:
    import duckdb

    from benchmarks.stages.indicator_baselines import HANDWRITTEN_SQL

    con = duckdb.connect(str(out), config={"memory_limit": memory_limit})
    con.execute(f"attach '{raw}' as source_warehouse (read_only)")
    catalog = con.execute("select current_database()").fetchone()[0]
    con.execute("use source_warehouse")
    con.execute(f'create table "{catalog}".main.customer_indicators as ' + HANDWRITTEN_SQL.format(d=as_of))
    con.close()


def _child_pandas(raw: Path, out: Path, as_of: str) -> None:
    import duckdb

    from benchmarks.stages.indicator_baselines import pandas_indicators

    t0 = time.perf_counter()
    con = duckdb.connect(str(raw), read_only=True)
    tables = ["customers", "churn_events", "rm_assignments", "products", "transactions", "digital_activity",
              "balance_snapshots", "service_interactions", "market_environment"]
    frames = {t: con.execute(f"select * from raw.{t}").df() for t in tables}
    con.close()
    loaded = time.perf_counter() - t0
    result = pandas_indicators(frames, dt.date.fromisoformat(as_of))
    computed = time.perf_counter() - t0 - loaded
    result.to_parquet(out)
    out.with_suffix(".json").write_text(json.dumps({"load_s": round(loaded, 2), "compute_s": round(computed, 2)}))


# ---- comparison ------------------------------------------------------------------------------

def compare(dbt_db: Path, sql_db: Path, pandas_file: Path | None, as_of: str) -> dict:
    """Column-by-column agreement of the dbt mart with each baseline (same customers, values to 1e-6)."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"attach '{dbt_db}' as d (read_only)")
    con.execute(f"attach '{sql_db}' as s (read_only)")
    sources = {"sql": "s.customer_indicators"}
    if pandas_file is not None:
        con.execute(f"create view p as select * from read_parquet('{pandas_file}')")
        sources["pandas"] = "p"
    columns = [r[0] for r in con.execute(
        "select column_name from duckdb_columns() where database_name = 'd' and schema_name = 'marts' "
        "and table_name = 'customer_indicators' and column_name not in ('customer_id', 'as_of_date') "
        "order by column_index").fetchall()]
    report = {}
    for name, rel in sources.items():
        counts = con.execute(f"""
            select count(*) filter (where b.customer_id is null), count(*) filter (where a.customer_id is null)
            from (select customer_id from d.marts.customer_indicators where as_of_date = '{as_of}') a
            full join (select customer_id from {rel}) b using (customer_id)""").fetchone()
        mismatched = {}
        for c in columns:
            n = con.execute(f"""
                select count(*) from d.marts.customer_indicators a join {rel} b using (customer_id)
                where a.as_of_date = '{as_of}' and not (
                    (a.{c} is null and b.{c} is null)
                    or (try_cast(a.{c} as double) is not null
                        and abs(try_cast(a.{c} as double) - try_cast(b.{c} as double))
                            <= 1e-6 * greatest(1, abs(try_cast(a.{c} as double))))
                    or cast(a.{c} as varchar) = cast(b.{c} as varchar))""").fetchone()[0]
            if n:
                mismatched[c] = n
        report[name] = {"customers_only_in_dbt": counts[0], "customers_only_in_baseline": counts[1],
                        "columns_compared": len(columns), "columns_with_differences": mismatched}
    con.close()
    return report


def run(size: str) -> dict:
    from include.config import get_settings

    settings = get_settings()
    memory_limit = settings.duckdb_memory_limit
    raw, manifest = raw_warehouse(size)
    as_of = str(manifest["end_month_end"])[:10]
    n_tx = int(manifest.get("counts", {}).get("transactions", 0))
    work = Path(tempfile.mkdtemp(prefix="indicators_bench_", dir=settings.data_dir / "benchmarks"))
    try:
        dbt_db = work / "dbt.duckdb"
        shutil.copy(raw, dbt_db)
        progress(f"{n_tx:,} transactions; as_of_date {as_of}; DuckDB memory_limit {memory_limit}")
        variables = {"as_of_date": as_of, "build_dates": "as_of_date"}
        # Same target folder and vars for both calls: the timed build reuses the parsed project
        # (partial parsing), as a deployed project does; the CLI start-up is still timed.
        dbt(["run", "--select", "path:models/staging"], dbt_db, variables, memory_limit, work / "target", "dbt staging")
        progress("staging views created (untimed); timing dbt build of intermediate + marts")
        figure = dbt(["build", "--select", "path:models/intermediate", "path:models/marts"], dbt_db, variables,
                     memory_limit, work / "target", "dbt build")
        progress(f"dbt build: {figure['wall_s']} s wall ({figure['dbt_elapsed_s']} s inside dbt), "
                 f"peak {figure['peak_mb']} MB")

        sql_db = work / "sql.duckdb"
        code = ("import sys; from pathlib import Path; from benchmarks.stages.indicators import _child_sql; "
                "_child_sql(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4])")
        baseline = run_child([sys.executable, "-c", code, str(raw), str(sql_db), as_of, memory_limit],
                             label="hand-written SQL")
        baseline.pop("output")
        progress(f"hand-written DuckDB query: {baseline['wall_s']} s wall, peak {baseline['peak_mb']} MB")

        pandas_run, pandas_file = None, None
        if n_tx <= PANDAS_MAX_TRANSACTIONS:
            pandas_file = work / "pandas.parquet"
            code = ("import sys; from pathlib import Path; from benchmarks.stages.indicators import _child_pandas; "
                    "_child_pandas(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3])")
            pandas_run = run_child([sys.executable, "-c", code, str(raw), str(pandas_file), as_of], label="pandas")
            pandas_run.pop("output")
            pandas_run.update(json.loads(pandas_file.with_suffix(".json").read_text()))
            progress(f"pandas: {pandas_run['wall_s']} s wall (load {pandas_run['load_s']} s, "
                     f"compute {pandas_run['compute_s']} s), peak {pandas_run['peak_mb']} MB")
        else:
            progress(f"pandas skipped: {n_tx:,} transactions > {PANDAS_MAX_TRANSACTIONS:,}")

        agreement = compare(dbt_db, sql_db, pandas_file, as_of)
        progress(f"agreement with dbt: {json.dumps(agreement)}")
        ratio = figure["wall_s"] / baseline["wall_s"]
        return {
            "figure": figure["wall_s"],
            "unit": "s (dbt build, intermediate + marts, one as_of_date)",
            "baseline": baseline["wall_s"],
            "baseline_unit": "s (one hand-written DuckDB query, same indicators)",
            "ratio": round(ratio, 3),
            "target": TARGET_RATIO,
            "target_met": ratio <= TARGET_RATIO,
            "details": {
                "size": size, "as_of_date": as_of, "transactions": n_tx, "duckdb_memory_limit": memory_limit,
                "dbt": figure, "handwritten_sql": baseline,
                "ratio_dbt_elapsed_to_sql": round(figure["dbt_elapsed_s"] / baseline["wall_s"], 3),
                "pandas": pandas_run if pandas_run else f"skipped above {PANDAS_MAX_TRANSACTIONS:,} transactions",
                "ratio_pandas_to_dbt": round(pandas_run["wall_s"] / figure["wall_s"], 2) if pandas_run else None,
                "agreement": agreement,
            },
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="demo", choices=["tiny", "demo", "large"])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    result = run(args.size)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
