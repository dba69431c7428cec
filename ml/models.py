"""The challengers (plan 2.3) and the calibration that turns their scores into probabilities.

Every family produces a raw score (a margin or decision value) on the model matrix from
:mod:`ml.features`; a :class:`Calibrator` fitted on the validation window maps it to a
probability "that means what it says" (isotonic or Platt). Families, simplest first:

- ``logistic_regression``: median imputation with missing-value flags, log of skewed amounts,
  scaling, one-hot categories (plan 2.3(1));
- ``decision_tree``: a depth-limited CART tree, missing values routed natively (plan 2.3(2));
- ``linear_svm``: a linear support-vector machine (hinge loss, L2, fitted by averaged SGD) on
  the logistic-regression features, Platt scaled (plan 2.3(3));
- ``xgboost``: gradient-boosted trees with native missing values and categories, class
  weighting, early stopping and a bounded, seeded hyper-parameter search (plan 5.2).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.metrics import average_precision_score, log_loss
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from ml.features import FeatureSignature

FAMILIES = ("logistic_regression", "decision_tree", "linear_svm", "xgboost")
# Rank of simplicity for the tie rule: on a tie the lower rank wins.
SIMPLICITY = {"logistic_regression": 0, "decision_tree": 1, "linear_svm": 2, "xgboost": 3}
MAX_THREADS = 2  # the cores of the reference machine
# Below this many rows a second thread costs more in synchronisation than it saves (measured:
# 200 trees on 40k rows took 0.8 s on one thread and 3.8 s on two on a busy 2-core machine).
PARALLEL_MIN_ROWS = 300_000


def threads_for(n_rows: int) -> int:
    return MAX_THREADS if n_rows >= PARALLEL_MIN_ROWS else 1


def predict_threads(n_rows: int) -> int:
    # Prediction is independent per row: a second thread pays off far sooner than in training.
    return MAX_THREADS if n_rows >= 20_000 else 1


# --------------------------------------------------------------------------- calibration
@dataclass
class Calibrator:
    """Monotone map from a raw score to a probability, stored as plain numbers (JSON)."""

    method: str  # "platt" | "isotonic" | "identity"
    a: float = 1.0
    b: float = 0.0
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)

    def transform(self, score: np.ndarray) -> np.ndarray:
        s = np.asarray(score, dtype=float)
        if self.method == "platt":
            return 1.0 / (1.0 + np.exp(-(self.a * s + self.b)))
        if self.method == "isotonic":
            return np.interp(s, np.asarray(self.x), np.asarray(self.y))
        return np.clip(s, 0.0, 1.0)

    def to_dict(self) -> dict:
        return {"method": self.method, "a": self.a, "b": self.b, "x": self.x, "y": self.y}

    @classmethod
    def from_dict(cls, d: dict) -> Calibrator:
        return cls(d["method"], d.get("a", 1.0), d.get("b", 0.0), list(d.get("x", [])), list(d.get("y", [])))


def _fit_platt(s: np.ndarray, y: np.ndarray) -> Calibrator:
    lr = LogisticRegression(C=1e6, max_iter=1000)
    lr.fit(s.reshape(-1, 1), y)
    return Calibrator("platt", a=float(lr.coef_[0, 0]), b=float(lr.intercept_[0]))


def _fit_isotonic(s: np.ndarray, y: np.ndarray) -> Calibrator:
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
    iso.fit(s, y)
    # A small floor/ceiling keeps log-loss finite and never promises certainty.
    ys = np.clip(iso.y_thresholds_, 1e-4, 1 - 1e-4)
    return Calibrator("isotonic", x=iso.X_thresholds_.astype(float).tolist(), y=ys.astype(float).tolist())


def fit_calibrator(score: np.ndarray, y: np.ndarray, *, method: str = "auto", groups: np.ndarray | None = None,
                   seed: int = 42) -> tuple[Calibrator, dict]:
    """Fit on the validation window. ``auto`` picks isotonic or Platt by log-loss on held-out halves."""
    s = np.asarray(score, dtype=float)
    y = np.asarray(y, dtype=int)
    info: dict = {"rows": int(len(y)), "positives": int(y.sum())}
    if y.sum() == 0 or y.sum() == len(y):
        info["method"] = "identity"
        info["note"] = "validation window has one class only; probabilities left uncalibrated"
        return Calibrator("identity"), info
    if method == "auto":
        # Split by customer (groups) so the same person is never on both sides.
        rng = np.random.default_rng(seed)
        if groups is not None:
            uniq = pd.unique(pd.Series(groups))
            half = set(rng.permutation(uniq)[: len(uniq) // 2].tolist())
            m = pd.Series(groups).isin(half).to_numpy()
        else:
            m = rng.random(len(y)) < 0.5
        scores = {}
        for name, fit in (("platt", _fit_platt), ("isotonic", _fit_isotonic)):
            losses = []
            for a, b in ((m, ~m), (~m, m)):
                if y[a].sum() == 0 or y[b].sum() == 0:
                    continue
                c = fit(s[a], y[a])
                losses.append(log_loss(y[b], np.clip(c.transform(s[b]), 1e-6, 1 - 1e-6), labels=[0, 1]))
            scores[name] = float(np.mean(losses)) if losses else math.inf
        method = min(scores, key=scores.get)  # ties -> platt (listed first, fewer parameters)
        info["held_out_log_loss"] = scores
    cal = _fit_isotonic(s, y) if method == "isotonic" else _fit_platt(s, y)
    info["method"] = cal.method
    return cal, info


# --------------------------------------------------------------------------- sklearn parts
class SkewLog(BaseEstimator, TransformerMixin):
    """Signed log1p for heavily skewed columns (balances, amounts); others pass unchanged."""

    def __init__(self, skew_limit: float = 2.0):
        self.skew_limit = skew_limit

    def fit(self, X, y=None):
        X = np.asarray(X, dtype=float)
        with np.errstate(all="ignore"):
            sd = X.std(axis=0)
            skew = np.where(sd > 0, ((X - X.mean(axis=0)) ** 3).mean(axis=0) / np.where(sd > 0, sd, 1) ** 3, 0)
        self.log_mask_ = np.abs(np.nan_to_num(skew)) > self.skew_limit
        return self

    def transform(self, X):
        X = np.array(X, dtype=float, copy=True)
        X[:, self.log_mask_] = np.sign(X[:, self.log_mask_]) * np.log1p(np.abs(X[:, self.log_mask_]))
        return X

    def get_feature_names_out(self, input_features=None):
        return np.asarray(input_features, dtype=object)


def tree_columns(sig: FeatureSignature) -> list[str]:
    """The indicators and the ratio features: boosted trees find zero flags, levels and
    interactions themselves, so those derived features (made for the linear models) would only
    cost time; a ratio of two columns is what axis-aligned splits cannot form."""
    return [*sig.indicators, *(d.name for d in sig.derived if d.kind == "ratio")]


def tree_view(X: pd.DataFrame, sig: FeatureSignature) -> pd.DataFrame:
    return X[tree_columns(sig)]


def sklearn_frame(X: pd.DataFrame, sig: FeatureSignature) -> pd.DataFrame:
    """Categoricals as their integer codes (-1 = missing or unseen) for sklearn's one-hot encoder.

    The signature fixes each column's categories, so a code means the same in training and
    scoring; integers encode an order of magnitude faster than strings.
    """
    out = X.copy()
    for c in sig.categorical_columns():
        out[c] = out[c].cat.codes.astype(np.int16)
    return out


def _linear_preprocessor(sig: FeatureSignature) -> ColumnTransformer:
    num = Pipeline([
        ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
        ("log", SkewLog()),
        ("scale", StandardScaler()),
    ])
    cat = OneHotEncoder(handle_unknown="ignore", min_frequency=20, sparse_output=False)
    return ColumnTransformer([("num", num, sig.numeric_columns()), ("cat", cat, sig.categorical_columns())],
                             verbose_feature_names_out=True)


def _tree_preprocessor(sig: FeatureSignature) -> ColumnTransformer:
    cat = OneHotEncoder(handle_unknown="ignore", min_frequency=20, sparse_output=False)
    return ColumnTransformer([("num", "passthrough", sig.numeric_columns()),
                              ("cat", cat, sig.categorical_columns())], verbose_feature_names_out=True)


# --------------------------------------------------------------------------- fitted model
@dataclass
class FittedModel:
    family: str
    estimator: Any
    signature: FeatureSignature
    params: dict
    calibrator: Calibrator = field(default_factory=lambda: Calibrator("identity"))
    calibration_info: dict = field(default_factory=dict)
    best_iteration: int | None = None
    search: dict = field(default_factory=dict)

    # raw score: a margin (xgboost, linear) or an uncalibrated probability (tree)
    def raw_score(self, X: pd.DataFrame) -> np.ndarray:
        if self.family == "xgboost":
            nt = predict_threads(len(X))
            self.estimator.set_param({"nthread": nt})
            d = xgb.DMatrix(tree_view(X, self.signature), enable_categorical=True, nthread=nt)
            return self.estimator.predict(d, output_margin=True, iteration_range=self._range())
        Xs = sklearn_frame(X, self.signature)
        if self.family == "decision_tree":
            return self.estimator.predict_proba(Xs)[:, 1]
        return self.estimator.decision_function(Xs)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        return self.calibrator.transform(self.raw_score(X))

    def _range(self) -> tuple[int, int]:
        # The stored booster is already cut at its early-stopping point: use every tree.
        return (0, 0)

    # contributions to the raw score, per catalog indicator; rows sum (with bias) to the margin
    def contributions(self, X: pd.DataFrame, *, approximate: bool = False
                      ) -> tuple[np.ndarray, np.ndarray, list[str]] | None:
        """Per-indicator contributions to the margin, and the bias; rows sum to the margin.

        XGBoost: exact TreeSHAP, or with ``approximate`` the path attribution of Saabas
        (``approx_contribs``), about 20x faster and also summing to the margin.
        """
        parents, weights = parent_matrix(self.signature)
        if self.family == "xgboost":
            nt = predict_threads(len(X))
            self.estimator.set_param({"nthread": nt})
            d = xgb.DMatrix(tree_view(X, self.signature), enable_categorical=True, nthread=nt)
            c = self.estimator.predict(d, pred_contribs=True, approx_contribs=approximate,
                                       iteration_range=self._range())
            cols = tree_columns(self.signature)
            if len(cols) == len(self.signature.indicators):
                # Columns are exactly the indicators, in catalog order: no folding needed.
                return c[:, :-1], c[:, -1], list(self.signature.indicators)
            rows = [self.signature.model_columns.index(col) for col in cols]
            return c[:, :-1] @ weights[rows], c[:, -1], parents
        if self.family in ("logistic_regression", "linear_svm"):
            return self._linear_contributions(X, parents, weights)
        return None

    def _linear_contributions(self, X, parents, weights):
        pre = self.estimator.named_steps["pre"]
        clf = self.estimator.named_steps["clf"]
        Z = pre.transform(sklearn_frame(X, self.signature))
        coef = np.ravel(clf.coef_)
        center = np.asarray(self.params.get("_transformed_mean"), dtype=float)
        contrib_z = (Z - center) * coef
        bias = np.full(len(Z), float(np.ravel(clf.intercept_)[0]) + float(center @ coef))
        cols = self.signature.model_columns
        names = list(pre.get_feature_names_out())
        # Each transformed column comes from exactly one model column (longest matching name).
        m = np.zeros((len(names), len(cols)), dtype=float)
        for i, n in enumerate(names):
            raw = n.split("__", 1)[1]
            raw = raw.removeprefix("missingindicator_")
            best = max((c for c in cols if raw == c or raw.startswith(c + "_")), key=len, default=None)
            if best is not None:
                m[i, cols.index(best)] = 1.0
        return (contrib_z @ m) @ weights, bias, parents

    # persistence
    def save(self, directory: Path) -> dict:
        directory.mkdir(parents=True, exist_ok=True)
        if self.family == "xgboost":
            path = directory / "xgboost.json"
            self.estimator.save_model(path)
        else:
            path = directory / f"{self.family}.joblib"
            joblib.dump(self.estimator, path)
        return {"family": self.family, "file": path.name, "params": self.params,
                "calibrator": self.calibrator.to_dict(), "calibration": self.calibration_info,
                "best_iteration": self.best_iteration, "search": self.search}

    @classmethod
    def load(cls, directory: Path, entry: dict, sig: FeatureSignature) -> FittedModel:
        path = directory / entry["file"]
        if entry["family"] == "xgboost":
            est = xgb.Booster()
            est.load_model(path)
        else:
            est = joblib.load(path)
        return cls(entry["family"], est, sig, entry["params"], Calibrator.from_dict(entry["calibrator"]),
                   entry.get("calibration", {}), entry.get("best_iteration"), entry.get("search", {}))


def parent_matrix(sig: FeatureSignature) -> tuple[list[str], np.ndarray]:
    """Model columns -> catalog indicators: derived features share their contribution among parents."""
    parents = list(sig.indicators)
    idx = {p: i for i, p in enumerate(parents)}
    cols = sig.model_columns
    w = np.zeros((len(cols), len(parents)), dtype=np.float32)
    for j, c in enumerate(cols):
        ps = sig.parents[c]
        for p in ps:
            w[j, idx[p]] += 1.0 / len(ps)
    return parents, w


# --------------------------------------------------------------------------- training
def _sample_rows(n: int, max_rows: int | None, seed: int) -> np.ndarray:
    if max_rows is None or n <= max_rows:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_rows, replace=False))


def _val_pr_auc(y: np.ndarray, s: np.ndarray) -> float:
    return float(average_precision_score(y, s)) if 0 < y.sum() < len(y) else 0.0


def fit_linear(family: str, Xtr, ytr, Xva, yva, sig: FeatureSignature, *, seed: int,
               max_rows: int | None = 300_000) -> FittedModel:
    rows = _sample_rows(len(Xtr), max_rows, seed)
    Xs, ys = sklearn_frame(Xtr.iloc[rows], sig), ytr[rows]
    Xv = sklearn_frame(Xva, sig)
    grid = [0.1, 1.0] if family == "logistic_regression" else [0.01, 0.1]
    best: tuple[float, Any, float] | None = None
    for c in grid:
        if family == "logistic_regression":
            clf = LogisticRegression(C=c, max_iter=500)
        else:
            # Hinge loss by stochastic gradient: the same linear SVM as liblinear's, 10x faster
            # at panel sizes; alpha plays 1/(C * n_rows).
            clf = SGDClassifier(loss="hinge", alpha=1.0 / (c * len(rows)), class_weight="balanced",
                                max_iter=50, tol=1e-4, random_state=seed, average=True)
        pipe = Pipeline([("pre", _linear_preprocessor(sig)), ("clf", clf)]).fit(Xs, ys)
        score = _val_pr_auc(yva, pipe.decision_function(Xv))
        if best is None or score > best[0]:
            best = (score, pipe, c)
    _, pipe, c = best
    mean = pipe.named_steps["pre"].transform(Xs).mean(axis=0)
    params = {"C": c, "train_rows": int(len(rows)), "_transformed_mean": mean.astype(float).tolist()}
    if family == "linear_svm":
        params["class_weight"] = "balanced"
    return FittedModel(family, pipe, sig, params)


def fit_tree(Xtr, ytr, Xva, yva, sig: FeatureSignature, *, seed: int, max_rows: int | None = 300_000
             ) -> FittedModel:
    rows = _sample_rows(len(Xtr), max_rows, seed)
    Xs, ys = sklearn_frame(Xtr.iloc[rows], sig), ytr[rows]
    Xv = sklearn_frame(Xva, sig)
    leaf = max(20, len(rows) // 2000)
    best = None
    for depth in (4, 6, 8):
        clf = DecisionTreeClassifier(max_depth=depth, min_samples_leaf=leaf, class_weight="balanced",
                                     random_state=seed)
        pipe = Pipeline([("pre", _tree_preprocessor(sig)), ("clf", clf)]).fit(Xs, ys)
        score = _val_pr_auc(yva, pipe.predict_proba(Xv)[:, 1])
        if best is None or score > best[0]:
            best = (score, pipe, depth)
    _, pipe, depth = best
    return FittedModel("decision_tree", pipe, sig, {"max_depth": depth, "min_samples_leaf": leaf,
                                                    "class_weight": "balanced", "train_rows": int(len(rows))})


XGB_DEFAULTS = {
    "max_depth": 4, "eta": 0.05, "min_child_weight": 5.0, "subsample": 0.8, "colsample_bytree": 0.8,
    "reg_lambda": 1.0, "reg_alpha": 0.0, "gamma": 0.0, "pos_weight": "sqrt",
}


SEARCH_KEYS = tuple(XGB_DEFAULTS)


def _draw_params(rng: np.random.Generator) -> dict:
    return {
        "max_depth": int(rng.choice([3, 4, 5, 6, 7, 8])),
        "eta": float(np.exp(rng.uniform(np.log(0.02), np.log(0.2)))),
        "min_child_weight": float(np.exp(rng.uniform(np.log(1), np.log(100)))),
        "subsample": float(rng.uniform(0.6, 1.0)),
        "colsample_bytree": float(rng.uniform(0.5, 1.0)),
        "reg_lambda": float(np.exp(rng.uniform(np.log(0.5), np.log(30)))),
        "reg_alpha": float(rng.choice([0.0, 0.1, 1.0])),
        "gamma": float(rng.choice([0.0, 0.5, 2.0])),
        "pos_weight": str(rng.choice(["1", "sqrt", "ratio"])),
    }


def booster_params(p: dict, y: np.ndarray, seed: int) -> dict:
    neg, pos = float((y == 0).sum()), float(max((y == 1).sum(), 1))
    spw = {"1": 1.0, "sqrt": math.sqrt(neg / pos), "ratio": neg / pos}[p["pos_weight"]]
    return {
        "objective": "binary:logistic", "eval_metric": "aucpr", "tree_method": "hist",
        "max_depth": p["max_depth"], "eta": p["eta"], "min_child_weight": p["min_child_weight"],
        "subsample": p["subsample"], "colsample_bytree": p["colsample_bytree"],
        "lambda": p["reg_lambda"], "alpha": p["reg_alpha"], "gamma": p["gamma"],
        "scale_pos_weight": spw, "max_cat_to_onehot": 4, "seed": seed, "nthread": threads_for(len(y)),
        "max_bin": 256,
    }


def dmatrix(X: pd.DataFrame, y: np.ndarray | None = None, ref=None) -> xgb.DMatrix:
    return xgb.QuantileDMatrix(X, y, enable_categorical=True, nthread=threads_for(len(X)), ref=ref, max_bin=256)


def fit_xgboost(Xtr, ytr, Xva, yva, sig: FeatureSignature, *, seed: int, trial_budget: int = 20,
                time_budget_s: float = 600.0, max_rounds: int = 2000, early_stopping: int = 50,
                search_rows: int | None = 400_000, fixed_params: dict | None = None,
                log=print) -> FittedModel:
    """Seeded random search (trial and time budget) with early stopping on the validation window.

    Trial 0 is always the defaults, so a budget of one trial is a plain, sensible model. The
    search may run on a row sample (``search_rows``); the best parameters are then refitted on
    all training rows. The time budget stops *starting* trials: the search is reproducible as
    long as the trial budget binds first.
    """
    t0 = time.monotonic()
    Xtr, Xva = tree_view(Xtr, sig), tree_view(Xva, sig)
    trials: list[dict] = []
    if fixed_params is not None:
        best_p = dict(fixed_params)
    else:
        rows = _sample_rows(len(Xtr), search_rows, seed)
        dtr = dmatrix(Xtr.iloc[rows], ytr[rows])
        dva = dmatrix(Xva, yva, ref=dtr)
        rng = np.random.default_rng(seed)
        best_p, best_s = None, -1.0
        for i in range(max(1, trial_budget)):
            if i > 0 and time.monotonic() - t0 > time_budget_s:
                log(f"xgboost search: time budget {time_budget_s:.0f}s reached after {i} trials")
                break
            p = dict(XGB_DEFAULTS) if i == 0 else _draw_params(rng)
            bst = xgb.train(booster_params(p, ytr[rows], seed), dtr, num_boost_round=max_rounds,
                            evals=[(dva, "validation")], early_stopping_rounds=early_stopping,
                            verbose_eval=False)
            s = float(bst.best_score)
            trials.append({"trial": i, "params": p, "validation_pr_auc": s, "best_iteration": int(bst.best_iteration)})
            log(f"xgboost trial {i}: validation PR-AUC {s:.4f} at {bst.best_iteration + 1} trees")
            if s > best_s:
                best_p, best_s = p, s
        del dtr, dva
    dtr = dmatrix(Xtr, ytr)
    dva = dmatrix(Xva, yva, ref=dtr)
    bst = xgb.train(booster_params(best_p, ytr, seed), dtr, num_boost_round=max_rounds,
                    evals=[(dva, "validation")], early_stopping_rounds=early_stopping, verbose_eval=False)
    best_iteration = int(bst.best_iteration)
    # Keep only the trees up to the early-stopping point: smaller file, faster scoring.
    bst = bst[: best_iteration + 1]
    params = dict(best_p)
    params["scale_pos_weight"] = booster_params(best_p, ytr, seed)["scale_pos_weight"]
    params["n_trees"] = best_iteration + 1
    search = {"trials": trials, "trial_budget": trial_budget, "time_budget_s": time_budget_s,
              "trials_run": len(trials), "search_seconds": round(time.monotonic() - t0, 2)}
    return FittedModel("xgboost", bst, sig, params, best_iteration=best_iteration, search=search)


def search_xgboost_cv(X: pd.DataFrame, y: np.ndarray, sig: FeatureSignature, *, seed: int, trial_budget: int = 20,
                      time_budget_s: float = 600.0, nfold: int = 4, max_rounds: int = 3000,
                      early_stopping: int = 100, defaults: dict | None = None,
                      draw: Callable[[np.random.Generator], dict] = _draw_params, nthread: int | None = None,
                      log=print) -> dict:
    """The same seeded search, scored by stratified k-fold ROC-AUC instead of one holdout.

    For small, single-snapshot data (a few thousand customers, no time axis) one validation
    holdout is too noisy to choose among trials; k folds average that noise away. Trial 0 uses
    ``defaults`` (:data:`XGB_DEFAULTS` unless given), later trials ``draw(rng)``. Returns the
    best parameters with the number of trees found by early stopping.
    """
    t0 = time.monotonic()
    threads = nthread or threads_for(len(X))
    d = xgb.DMatrix(tree_view(X, sig), y, enable_categorical=True, nthread=threads)  # cv: no QuantileDMatrix
    rng = np.random.default_rng(seed)
    best: dict | None = None
    trials = []
    for i in range(max(1, trial_budget)):
        if i > 0 and time.monotonic() - t0 > time_budget_s:
            break
        p = dict(defaults or XGB_DEFAULTS) if i == 0 else draw(rng)
        bp = booster_params(p, y, seed)
        bp.update(eval_metric="auc", nthread=threads)
        hist = xgb.cv(bp, d, num_boost_round=max_rounds, nfold=nfold, stratified=True, seed=seed,
                      early_stopping_rounds=early_stopping, verbose_eval=False)
        score, n = float(hist["test-auc-mean"].iloc[-1]), len(hist)
        trials.append({"trial": i, "params": p, "cv_roc_auc": score, "n_trees": n})
        log(f"xgboost cv trial {i}: ROC-AUC {score:.4f} at {n} trees")
        if best is None or score > best["cv_roc_auc"]:
            best = trials[-1]
    return {"params": best["params"], "n_trees": best["n_trees"], "cv_roc_auc": best["cv_roc_auc"],
            "trials": trials}


def feature_importance(model: FittedModel, top: int = 20) -> list[dict]:
    if model.family != "xgboost":
        return []
    gain = model.estimator.get_score(importance_type="total_gain")
    total = sum(gain.values()) or 1.0
    items = sorted(gain.items(), key=lambda kv: -kv[1])[:top]
    return [{"feature": k, "gain_share": v / total} for k, v in items]
