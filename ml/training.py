"""Train the challengers, choose the champion, register it (plan 2.3 steps, 4.1, 5.2).

Entry point for the training DAG: :func:`train_and_register`. Plain Python, no Airflow.

1. Time-aware split of the customer-month panel (:mod:`ml.splits`): train on early as_of_dates,
   validate on later ones, test on the latest labeled one, a one-horizon gap between them. A
   panel with a single labelled as_of_date (a one-snapshot export) is split cross-sectionally
   instead: customers at random, stratified by the label, 60 / 20 / 20. The split kind is
   recorded with the version (``training_window.split_kind``, ``split_kind``).
2. The four challengers are fitted on the training window and calibrated on the validation
   window; every one is evaluated on validation and test (:mod:`ml.metrics`), with the oracle
   (the simulator's true churn probability) on the same rows when a truth table is given.
3. The champion is the best on the validation window by the declared metric; within the
   tolerance of the best, the simplest family wins.
4. A rolling-origin backtest repeats the fit for the latest ``backtest_origins`` test dates
   and reports each metric's mean and spread. On a cross-sectional split it is reported as
   not applicable, with the reason (``backtest.status``, ``backtest.reason``).
5. Everything goes to the registry (:mod:`ml.registry`); the new version becomes champion.
"""

from __future__ import annotations

import logging
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import sklearn
import xgboost as xgb
from threadpoolctl import threadpool_limits

from ml import metrics as M
from ml.clustering import fit_clusters
from ml.features import (
    KEY_COLUMNS,
    LABEL_COLUMN,
    build_matrix,
    labels,
    learn_signature,
)
from ml.features import (
    snapshot_id as make_snapshot_id,
)
from ml.models import (
    FAMILIES,
    SEARCH_KEYS,
    SIMPLICITY,
    FittedModel,
    feature_importance,
    fit_calibrator,
    fit_linear,
    fit_tree,
    fit_xgboost,
    threads_for,
)
from ml.registry import Registry, write_json
from ml.splits import DEFAULT_HORIZON_DAYS, as_of_dates, choose_split, rolling_origins

log = logging.getLogger("ml.training")

SELECTION_METRICS = ("pr_auc", "roc_auc", "expected_value")


class TrainingDataError(ValueError):
    """The training panel cannot be trained on (missing columns, no labels, one class only)."""


def prepare_panel(panel: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    missing = [c for c in (*KEY_COLUMNS, LABEL_COLUMN) if c not in panel.columns]
    if missing:
        raise TrainingDataError(f"training panel lacks required column(s): {', '.join(missing)}")
    df = panel.copy()
    df["as_of_date"] = pd.to_datetime(df["as_of_date"])
    report = {"rows_in": int(len(df))}
    unlabeled = df[LABEL_COLUMN].isna()
    report["dropped_unlabeled"] = int(unlabeled.sum())
    df = df.loc[~unlabeled]
    dup = df.duplicated(list(KEY_COLUMNS), keep="last")
    report["dropped_duplicate_keys"] = int(dup.sum())
    df = df.loc[~dup]
    # A fixed row order makes the fit independent of how the panel was read.
    df = df.sort_values(["as_of_date", "customer_id"], kind="stable").reset_index(drop=True)
    if df.empty:
        raise TrainingDataError("training panel has no labeled rows")
    return df, report


def _fit_family(family: str, Xtr, ytr, Xva, yva, sig, *, seed, trial_budget, time_budget_s, search_rows,
                challenger_rows, fixed_params=None) -> FittedModel:
    if family == "xgboost":
        return fit_xgboost(Xtr, ytr, Xva, yva, sig, seed=seed, trial_budget=trial_budget,
                           time_budget_s=time_budget_s, search_rows=search_rows, fixed_params=fixed_params,
                           log=log.info)
    if family == "decision_tree":
        return fit_tree(Xtr, ytr, Xva, yva, sig, seed=seed, max_rows=challenger_rows)
    if family in ("logistic_regression", "linear_svm"):
        return fit_linear(family, Xtr, ytr, Xva, yva, sig, seed=seed, max_rows=challenger_rows)
    raise ValueError(f"unknown model family {family!r}; known: {', '.join(FAMILIES)}")


def _selection_score(metric: str, y, p, *, capacity, value_args) -> float:
    if metric == "expected_value":
        return M.expected_value(y, p, capacity=capacity, **value_args)
    m = M.evaluate(y, p)
    return float(m[metric] or 0.0)


def choose_champion(scores: dict[str, float], *, tolerance: float) -> tuple[str, str]:
    """Best by score; among those within ``tolerance`` of the best, the simplest family."""
    best = max(scores.values())
    close = [f for f, s in scores.items() if s >= best - tolerance]
    champ = min(close, key=lambda f: SIMPLICITY[f])
    leader = max(scores, key=scores.get)
    if champ == leader:
        why = f"{champ} has the best validation score ({scores[champ]:.4f})"
    else:
        why = (f"{champ} ({scores[champ]:.4f}) is within {tolerance} of the best, {leader} "
               f"({scores[leader]:.4f}), and simpler")
    return champ, why


def _truth_for(rows: pd.DataFrame, truth_df: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray | None] | None:
    """The truth's probability (and its own outcome, if present) aligned to the panel rows."""
    if truth_df is None:
        return None
    cols = [c for c in ("customer_id", "as_of_date", "churn_probability_true", LABEL_COLUMN) if c in truth_df.columns]
    t = truth_df[cols].copy()
    t["as_of_date"] = pd.to_datetime(t["as_of_date"])
    t["customer_id"] = t["customer_id"].astype(str)
    k = rows[["customer_id", "as_of_date"]].copy()
    k["customer_id"] = k["customer_id"].astype(str)
    merged = k.merge(t, on=["customer_id", "as_of_date"], how="left", validate="one_to_one")
    outcome = None
    if LABEL_COLUMN in merged.columns:
        outcome = merged[LABEL_COLUMN].astype("boolean").astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    return merged["churn_probability_true"].to_numpy(dtype=float), outcome


def train_and_register(
    training_panel_df: pd.DataFrame,
    catalog_df: pd.DataFrame | None,
    *,
    models_dir: str | Path,
    seed: int = 42,
    trial_budget: int = 20,
    time_budget_s: float = 900.0,
    truth_df: pd.DataFrame | None = None,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    validation_dates: int = 3,
    selection_metric: str = "pr_auc",
    tie_tolerance: float = 0.005,
    capacity: float = 0.05,
    value_args: dict | None = None,
    challengers: tuple[str, ...] = FAMILIES,
    backtest_origins: int = 6,
    n_clusters: int = 5,
    search_rows: int | None = 400_000,
    challenger_rows: int | None = 300_000,
    backtest_rows: int | None = 400_000,
    promote: bool = True,
    snapshot_id: str | None = None,
    split_kind: str = "auto",
) -> dict:
    """Train, evaluate and register a model version; returns its summary (JSON-friendly).

    ``trial_budget`` and ``time_budget_s`` bound XGBoost's hyper-parameter search (use
    ``trial_budget=3, backtest_origins=0`` inside a quick pipeline run on tiny data);
    ``truth_df`` (synthetic data only) adds oracle metrics; ``selection_metric`` is ``pr_auc``
    (default), ``roc_auc`` or ``expected_value`` (value of contacting the top ``capacity``
    share of customers, see :func:`ml.metrics.expected_value`). ``split_kind`` is ``auto`` (time
    split with several labelled as_of_dates, cross-sectional with one), ``time`` or
    ``cross_sectional``.
    """
    # BLAS/OpenMP threads beyond what the data needs only contend on a small, shared machine.
    with threadpool_limits(limits=threads_for(len(training_panel_df))):
        return _train_and_register(**locals())


def _train_and_register(training_panel_df, catalog_df, *, models_dir, seed, trial_budget, time_budget_s, truth_df,
                        horizon_days, validation_dates, selection_metric, tie_tolerance, capacity, value_args,
                        challengers, backtest_origins, n_clusters, search_rows, challenger_rows, backtest_rows,
                        promote, snapshot_id, split_kind) -> dict:
    t_start = time.monotonic()
    if selection_metric not in SELECTION_METRICS:
        raise ValueError(f"selection_metric must be one of {SELECTION_METRICS}, got {selection_metric!r}")
    value_args = value_args or {}
    panel, panel_report = prepare_panel(training_panel_df)
    dates = as_of_dates(panel)
    split = choose_split(dates, kind=split_kind, horizon_days=horizon_days, validation_dates=validation_dates,
                         seed=seed)
    m_tr, m_va, m_te = split.panel_masks(panel)
    y_all = labels(panel)
    for name, m in (("training", m_tr), ("validation", m_va)):
        if len(np.unique(y_all[m.to_numpy()])) < 2:
            raise TrainingDataError(f"the {name} window ({m.sum()} rows) holds only one class; cannot train")

    sig, sig_report = learn_signature(panel.loc[m_tr], catalog_df)
    if not sig.indicators:
        raise TrainingDataError("no usable indicator columns in the training panel (all empty or constant)")
    X_all = build_matrix(panel, sig)
    idx = {k: np.nonzero(m.to_numpy())[0] for k, m in (("train", m_tr), ("validation", m_va), ("test", m_te))}
    X = {k: X_all.iloc[v] for k, v in idx.items()}
    y = {k: y_all[v] for k, v in idx.items()}
    truth = _truth_for(panel, truth_df)
    oracle_all, oracle_y_all = truth if truth is not None else (None, None)
    oracle = {k: (oracle_all[v] if oracle_all is not None else None) for k, v in idx.items()}
    oracle_y = {k: (oracle_y_all[v] if oracle_y_all is not None else None) for k, v in idx.items()}
    groups_val = panel["customer_id"].to_numpy()[idx["validation"]]
    log.info("split %s; rows train %d, validation %d, test %d; %d indicators, %d derived",
             split.describe(), len(idx["train"]), len(idx["validation"]), len(idx["test"]),
             len(sig.indicators), len(sig.derived))

    fitted: dict[str, FittedModel] = {}
    results: dict[str, dict] = {}
    selection_scores: dict[str, float] = {}
    fit_seconds: dict[str, float] = {}
    for family in challengers:
        t0 = time.monotonic()
        model = _fit_family(family, X["train"], y["train"], X["validation"], y["validation"], sig, seed=seed,
                            trial_budget=trial_budget, time_budget_s=time_budget_s, search_rows=search_rows,
                            challenger_rows=challenger_rows)
        raw_val = model.raw_score(X["validation"])
        model.calibrator, model.calibration_info = fit_calibrator(raw_val, y["validation"], groups=groups_val, seed=seed)
        fit_seconds[family] = round(time.monotonic() - t0, 2)
        p_val = model.calibrator.transform(raw_val)
        threshold = M.f1_threshold(y["validation"], p_val)
        res = {"validation": M.evaluate(y["validation"], p_val, threshold=threshold, oracle_p=oracle["validation"],
                                        oracle_y=oracle_y["validation"]),
               "operating_threshold": threshold, "split_kind": split.kind}
        if len(idx["test"]):
            res["test"] = M.evaluate(y["test"], model.predict_proba(X["test"]), threshold=threshold,
                                     oracle_p=oracle["test"], oracle_y=oracle_y["test"])
        selection_scores[family] = _selection_score(selection_metric, y["validation"], p_val,
                                                    capacity=capacity, value_args=value_args)
        fitted[family] = model
        results[family] = res
        log.info("%s: validation %s %.4f, test ROC-AUC %s (%.1fs)", family, selection_metric,
                 selection_scores[family], res.get("test", {}).get("roc_auc"), fit_seconds[family])

    tol = tie_tolerance if selection_metric != "expected_value" else abs(max(selection_scores.values())) * tie_tolerance
    champion_family, why = choose_champion(selection_scores, tolerance=tol)

    # Rolling-origin backtest with the chosen settings (no new search per origin).
    if split.kind == "cross_sectional":
        backtest = _no_backtest("not_applicable", (
            f"the panel has one labelled as_of_date ({split.as_of_date.date()}): the split is cross-sectional "
            "(customers at random) and there is no later date to roll the origin to"))
    elif backtest_origins <= 0:
        backtest = _no_backtest("not_requested", "backtest_origins=0 (a quick training, e.g. a first run's bootstrap)")
    else:
        backtest = _backtest(panel, sig, y_all, oracle_all, dates, fitted, champion_family,
                             horizon_days=horizon_days, validation_dates=validation_dates,
                             n_origins=backtest_origins, seed=seed, challenger_rows=challenger_rows,
                             backtest_rows=backtest_rows)

    clusters = fit_clusters(X["test"] if len(idx["test"]) else X["validation"],
                            y["test"] if len(idx["test"]) else y["validation"], sig, catalog_df,
                            n_clusters=n_clusters, seed=seed)

    registry = Registry(models_dir)
    version, vdir = registry.reserve_version()
    entries = {}
    for family, model in fitted.items():
        entries[family] = model.save(vdir)
    write_json(vdir / "signature.json", sig.to_dict())
    if clusters is not None:
        joblib.dump(clusters, vdir / "clusters.joblib")
    snap = snapshot_id or make_snapshot_id(panel)
    metadata = {
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "champion_family": champion_family,
        "selection": {"metric": selection_metric, "tolerance": tol, "validation_scores": selection_scores,
                      "reason": why, "capacity": capacity if selection_metric == "expected_value" else None},
        "split_kind": split.kind,
        "training_window": split.describe(),
        "rows": {"train": len(idx["train"]), "validation": len(idx["validation"]), "test": len(idx["test"]),
                 **panel_report},
        "features": sig.indicators,
        "model_columns": sig.model_columns,
        "derived_features": [d.name for d in sig.derived],
        "feature_hash": sig.feature_hash,
        "feature_report": sig_report,
        "data_snapshot_id": snap,
        "seed": seed,
        "search_budget": {"trial_budget": trial_budget, "time_budget_s": time_budget_s, "search_rows": search_rows},
        "params": {f: {k: v for k, v in m.params.items() if not k.startswith("_")} for f, m in fitted.items()},
        "models": entries,
        "metrics": results,
        "operating_threshold": results[champion_family]["operating_threshold"],
        "fit_seconds": fit_seconds,
        "feature_importance": feature_importance(fitted["xgboost"]) if "xgboost" in fitted else [],
        "backtest": backtest,
        "clusters": clusters.descriptions if clusters is not None else [],
        "has_truth": truth_df is not None,
        "libraries": {"xgboost": xgb.__version__, "scikit-learn": sklearn.__version__, "pandas": pd.__version__,
                      "python": platform.python_version()},
    }
    registry.register(version, metadata, promote=promote)
    duration = round(time.monotonic() - t_start, 2)
    log.info("registered %s (champion family %s) in %.1fs", version, champion_family, duration)
    return {
        "model_version": version,
        "version": version,  # the same, under the short name the pipeline reads
        "champion_family": champion_family,
        "promoted": promote,
        "champion": registry.champion(),
        "selection": metadata["selection"],
        "split_kind": split.kind,
        "training_window": metadata["training_window"],
        "rows": metadata["rows"],
        "feature_hash": sig.feature_hash,
        "data_snapshot_id": snap,
        "metrics": {f: {"validation": _slim(r["validation"]), "test": _slim(r.get("test", {}))}
                    for f, r in results.items()},
        "backtest": backtest.get("summary", {}),
        "backtest_status": backtest["status"],
        "backtest_reason": backtest.get("reason"),
        "duration_s": duration,
        "models_dir": str(Path(models_dir)),
    }


def _slim(m: dict) -> dict:
    return {k: v for k, v in m.items() if k not in ("reliability",)}


def _no_backtest(status: str, reason: str) -> dict:
    log.info("backtest %s: %s", status.replace("_", " "), reason)
    return {"status": status, "reason": reason, "origins": [], "runs": {}, "summary": {}}


def _backtest(panel, sig, y_all, oracle_all, dates, fitted, champion_family, *, horizon_days, validation_dates,
              n_origins, seed, challenger_rows, backtest_rows) -> dict:
    splits = rolling_origins(dates, n_origins=n_origins, horizon_days=horizon_days, validation_dates=validation_dates)
    families = [f for f in dict.fromkeys((champion_family, "xgboost", "logistic_regression")) if f in fitted]
    X_all = build_matrix(panel, sig)
    runs: dict[str, list[dict]] = {f: [] for f in families}
    origins = []
    for sp in splits:
        m_tr, m_va, m_te = (m.to_numpy() for m in sp.masks(panel["as_of_date"]))
        if backtest_rows is not None and m_tr.sum() > backtest_rows:
            # Each origin refits from scratch; a seeded row sample keeps six of them affordable.
            keep = np.random.default_rng(seed).choice(np.flatnonzero(m_tr), backtest_rows, replace=False)
            m_tr = np.zeros_like(m_tr)
            m_tr[keep] = True
        if len(np.unique(y_all[m_tr])) < 2 or len(np.unique(y_all[m_va])) < 2 or m_te.sum() == 0:
            continue
        origins.append(sp.describe())
        for f in families:
            fixed = None
            if f == "xgboost":
                fixed = {k: fitted[f].params[k] for k in SEARCH_KEYS}
            model = _fit_family(f, X_all.loc[m_tr], y_all[m_tr], X_all.loc[m_va], y_all[m_va], sig, seed=seed,
                                trial_budget=1, time_budget_s=0, search_rows=None,
                                challenger_rows=challenger_rows, fixed_params=fixed)
            raw = model.raw_score(X_all.loc[m_va])
            model.calibrator, _ = fit_calibrator(raw, y_all[m_va], groups=panel["customer_id"].to_numpy()[m_va], seed=seed)
            thr = M.f1_threshold(y_all[m_va], model.calibrator.transform(raw))
            r = M.evaluate(y_all[m_te], model.predict_proba(X_all.loc[m_te]), threshold=thr,
                           oracle_p=oracle_all[m_te] if oracle_all is not None else None)
            r["test_as_of_date"] = sp.test_date.date().isoformat()
            runs[f].append(_slim(r))
        log.info("backtest origin %s done", sp.test_date.date())
    out = {"status": "done", "origins": origins, "runs": runs, "summary": {f: M.summarise(r) for f, r in runs.items()}}
    if not origins:
        out.update(status="not_applicable",
                   reason=f"no origin among the latest {n_origins} as_of_dates leaves enough labelled history")
    return out
