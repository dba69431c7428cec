"""Scoring: 1 M customers with the champion, probabilities and reason codes (issue 6).

``python -m benchmarks.stages.score --size demo|large --out result.json``

* rows: ``--customers`` (default 1,000,000; 20,000 at ``tiny``, a smoke run) rows of ``marts.scoring_panel`` from the size's
  warehouse; a smaller panel is stacked again under new customer ids until it is large enough
  (said in ``details.rows_source``); with no warehouse, the synthetic panel of
  :mod:`ml.synthetic`;
* model: the registry's champion version (its XGBoost challenger by default, ``--family``),
  when its features match the panel; otherwise a model is
  trained first on the warehouse's training panel (a quick budget, not timed) into a
  temporary registry;
* figure: customers per second of ``ml.scoring.score_panel`` -- signature checks, the matrix,
  calibrated probabilities, SHAP contributions, three reasons in English and Chinese per
  customer and the long reasons table;
* baseline: customers per second of the calibrated probability alone (matrix + predict);
* ratio = seconds with reasons / seconds for probabilities only (what the explanations cost).
Target: a full 1 M-customer scoring in at most 60 s (>= 16,667 customers/s).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks.stages.common import progress_for, stack_under_new_ids, stage_parser, write_result

progress = progress_for("score")


def load(warehouse: Path | None, customers: int, seed: int):
    if warehouse is not None and warehouse.exists():
        import duckdb

        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            panel = con.execute("select * from marts.scoring_panel where as_of_date = "
                                "(select max(as_of_date) from marts.scoring_panel)").df()
            catalog = con.execute("select * from marts.indicator_catalog").df()
        finally:
            con.close()
        source = f"marts.scoring_panel of {warehouse} ({len(panel):,} customers)"

        def train():
            con = duckdb.connect(str(warehouse), read_only=True)
            try:
                return con.execute(f"select * from marts.training_panel using sample reservoir(600000 rows) "
                                   f"repeatable ({seed})").df()
            finally:
                con.close()
    else:
        from ml.synthetic import catalog as synthetic_catalog
        from ml.synthetic import make_panel

        synthetic, _ = make_panel(20_000, 20, seed=seed)
        panel = synthetic[synthetic["as_of_date"] == synthetic["as_of_date"].max()].drop(
            columns=["churned_within_horizon"])

        def train():
            return synthetic
        catalog = synthetic_catalog()
        source = f"ml.synthetic panel (no warehouse at {warehouse})"
    panel, copies = stack_under_new_ids(panel, customers)
    if copies > 1:
        source += f", stacked {copies} times under new customer ids"
    return panel, catalog, train, source


def run(size: str, customers: int, warehouse: Path | None, models_dir: Path, seed: int,
        family: str | None = "xgboost") -> dict:
    from ml.features import FeatureMismatchError, build_matrix
    from ml.registry import RegistryError
    from ml.scoring import LoadedVersion, score_with
    from ml.training import train_and_register

    panel, catalog, train, source = load(warehouse, customers, seed)
    progress(f"{len(panel):,} customers; {source}")
    loaded, trained_here = None, False
    try:
        loaded = LoadedVersion(models_dir, family=family)
        build_matrix(panel.head(10), loaded.signature)
    except (RegistryError, FeatureMismatchError, FileNotFoundError, ValueError) as error:
        progress(f"no usable champion in {models_dir} ({str(error)[:120]}); training one first (not timed)")
        tmp = Path(tempfile.mkdtemp(prefix="score_bench_models_"))
        train_and_register(train(), catalog, models_dir=tmp, seed=seed, trial_budget=1, backtest_origins=0,
                           challengers=("xgboost",), n_clusters=5)
        loaded, trained_here = LoadedVersion(tmp, family=family), True
    model = loaded.champion
    progress(f"model {loaded.version} ({model.family}, {model.params.get('n_trees', '?')} trees)")

    t0 = time.perf_counter()
    X = build_matrix(panel, loaded.signature)
    model.predict_proba(X)
    base_s = time.perf_counter() - t0
    progress(f"probabilities only: {base_s:.1f} s ({len(panel) / base_s:,.0f} customers/s)")

    t0 = time.perf_counter()
    scores, reasons = score_with(loaded, panel, catalog)
    full_s = time.perf_counter() - t0
    rate = len(scores) / full_s
    progress(f"score_panel with reasons: {full_s:.1f} s ({rate:,.0f} customers/s); {len(reasons):,} reason rows")
    return {
        "figure": round(rate),
        "unit": "customers/s scored with probability and 3 reasons (en + zh)",
        "baseline": round(len(panel) / base_s),
        "baseline_unit": "customers/s for the calibrated probability alone",
        "ratio": round(full_s / base_s, 3),
        "target": "1 M customers in <= 60 s",
        "target_met": (1_000_000 / rate) <= 60,
        "details": {
            "size": size, "customers": len(scores), "rows_source": source, "seconds_with_reasons": round(full_s, 2),
            "seconds_probabilities_only": round(base_s, 2), "model_version": loaded.version,
            "model_family": model.family, "trees": model.params.get("n_trees"),
            "indicators": len(loaded.signature.indicators), "model_trained_for_benchmark": trained_here,
            "reason_rows": len(reasons), "projected_seconds_for_1m": round(1_000_000 / rate, 1),
            "example": scores.iloc[0][["reason_1", "reason_1_zh"]].to_dict(),
        },
    }


def main(argv: list[str] | None = None) -> int:
    ap = stage_parser(__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, help="customers (default 1,000,000; 20,000 at tiny, a smoke run)")
    ap.add_argument("--warehouse", type=Path)
    ap.add_argument("--models-dir", type=Path)
    ap.add_argument("--family", default="xgboost",
                    help="challenger of the champion version to score with (default xgboost: the SHAP path; "
                         "'champion' for the champion itself)")
    args = ap.parse_args(argv)
    from include.config import get_settings

    settings = get_settings()
    customers = args.customers or (20_000 if args.size == "tiny" else 1_000_000)
    result = run(args.size, customers, args.warehouse or settings.warehouse_path,
                 args.models_dir or settings.models_dir, settings.seed,
                 family=None if args.family == "champion" else args.family)
    write_result(args.out, result)
    progress(f"{result['figure']:,} customers/s; target met: {result['target_met']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
