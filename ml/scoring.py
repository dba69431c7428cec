"""Score a panel with the champion and explain every score (plan 3.2(4), 3.3(3), 3.3(7)).

Entry point for the scoring DAG: :func:`score_panel`. Plain Python, no Airflow.

Guards before a single probability is written:

- the panel's columns are checked against the model's signature; missing indicator columns
  fail with their names (:class:`ml.features.FeatureMismatchError`);
- unseen categories, all-null columns, values that are not numbers and columns the model does
  not use are handled (scored as missing, or ignored) and *reported*: in the log and in
  ``scores_df.attrs["scoring_report"]``;
- every row of the scoring panel gets a score: the output has exactly the input's rows, in
  the input's order; rows without a customer_id or as_of_date fail the run by count.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

from ml.explain import N_REASONS, ReasonWriter, top_reasons
from ml.features import (
    KEY_COLUMNS,
    NON_FEATURE_COLUMNS,
    FeatureSignature,
    MatrixReport,
    build_matrix,
    check_columns,
)
from ml.models import FittedModel
from ml.registry import Registry

log = logging.getLogger("ml.scoring")

# Rows per chunk: bounds the memory of SHAP contributions (rows × features float32).
CHUNK_ROWS = 250_000
REASON_COLUMNS = ("customer_id", "as_of_date", "model_version", "rank", "indicator", "family", "name_en",
                  "name_zh", "value", "contribution", "direction", "reason_en", "reason_zh", "contribution_method")
# Customers (highest probability first) whose reasons come from exact TreeSHAP; see score_panel.
EXACT_REASON_ROWS = 20_000


def _contributions(explainer: FittedModel, X: pd.DataFrame, exact: np.ndarray) -> tuple[np.ndarray, list[str]]:
    if len(X) == 0:
        return np.zeros((0, len(explainer.signature.indicators))), list(explainer.signature.indicators)
    if explainer.family != "xgboost" or exact.all():
        c, _, parents = explainer.contributions(X)
        return c, parents
    out = None
    parents: list[str] = []
    for mask, approximate in ((exact, False), (~exact, True)):
        if not mask.any():
            continue
        c, _, parents = explainer.contributions(X.loc[mask], approximate=approximate)
        if out is None:
            out = np.empty((len(X), c.shape[1]), dtype=c.dtype)
        out[mask] = c
    return out, parents


class ScoringInputError(ValueError):
    """The scoring panel cannot be scored as given (missing keys)."""


class LoadedVersion:
    """A registered version ready to score: signature, champion, and the model that explains it."""

    def __init__(self, models_dir: str | Path, version: str | None = None, family: str | None = None):
        self.registry = Registry(models_dir)
        self.version = version or self.registry.champion()
        if self.version is None:
            self.registry.champion_metadata()  # raises the registry's clear "no champion" error
        self.metadata = self.registry.metadata(self.version)
        vdir = self.registry.version_dir(self.version)
        self.signature = FeatureSignature.from_dict(json.loads((vdir / "signature.json").read_text()))
        stored = self.signature.feature_hash
        if stored != self.metadata["feature_hash"]:
            raise RuntimeError(f"model {self.version}: signature hash {stored} does not match the registry's "
                               f"{self.metadata['feature_hash']}; the version folder was modified")
        # ``family`` picks another challenger of the same version (benchmarks, comparisons).
        fam = family or self.metadata["champion_family"]
        if fam not in self.metadata["models"]:
            raise ValueError(f"model {self.version} has no {fam!r} challenger (has: {', '.join(self.metadata['models'])})")
        self.champion = FittedModel.load(vdir, self.metadata["models"][fam], self.signature)
        # Trees from sklearn have no exact contributions: XGBoost of the same version explains.
        if fam in ("xgboost", "logistic_regression", "linear_svm") or "xgboost" not in self.metadata["models"]:
            self.explainer = self.champion
        else:
            self.explainer = FittedModel.load(vdir, self.metadata["models"]["xgboost"], self.signature)
        clusters_path = vdir / "clusters.joblib"
        self.clusters = joblib.load(clusters_path) if clusters_path.exists() else None


def score_panel(scoring_panel_df: pd.DataFrame, catalog_df: pd.DataFrame | None, *, models_dir: str | Path,
                version: str | None = None, scored_at: datetime | None = None,
                chunk_rows: int = CHUNK_ROWS, exact_reason_rows: int | None = EXACT_REASON_ROWS
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score every row with the champion (or ``version``); returns (scores_df, reasons_df).

    scores_df: customer_id, as_of_date, churn_probability, model_version, scored_at,
    reason_1..3 (English), reason_1_zh..reason_3_zh (Chinese), cluster_id.
    reasons_df (long form): customer_id, as_of_date, model_version, rank, indicator, family,
    name_en, name_zh, value, contribution (log-odds), direction, reason_en, reason_zh,
    contribution_method (tree_shap | saabas | linear).

    Reasons of the ``exact_reason_rows`` highest-probability customers come from exact TreeSHAP,
    the others' from Saabas path attributions (``None``: exact for everyone). Both are XGBoost's
    own ``pred_contribs`` and sum, with the bias, to the model's margin.
    """
    loaded = LoadedVersion(models_dir, version)
    return score_with(loaded, scoring_panel_df, catalog_df, scored_at=scored_at, chunk_rows=chunk_rows,
                      exact_reason_rows=exact_reason_rows)


def score_with(loaded: LoadedVersion, panel: pd.DataFrame, catalog_df: pd.DataFrame | None, *,
               scored_at: datetime | None = None, chunk_rows: int = CHUNK_ROWS,
               exact_reason_rows: int | None = EXACT_REASON_ROWS) -> tuple[pd.DataFrame, pd.DataFrame]:
    missing_keys = [c for c in KEY_COLUMNS if c not in panel.columns]
    if missing_keys:
        raise ScoringInputError(f"scoring panel lacks key column(s): {', '.join(missing_keys)}")
    null_keys = panel[list(KEY_COLUMNS)].isna().any(axis=1)
    if null_keys.any():
        raise ScoringInputError(f"{int(null_keys.sum())} scoring panel row(s) have no customer_id or as_of_date "
                                f"(first at position {int(np.argmax(null_keys.to_numpy()))}); fix the panel")
    sig = loaded.signature
    check_columns(panel, sig, model_version=loaded.version)
    scored_at = scored_at or datetime.now(UTC)
    writer = ReasonWriter(catalog_df, sig)
    report = MatrixReport()
    report.extra_columns = [c for c in panel.columns if c not in NON_FEATURE_COLUMNS and c not in sig.indicators]
    dup = int(panel.duplicated(list(KEY_COLUMNS)).sum())

    panel = panel.reset_index(drop=True)
    matrices, prob_parts = [], []
    for start in range(0, max(len(panel), 1), chunk_rows):
        X = build_matrix(panel.iloc[start:start + chunk_rows], sig, report=report)
        matrices.append(X)
        prob_parts.append(loaded.champion.predict_proba(X) if len(X) else np.zeros(0))
    prob = np.concatenate(prob_parts) if prob_parts else np.array([])
    # Exact TreeSHAP costs ~1-3 ms per customer; the customers a relationship manager will
    # read (the highest risk) get it, the rest get Saabas attributions (also exact sums).
    exact = np.ones(len(panel), dtype=bool)
    if exact_reason_rows is not None and len(panel) > exact_reason_rows:
        exact[:] = False
        exact[np.argsort(-prob, kind="stable")[:exact_reason_rows]] = True

    wide_parts, long_parts, cluster_parts = [], [], []
    for i, X in enumerate(matrices):
        start = i * chunk_rows
        part = panel.iloc[start:start + len(X)]
        ex = exact[start:start + len(X)]
        c, parents = _contributions(loaded.explainer, X, ex)
        wide, long = top_reasons(c, parents, part, writer, k=N_REASONS)
        wide_parts.append(pd.DataFrame(wide))
        if len(long):
            # top_reasons lists rank 1 for every row, then rank 2, ...
            exact_method = "tree_shap" if loaded.explainer.family == "xgboost" else "linear"
            long["contribution_method"] = np.where(np.tile(ex, len(long) // len(ex)), exact_method, "saabas")
            long["row"] += start
        long_parts.append(long)
        if loaded.clusters is not None and len(X):
            cluster_parts.append(loaded.clusters.assign(X))
        else:
            cluster_parts.append(np.full(len(X), -1))
    # Reports are per chunk; fold the duplicates of the all-null list.
    report.all_null_columns = sorted(set(report.all_null_columns))

    scores = pd.DataFrame({
        "customer_id": panel["customer_id"].to_numpy(),
        "as_of_date": pd.to_datetime(panel["as_of_date"]).dt.date.to_numpy(),
        "churn_probability": prob.astype(float),
        "model_version": loaded.version,
        "scored_at": pd.Timestamp(scored_at),
    })
    wide = pd.concat(wide_parts, ignore_index=True) if wide_parts else pd.DataFrame()
    for r in range(1, N_REASONS + 1):
        scores[f"reason_{r}"] = wide.get(f"reason_{r}")
    for r in range(1, N_REASONS + 1):
        scores[f"reason_{r}_zh"] = wide.get(f"reason_{r}_zh")
    scores["cluster_id"] = np.concatenate(cluster_parts).astype(int) if cluster_parts else np.array([], dtype=int)

    long = pd.concat(long_parts, ignore_index=True) if long_parts else pd.DataFrame()
    if len(long) == 0:
        long = pd.DataFrame({c: pd.Series(dtype="object") for c in REASON_COLUMNS})
    else:
        rows = long.pop("row").to_numpy()
        long.insert(0, "customer_id", scores["customer_id"].to_numpy()[rows])
        long.insert(1, "as_of_date", scores["as_of_date"].to_numpy()[rows])
        long.insert(2, "model_version", loaded.version)
        long = long[list(REASON_COLUMNS)]

    if len(scores) != len(panel) or np.isnan(scores["churn_probability"]).any():
        raise RuntimeError(f"scoring produced {len(scores)} scores for {len(panel)} rows "
                           f"({int(np.isnan(scores['churn_probability']).sum())} missing); nothing written")
    messages = report.messages()
    if dup:
        messages.append(f"{dup} rows repeat a (customer_id, as_of_date) already in the panel; each is scored")
    for m in messages:
        log.warning("model %s: %s", loaded.version, m)
    scores.attrs["scoring_report"] = {"model_version": loaded.version, "rows": len(scores),
                                      "duplicate_keys": dup, **report.to_dict(), "messages": messages}
    return scores, long
