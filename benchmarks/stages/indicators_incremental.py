"""Indicators, incremental: adding one month to a 24-month panel against building the panel
from scratch (issue 4: about 1/24).

``python -m benchmarks.stages.indicators_incremental --size demo|large --out result.json``

On a copy of the size's raw warehouse (cached by the `indicators` stage), with the staging views
created first (untimed):

* baseline: ``dbt build --select path:models/intermediate path:models/marts`` with as_of_date =
  the last month-end on an empty marts schema: every month-end of the data is built (24);
* then the last month is removed from the incremental marts (customer_indicators,
  customer_segments), as it was before that month arrived;
* figure: the same ``dbt build`` with the default ``build_dates: missing``: only the missing
  month-end is computed; churn_labels, training_panel and scoring_panel are rebuilt in full, as
  every run does (labels of earlier dates mature as data arrives);
* ratio = figure / baseline; no target stated (the issue expects about 1/24 = 0.042).

``details`` gives dbt's own elapsed times and the customer_indicators model alone (full vs one
month), where the 1/24 shows without the fixed costs (dbt start-up, tests, full-refresh marts).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from benchmarks.stages.common import progress_for, stage_parser, write_result
from benchmarks.stages.indicators import dbt, raw_warehouse

EXPECTED = 1 / 24


progress = progress_for("indicators_incremental")


def run(size: str) -> dict:
    import duckdb

    from include.config import get_settings

    settings = get_settings()
    memory_limit = settings.duckdb_memory_limit
    raw, manifest = raw_warehouse(size)
    as_of = str(manifest["end_month_end"])[:10]
    work = Path(tempfile.mkdtemp(prefix="indicators_incr_bench_", dir=settings.data_dir / "benchmarks"))
    try:
        db = work / "panel.duckdb"
        shutil.copy(raw, db)
        variables = {"as_of_date": as_of}
        select = ["--select", "path:models/intermediate", "path:models/marts"]
        dbt(["run", "--select", "path:models/staging"], db, variables, memory_limit, work / "target", "dbt staging")
        progress(f"timing the full panel build up to {as_of}")
        full = dbt(["build", *select], db, variables, memory_limit, work / "target", "full panel build")
        with duckdb.connect(str(db)) as con:
            months = con.execute("select count(distinct as_of_date) from marts.customer_indicators").fetchone()[0]
            rows = con.execute("select count(*) from marts.customer_indicators").fetchone()[0]
            for table in ("customer_indicators", "customer_segments"):
                con.execute(f"delete from marts.{table} where as_of_date = date '{as_of}'")
        progress(f"full panel: {months} month-ends, {rows:,} rows in {full['wall_s']} s wall "
                 f"({full['dbt_elapsed_s']} s inside dbt); removed {as_of} and adding it back")
        incremental = dbt(["build", *select], db, variables, memory_limit, work / "target", "one-month build")
        with duckdb.connect(str(db), read_only=True) as con:
            after = con.execute("select count(*) from marts.customer_indicators").fetchone()[0]
        if after != rows:
            raise RuntimeError(f"the incremental build left {after:,} rows, the full build {rows:,}")
        progress(f"one month: {incremental['wall_s']} s wall ({incremental['dbt_elapsed_s']} s inside dbt)")
        ratio = incremental["wall_s"] / full["wall_s"]
        model_full = full["model_s"].get("customer_indicators")
        model_incr = incremental["model_s"].get("customer_indicators")
        return {
            "figure": incremental["wall_s"],
            "unit": "s (dbt build adding one month-end to the panel)",
            "baseline": full["wall_s"],
            "baseline_unit": f"s (dbt build of the {months}-month panel from scratch)",
            "ratio": round(ratio, 4),
            "target": round(EXPECTED, 4),
            "target_met": None,
            "details": {
                "size": size, "as_of_date": as_of, "panel_month_ends": months, "panel_rows": rows,
                "full": full, "one_month": incremental,
                "ratio_dbt_elapsed": round(incremental["dbt_elapsed_s"] / full["dbt_elapsed_s"], 4),
                "customer_indicators_model_s": {"full": model_full, "one_month": model_incr},
                "ratio_customer_indicators_model": round(model_incr / model_full, 4) if model_full else None,
                "note": "target is the issue's expectation (1/24), stated as context, not a verdict",
            },
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    args = stage_parser(__doc__.splitlines()[0]).parse_args()
    write_result(args.out, run(args.size))


if __name__ == "__main__":
    main()
