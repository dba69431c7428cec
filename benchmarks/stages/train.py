"""Training: the champion's XGBoost on a 2 M-row customer-month panel, against scikit-learn's
HistGradientBoostingClassifier at its defaults on the same rows (issue 6).

``python -m benchmarks.stages.train --size demo|large --out result.json``

* rows: ``--rows`` (default 2,000,000; 50,000 at ``tiny``, a smoke run) rows of ``marts.training_panel`` from the size's
  warehouse (``--warehouse``, default the configured one), every indicator column. When the
  panel has fewer rows, its rows are stacked again under new customer ids until there are
  enough, and the result says so (``details.rows_source``); with no warehouse at all the
  synthetic panel of :mod:`ml.synthetic` is used (also said).
* figure: wall time of one XGBoost fit with the champion's parameters and tree count (from the
  registry when there is a champion with the same features, else the defaults with 300 trees),
  on the same matrix the training code builds (native missing values and categories);
* baseline: ``HistGradientBoostingClassifier()`` (its defaults: 100 iterations, early stopping
  on a 10 % split above 10,000 rows) on the same matrix, categoricals from the pandas dtype;
* ratio = XGBoost seconds / HistGradientBoosting seconds (below 1: XGBoost is faster). Each
  fit's peak resident memory (sampled) and the ROC-AUC of both on the panel's latest as_of_date
  (held out from both fits) are in ``details``.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.stages.common import progress_for, stack_under_new_ids, stage_parser, write_result

progress = progress_for("train")


class PeakRSS:
    """Peak resident memory of this process while a block runs (sampled every 0.2 s)."""

    def __enter__(self):
        import psutil

        self._proc = psutil.Process()
        self.start_mb = self._proc.memory_info().rss / 2**20
        self.peak_mb = self.start_mb
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self):
        while not self._stop.wait(0.2):
            self.peak_mb = max(self.peak_mb, self._proc.memory_info().rss / 2**20)

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self.peak_mb = max(self.peak_mb, self._proc.memory_info().rss / 2**20)


def load_panel(warehouse: Path | None, rows: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    if warehouse is not None and warehouse.exists():
        import duckdb

        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            n = con.execute("select count(*) from marts.training_panel").fetchone()[0]
            panel = con.execute(f"select * from marts.training_panel using sample reservoir({min(rows, n)} rows) "
                                f"repeatable ({seed})").df() if n > rows else \
                con.execute("select * from marts.training_panel").df()
            catalog = con.execute("select * from marts.indicator_catalog").df()
        finally:
            con.close()
        source = f"marts.training_panel of {warehouse} ({n:,} rows)"
        panel, copies = stack_under_new_ids(panel, rows)
        if copies > 1:
            source += f", stacked {copies} times under new customer ids to reach {rows:,} rows"
        return panel, catalog, source
    from ml.synthetic import catalog, make_panel

    months = 20
    panel, _ = make_panel(int(np.ceil(rows / months)), months, seed=seed)
    return panel.iloc[:rows], catalog(), f"ml.synthetic panel (no warehouse at {warehouse})"


def champion_settings(models_dir: Path, panel: pd.DataFrame):
    """The champion's signature, XGBoost parameters and tree count, if it can read this panel."""
    from ml.features import check_columns
    from ml.models import XGB_DEFAULTS
    from ml.scoring import LoadedVersion

    try:
        loaded = LoadedVersion(models_dir)
        check_columns(panel, loaded.signature)
        p = loaded.metadata["params"]["xgboost"]
        return (loaded.signature, {k: p[k] for k in XGB_DEFAULTS}, int(p["n_trees"]),
                f"champion {loaded.version}")
    except Exception as error:  # no registry, no champion, other features: defaults are a fair stand-in
        progress(f"no usable champion in {models_dir} ({str(error)[:160]}); using the default parameters")
    return None, dict(XGB_DEFAULTS), 300, "defaults (no champion for these features)"


def run(size: str, rows: int, warehouse: Path | None, models_dir: Path, seed: int) -> dict:
    import xgboost as xgb
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    from ml.features import build_matrix, labels, learn_signature
    from ml.models import MAX_THREADS, booster_params, dmatrix, tree_view

    progress(f"loading {rows:,} rows")
    panel, catalog, source = load_panel(warehouse, rows, seed)
    panel["as_of_date"] = pd.to_datetime(panel["as_of_date"])
    panel = panel[panel["churned_within_horizon"].notna()].sort_values(["as_of_date", "customer_id"])
    sig, params, n_trees, origin = champion_settings(models_dir, panel)
    if sig is None:
        sig, _ = learn_signature(panel, catalog)
    # The columns the champion's trees see: the indicators (see ml.models.tree_view).
    X, y = tree_view(build_matrix(panel, sig), sig), labels(panel)
    latest = (panel["as_of_date"] == panel["as_of_date"].max()).to_numpy()
    progress(f"{len(X):,} rows x {X.shape[1]} columns ({len(sig.indicators)} indicators); {source}")
    bp = booster_params(params, y, seed)
    bp["nthread"] = MAX_THREADS

    with PeakRSS() as mem_x:
        t0 = time.perf_counter()
        d = dmatrix(X, y)
        bst = xgb.train(bp, d, num_boost_round=n_trees)
        xgb_s = time.perf_counter() - t0
    progress(f"XGBoost {n_trees} trees ({origin}): {xgb_s:.1f} s, peak {mem_x.peak_mb:,.0f} MB")
    del d
    with PeakRSS() as mem_h:
        t0 = time.perf_counter()
        hgb = HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed).fit(X, y)
        hgb_s = time.perf_counter() - t0
    progress(f"HistGradientBoosting defaults ({hgb.n_iter_} iterations): {hgb_s:.1f} s, peak {mem_h.peak_mb:,.0f} MB")

    # Both were fitted on every row; AUC on the latest date is in-sample context only.
    auc_x = roc_auc_score(y[latest], bst.predict(xgb.DMatrix(X[latest], enable_categorical=True)))
    auc_h = roc_auc_score(y[latest], hgb.predict_proba(X[latest])[:, 1])
    ratio = xgb_s / hgb_s
    return {
        "figure": round(xgb_s, 2),
        "unit": f"s to fit the champion XGBoost on {len(X):,} rows",
        "baseline": round(hgb_s, 2),
        "baseline_unit": "s for sklearn HistGradientBoostingClassifier() defaults on the same rows",
        "ratio": round(ratio, 3),
        "target": None,
        "target_met": None,
        "details": {
            "size": size, "rows": int(len(X)), "columns": int(X.shape[1]), "indicators": len(sig.indicators),
            "rows_source": source, "xgboost_params": params, "xgboost_trees": n_trees, "xgboost_params_from": origin,
            "threads": MAX_THREADS,
            "xgboost_peak_rss_mb": round(mem_x.peak_mb), "xgboost_rss_growth_mb": round(mem_x.peak_mb - mem_x.start_mb),
            "hgb_peak_rss_mb": round(mem_h.peak_mb), "hgb_rss_growth_mb": round(mem_h.peak_mb - mem_h.start_mb),
            "hgb_iterations": int(hgb.n_iter_),
            "in_sample_roc_auc_latest_date": {"xgboost": round(auc_x, 4), "hist_gradient_boosting": round(auc_h, 4)},
            "xgboost_trees_per_s": round(n_trees / xgb_s, 2),
            "hgb_iterations_per_s": round(hgb.n_iter_ / hgb_s, 2),
        },
    }


def main(argv: list[str] | None = None) -> int:
    ap = stage_parser(__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, help="panel rows (default 2,000,000; 50,000 at tiny, a smoke run)")
    ap.add_argument("--warehouse", type=Path)
    ap.add_argument("--models-dir", type=Path)
    args = ap.parse_args(argv)
    from include.config import get_settings

    settings = get_settings()
    rows = args.rows or (50_000 if args.size == "tiny" else 2_000_000)
    result = run(args.size, rows, args.warehouse or settings.warehouse_path,
                 args.models_dir or settings.models_dir, settings.seed)
    write_result(args.out, result)
    progress(f"ratio {result['ratio']} (XGBoost / HistGradientBoosting wall time)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
