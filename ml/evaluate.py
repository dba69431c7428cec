"""Reproduce the model quality bars (plan 4.1 "evaluate", 5.1).

Synthetic bank, from a warehouse whose marts are built (``make run`` or the pipeline)::

    python -m ml.evaluate --size demo [--warehouse data/warehouse.duckdb] [--trial-budget 12] [--backtest-origins 6]

trains the challengers on ``marts.training_panel`` exactly as the training DAG does, and checks
at the latest test as_of_date: champion ROC-AUC >= 0.95 x the oracle ROC-AUC of the simulator's
truth on the same rows, ECE <= 0.02, XGBoost ROC-AUC >= logistic regression + 0.02.

Churn_Modelling.csv (the public Kaggle file, read in place, never copied), through its mapping::

    python -m ml.evaluate --churn-modelling ../shared/datasets/churn_modelling/Churn_Modelling.csv

runs the protocol of the data set's README (5-fold stratified cross-validation, shuffle,
random_state=0) on what the platform itself makes of the export: the mapping
(include/mappings/churn_modelling.yml) loads it into a temporary warehouse, ``dbt build`` turns
it into indicators, and the panel is ``marts.training_panel`` at the mapping's as_of_date with
``marts.indicator_catalog`` (:func:`churn_modelling_panel`). Inside each training fold: the same
feature signature and derived features as the bank's panel; an XGBoost search in a space for
small one-snapshot panels (:data:`CM_SEARCH_DEFAULTS`), scored by an inner stratified 4-fold CV
with early stopping; the chosen settings refitted on the whole training fold with several seeds,
probabilities averaged; the outer fold scored last. Logistic regression gets an inner 20 %
holdout to choose its regularisation. Bar: ROC-AUC >= 0.87.

Results are printed and written as JSON (``--out``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.model_selection import StratifiedKFold, train_test_split

from ml import metrics as M
from ml.features import build_matrix, learn_signature
from ml.models import booster_params, dmatrix, fit_linear, search_xgboost_cv, tree_view

log = logging.getLogger("ml.evaluate")

BARS = {"oracle_ratio_min": 0.95, "ece_max": 0.02, "xgb_minus_lr_min": 0.02, "churn_modelling_auc_min": 0.87}

def churn_modelling_panel(csv_path: str | Path, *, mapping: str = "churn_modelling", work_dir: str | Path | None = None,
                          ) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Churn_Modelling.csv through its mapping and the indicator system: the export is ingested into
    a temporary warehouse (``include.pipeline.build_mapped_warehouse``: the mapping, then ``dbt
    build`` for its as_of_date), and the panel is ``marts.training_panel`` at that date with
    ``marts.indicator_catalog``, exactly what the training DAG reads.

    Rows are put in the export's row order (by CustomerId, the only column read from the CSV here,
    with Exited to check that the label survived the mapping) so the README's fold assignment,
    which depends on row order, is reproduced."""
    import duckdb

    from include.pipeline import build_mapped_warehouse

    t0 = time.monotonic()
    work = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="churn-modelling-"))
    warehouse = work / "warehouse.duckdb"
    warehouse.unlink(missing_ok=True)
    as_of = build_mapped_warehouse(mapping, warehouse, source_path=csv_path, work_dir=work / "dbt")
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        panel = con.execute("select * from marts.training_panel where as_of_date = ?", [as_of]).df()
        catalog = con.execute("select * from marts.indicator_catalog").df()
        indicators_rows = con.execute("select count(*) from marts.customer_indicators where as_of_date = ?",
                                      [as_of]).fetchone()[0]
    finally:
        con.close()
    keys = pd.read_csv(csv_path, usecols=["CustomerId", "Exited"], dtype={"CustomerId": str})
    panel["customer_id"] = panel["customer_id"].astype(str)
    ordered = keys.merge(panel, left_on="CustomerId", right_on="customer_id", how="left", validate="one_to_one")
    lost = int(ordered["customer_id"].isna().sum())
    if lost:
        raise ValueError(f"{lost} customers of {csv_path} are not in marts.training_panel at {as_of}: see raw.quarantine")
    label = ordered["churned_within_horizon"].astype(bool).to_numpy()
    if not (label == (ordered["Exited"] == 1).to_numpy()).all():
        raise ValueError("churned_within_horizon differs from Exited: the mapping's label assumption no longer holds")
    panel = ordered.drop(columns=["CustomerId", "Exited"]).reset_index(drop=True)
    info = {"as_of_date": as_of, "warehouse": str(warehouse), "rows": len(panel), "indicator_rows": indicators_rows,
            "build_seconds": round(time.monotonic() - t0, 1)}
    return panel, catalog, info


# The search space for a small, one-snapshot panel (a few thousand customers, a handful of
# informative columns, several near-duplicate indicators derived from one export column): shallow
# trees, slow learning, strong column subsampling (duplicates then do not crowd out the rest of a
# tree's columns). Chosen by the inner CV only; trial 0 is its centre.
CM_SEARCH_DEFAULTS = {"max_depth": 3, "eta": 0.02, "min_child_weight": 1.0, "subsample": 0.8,
                      "colsample_bytree": 0.5, "reg_lambda": 1.0, "reg_alpha": 0.0, "gamma": 0.0, "pos_weight": "1"}


def _draw_cm_params(rng: np.random.Generator) -> dict:
    return {
        "max_depth": int(rng.choice([2, 3, 4, 5])),
        "eta": float(np.exp(rng.uniform(np.log(0.01), np.log(0.05)))),
        "min_child_weight": float(np.exp(rng.uniform(np.log(1), np.log(20)))),
        "subsample": float(rng.uniform(0.6, 0.95)),
        "colsample_bytree": float(rng.uniform(0.3, 0.8)),
        "reg_lambda": float(np.exp(rng.uniform(np.log(0.5), np.log(20)))),
        "reg_alpha": float(rng.choice([0.0, 0.1, 1.0])),
        "gamma": float(rng.choice([0.0, 0.5, 1.0])),
        "pos_weight": str(rng.choice(["1", "sqrt"])),
    }


def search_cm_xgboost(X: pd.DataFrame, y: np.ndarray, sig, *, seed: int, trial_budget: int, time_budget_s: float,
                      log=print) -> dict:
    """:func:`ml.models.search_xgboost_cv` in :data:`CM_SEARCH_DEFAULTS`' space (slower learning
    rates, so more rounds and patience; one thread per trial, as the folds are small)."""
    return search_xgboost_cv(X, y, sig, seed=seed, trial_budget=trial_budget, time_budget_s=time_budget_s,
                             nfold=4, max_rounds=4000, early_stopping=150, defaults=CM_SEARCH_DEFAULTS,
                             draw=_draw_cm_params, nthread=1, log=log)


def cross_validate(panel: pd.DataFrame, catalog: pd.DataFrame, *, folds: int = 5, random_state: int = 0,
                   seed: int = 42, trial_budget: int = 12, time_budget_s: float = 300.0, seeds_averaged: int = 5,
                   families: tuple[str, ...] = ("xgboost", "logistic_regression")) -> dict:
    """The README protocol on the warehouse panel: outer stratified k-fold; inside each training
    fold the feature signature (and its derived features) is learned, the XGBoost search is scored
    by an inner CV, and the chosen settings are refitted on the whole training fold with
    ``seeds_averaged`` seeds whose probabilities are averaged. The outer fold is never seen before
    it is scored."""
    y_all = panel["churned_within_horizon"].astype(int).to_numpy()
    skf = StratifiedKFold(folds, shuffle=True, random_state=random_state)
    runs: dict[str, list[dict]] = {f: [] for f in families}
    for k, (tr, te) in enumerate(skf.split(panel, y_all)):
        train, test = panel.iloc[tr], panel.iloc[te]
        sig, _ = learn_signature(train, catalog)
        Xtr, Xte = build_matrix(train, sig), build_matrix(test, sig)
        ytr, yte = y_all[tr], y_all[te]
        inner_fit, inner_val = train_test_split(np.arange(len(tr)), test_size=0.2, stratify=ytr,
                                                random_state=seed)
        for fam in families:
            if fam == "xgboost":
                found = search_cm_xgboost(Xtr, ytr, sig, seed=seed, trial_budget=trial_budget,
                                          time_budget_s=time_budget_s, log=log.info)
                # Refit on the whole training fold; k/(k-1) more rows than each search fit.
                n_trees = int(np.ceil(found["n_trees"] * 4 / 3))
                dtr = dmatrix(tree_view(Xtr, sig), ytr)
                dte = xgb.DMatrix(tree_view(Xte, sig), enable_categorical=True)
                p = np.zeros(len(te))
                for s in range(seeds_averaged):
                    bp = booster_params(found["params"], ytr, seed + s)
                    bp["nthread"] = 1
                    p += xgb.train(bp, dtr, num_boost_round=n_trees).predict(dte) / seeds_averaged
                info = {"n_trees": n_trees, "params": found["params"], "inner_cv_roc_auc": found["cv_roc_auc"],
                        "seeds_averaged": seeds_averaged}
            else:
                model = fit_linear(fam, Xtr.iloc[inner_fit], ytr[inner_fit], Xtr.iloc[inner_val], ytr[inner_val],
                                   sig, seed=seed, max_rows=None)
                p = model.raw_score(Xte)
                info = {"C": model.params["C"]}
            m = M.evaluate(yte, p)
            runs[fam].append({"fold": k, "roc_auc": m["roc_auc"], "pr_auc": m["pr_auc"], **info})
            log.info("fold %d %s ROC-AUC %.4f", k, fam, m["roc_auc"])
    summary = {f: M.summarise(r, keys=("roc_auc", "pr_auc")) for f, r in runs.items()}
    return {"protocol": f"{folds}-fold stratified CV, shuffle, random_state={random_state}", "runs": runs,
            "summary": summary, "features": sig.indicators, "derived_features": [d.name for d in sig.derived]}


def evaluate_synthetic(panel: pd.DataFrame, catalog: pd.DataFrame, truth: pd.DataFrame | None, *, models_dir: Path,
                       seed: int = 42, trial_budget: int = 12, time_budget_s: float = 1800.0,
                       backtest_origins: int = 6) -> dict:
    from ml.registry import Registry
    from ml.training import train_and_register

    t0 = time.monotonic()
    result = train_and_register(panel, catalog, models_dir=models_dir, seed=seed, trial_budget=trial_budget,
                                time_budget_s=time_budget_s, truth_df=truth, backtest_origins=backtest_origins)
    meta = Registry(models_dir).metadata(result["model_version"])
    champ = meta["champion_family"]
    test = meta["metrics"][champ]["test"]
    xgb_auc = meta["metrics"].get("xgboost", {}).get("test", {}).get("roc_auc")
    lr_auc = meta["metrics"].get("logistic_regression", {}).get("test", {}).get("roc_auc")
    bars = {
        "champion_oracle_ratio": {"value": test.get("oracle_ratio"), "min": BARS["oracle_ratio_min"]},
        "champion_ece": {"value": test.get("ece"), "max": BARS["ece_max"]},
        "xgboost_minus_logistic_regression_roc_auc": {
            "value": (xgb_auc - lr_auc) if xgb_auc is not None and lr_auc is not None else None,
            "min": BARS["xgb_minus_lr_min"]},
    }
    for b in bars.values():
        v = b["value"]
        b["met"] = v is not None and (v >= b["min"] if "min" in b else v <= b["max"])
    return {
        "model_version": result["model_version"],
        "champion_family": champ,
        "test_as_of_date": meta["training_window"]["test_as_of_date"],
        "test": {k: test.get(k) for k in ("rows", "positives", "roc_auc", "pr_auc", "brier", "ece", "ece_quantile",
                                          "oracle_roc_auc", "oracle_ratio", "oracle_rows", "label_agreement_with_truth",
                                          "truth_label_roc_auc", "truth_label_oracle_roc_auc",
                                          "truth_label_oracle_ratio", "lift_top5", "lift_top10",
                                          "lift_top20", "capture_top5", "capture_top10", "capture_top20",
                                          "at_threshold")},
        "test_roc_auc_by_family": {f: m.get("test", {}).get("roc_auc") for f, m in meta["metrics"].items()},
        "test_ece_by_family": {f: m.get("test", {}).get("ece") for f, m in meta["metrics"].items()},
        "backtest": meta["backtest"]["summary"],
        "training_window": meta["training_window"],
        "selection": meta["selection"],
        "calibration": meta["models"][champ]["calibration"],
        "bars": bars,
        "all_bars_met": all(b["met"] for b in bars.values()),
        "seconds": round(time.monotonic() - t0, 1),
    }


def _read_warehouse(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    import duckdb

    if not path.exists():
        raise SystemExit(f"warehouse {path} does not exist: build it first (make run SIZE=...)")
    con = duckdb.connect(str(path), read_only=True)
    try:
        panel = con.execute("select * from marts.training_panel").df()
        catalog = con.execute("select * from marts.indicator_catalog").df()
    finally:
        con.close()
    return panel, catalog


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ml.evaluate", description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", help="synthetic size whose warehouse and truth to evaluate (tiny, demo, large)")
    ap.add_argument("--warehouse", type=Path, help="DuckDB warehouse with marts built (default: configured)")
    ap.add_argument("--truth", type=Path, help="churn_truth.parquet (default: data/truth/<size>/)")
    ap.add_argument("--churn-modelling", type=Path, help="path to Churn_Modelling.csv")
    ap.add_argument("--mapping", default="churn_modelling",
                    help="mapping of the export onto the raw contract (a name of include/mappings/ or a file)")
    ap.add_argument("--seeds-averaged", type=int, default=5,
                    help="Churn_Modelling: XGBoost refits per fold whose probabilities are averaged")
    ap.add_argument("--models-dir", type=Path, help="registry for the evaluation models (default: a temp dir)")
    ap.add_argument("--trial-budget", type=int, default=12)
    ap.add_argument("--backtest-origins", type=int, default=6,
                    help="rolling-origin backtest fits for the synthetic bank (0: none, a quicker check)")
    ap.add_argument("--time-budget-s", type=float, default=1800.0)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", type=Path, help="write the results here (JSON)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    out: dict = {}
    if args.churn_modelling:
        panel, catalog, built = churn_modelling_panel(args.churn_modelling, mapping=args.mapping)
        log.info("Churn_Modelling through mapping %s: %s", args.mapping, built)
        cv = cross_validate(panel, catalog, seed=args.seed, trial_budget=args.trial_budget,
                            time_budget_s=args.time_budget_s, seeds_averaged=args.seeds_averaged)
        cv["panel"] = {**built, "mapping": args.mapping}
        auc = cv["summary"]["xgboost"]["roc_auc"]["mean"]
        cv["bar"] = {"roc_auc_min": BARS["churn_modelling_auc_min"], "value": auc,
                     "met": auc >= BARS["churn_modelling_auc_min"]}
        out["churn_modelling"] = cv
        folds_txt = ", ".join(f"{r['roc_auc']:.4f}" for r in cv["runs"]["xgboost"])
        print(f"Churn_Modelling per fold (XGBoost): {folds_txt}")
        print(f"Churn_Modelling {cv['protocol']}: XGBoost ROC-AUC {auc:.4f} "
              f"± {cv['summary']['xgboost']['roc_auc']['std']:.4f}; logistic regression "
              f"{cv['summary']['logistic_regression']['roc_auc']['mean']:.4f}; bar >= 0.87 "
              f"{'met' if cv['bar']['met'] else 'NOT met'}")
    if args.size:
        from include.config import get_settings

        settings = get_settings()
        wh = args.warehouse or settings.warehouse_path
        panel, catalog = _read_warehouse(wh)
        truth_path = args.truth or (settings.data_dir / "truth" / args.size / "churn_truth.parquet")
        truth = pd.read_parquet(truth_path) if truth_path.exists() else None
        if truth is None:
            log.warning("no truth table at %s: oracle metrics skipped", truth_path)
        models_dir = args.models_dir or Path(tempfile.mkdtemp(prefix=f"churn-eval-{args.size}-"))
        res = evaluate_synthetic(panel, catalog, truth, models_dir=models_dir, seed=args.seed,
                                 trial_budget=args.trial_budget, time_budget_s=args.time_budget_s,
                                 backtest_origins=args.backtest_origins)
        res["warehouse"], res["models_dir"] = str(wh), str(models_dir)
        out[f"synthetic_{args.size}"] = res
        t = res["test"]
        print(f"{args.size} test {res['test_as_of_date']}: champion {res['champion_family']} ROC-AUC "
              f"{t['roc_auc']:.4f}, oracle {t['oracle_roc_auc']}, ratio {t['oracle_ratio']}, ECE {t['ece']:.4f}; "
              f"by family {json.dumps(res['test_roc_auc_by_family'])}; bars "
              f"{'all met' if res['all_bars_met'] else json.dumps(res['bars'])}")
    if not out:
        ap.error("give --size and/or --churn-modelling")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(out, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
