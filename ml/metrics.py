"""Model metrics (plan 4.1 "evaluate", 5.1 accuracy and coverage).

Ranking: ROC-AUC, PR-AUC (average precision). Probability quality: Brier score, expected
calibration error and the reliability curve. What a retention team with limited capacity
sees: lift and capture (the plan's "coverage") in the top 5/10/20 %, and precision (the plan's
"accuracy") and recall at the operating threshold.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

TOP_SHARES = (0.05, 0.10, 0.20)


def _safe(fn, y, p) -> float | None:
    if len(np.unique(y)) < 2:
        return None
    return float(fn(y, p))


def reliability_curve(y: np.ndarray, p: np.ndarray, *, bins: int = 10, strategy: str = "uniform") -> list[dict]:
    """Per bin: mean predicted probability, observed churn rate, row count."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    if strategy == "quantile":
        edges = np.unique(np.quantile(p, np.linspace(0, 1, bins + 1)))
    else:
        edges = np.linspace(0.0, 1.0, bins + 1)
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
    out = []
    for b in range(len(edges) - 1):
        m = idx == b
        n = int(m.sum())
        if n == 0:
            continue
        out.append({"bin_low": float(edges[b]), "bin_high": float(edges[b + 1]), "n": n,
                    "mean_predicted": float(p[m].mean()), "observed_rate": float(y[m].mean())})
    return out


def ece(y: np.ndarray, p: np.ndarray, *, bins: int = 10, strategy: str = "uniform") -> float:
    """Expected calibration error: row-weighted mean |observed - predicted| over bins."""
    curve = reliability_curve(y, p, bins=bins, strategy=strategy)
    n = sum(c["n"] for c in curve)
    if n == 0:
        return float("nan")
    return float(sum(c["n"] * abs(c["observed_rate"] - c["mean_predicted"]) for c in curve) / n)


def top_share_metrics(y: np.ndarray, p: np.ndarray, share: float) -> dict:
    y = np.asarray(y, dtype=float)
    n = len(y)
    k = max(1, int(np.ceil(share * n)))
    order = np.argsort(-np.asarray(p), kind="stable")[:k]
    base = y.mean() if n else 0.0
    hits = y[order].sum()
    precision = hits / k
    return {"lift": float(precision / base) if base > 0 else None,
            "capture": float(hits / y.sum()) if y.sum() > 0 else None,
            "precision": float(precision)}


def f1_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """The probability threshold that maximises F1 (the default operating threshold)."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    if y.sum() == 0:
        return 0.5
    order = np.argsort(-p, kind="stable")
    ys = y[order]
    tp = np.cumsum(ys)
    k = np.arange(1, len(ys) + 1)
    f1 = 2 * tp / (k + ys.sum())
    # Only thresholds between distinct probabilities are reachable.
    ps = p[order]
    last_of_value = np.r_[ps[1:] != ps[:-1], True]
    f1 = np.where(last_of_value, f1, -1)
    best = int(np.argmax(f1))
    return float(ps[best])


def threshold_metrics(y: np.ndarray, p: np.ndarray, threshold: float) -> dict:
    y = np.asarray(y, dtype=bool)
    flag = np.asarray(p) >= threshold
    tp = int((flag & y).sum())
    fp = int((flag & ~y).sum())
    fn = int((~flag & y).sum())
    return {"threshold": float(threshold),
            "precision": tp / (tp + fp) if tp + fp else None,
            "recall": tp / (tp + fn) if tp + fn else None,
            "flagged_share": float(flag.mean()) if len(flag) else None,
            "confusion": {"tp": tp, "fp": fp, "fn": fn, "tn": int((~flag & ~y).sum())}}


def expected_value(y: np.ndarray, p: np.ndarray, *, capacity: float | int = 0.05,
                   retention_value: float = 1.0, contact_cost: float = 0.05,
                   success_rate: float = 0.3) -> float:
    """Value of contacting the top ``capacity`` customers (a share if < 1, else a count).

    Each contacted churner is saved with ``success_rate`` and is worth ``retention_value``;
    every contact costs ``contact_cost`` (both in the same unit, e.g. annual margin).
    """
    y = np.asarray(y, dtype=float)
    k = int(np.ceil(capacity * len(y))) if capacity < 1 else int(min(capacity, len(y)))
    top = np.argsort(-np.asarray(p), kind="stable")[:k]
    return float(y[top].sum() * retention_value * success_rate - k * contact_cost)


def evaluate(y: np.ndarray, p: np.ndarray, *, threshold: float | None = None,
             oracle_p: np.ndarray | None = None, oracle_y: np.ndarray | None = None) -> dict:
    """Every metric of one model on one set of rows."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    out: dict = {
        "rows": int(len(y)),
        "positives": int(y.sum()),
        "base_rate": float(y.mean()) if len(y) else None,
        "mean_probability": float(p.mean()) if len(p) else None,
        "roc_auc": _safe(roc_auc_score, y, p),
        "pr_auc": _safe(average_precision_score, y, p),
        "brier": float(np.mean((p - y) ** 2)) if len(y) else None,
        "ece": ece(y, p),
        "ece_quantile": ece(y, p, bins=10, strategy="quantile"),
        "reliability": reliability_curve(y, p, bins=10, strategy="quantile"),
    }
    for share in TOP_SHARES:
        tm = top_share_metrics(y, p, share)
        pct = int(round(share * 100))
        out[f"lift_top{pct}"] = tm["lift"]
        out[f"capture_top{pct}"] = tm["capture"]
    if threshold is not None:
        out["at_threshold"] = threshold_metrics(y, p, threshold)
    if oracle_p is not None:
        oracle_p = np.asarray(oracle_p, dtype=float)
        ok = ~np.isnan(oracle_p)
        out["oracle_rows"] = int(ok.sum())
        o_auc = _safe(roc_auc_score, y[ok], oracle_p[ok])
        m_auc = _safe(roc_auc_score, y[ok], p[ok])
        out["oracle_roc_auc"] = o_auc
        out["oracle_pr_auc"] = _safe(average_precision_score, y[ok], oracle_p[ok])
        out["oracle_ratio"] = (m_auc / o_auc) if (o_auc and m_auc) else None
        if oracle_y is not None:
            # The simulator's own outcome may differ from the pipeline's label definition:
            # the same figures against it show how much of a gap is the label, not the model.
            oy = np.asarray(oracle_y, dtype=float)
            ok2 = ok & ~np.isnan(oy)
            out["label_agreement_with_truth"] = float((oy[ok2] == y[ok2]).mean()) if ok2.any() else None
            o2 = _safe(roc_auc_score, oy[ok2], oracle_p[ok2])
            m2 = _safe(roc_auc_score, oy[ok2], p[ok2])
            out["truth_label_oracle_roc_auc"] = o2
            out["truth_label_roc_auc"] = m2
            out["truth_label_oracle_ratio"] = (m2 / o2) if (o2 and m2) else None
    return out


def summarise(runs: list[dict], keys: tuple[str, ...] = ("roc_auc", "pr_auc", "brier", "ece",
                                                        "lift_top10", "capture_top10", "oracle_ratio")) -> dict:
    """Mean, standard deviation, min and max of each metric over backtest origins."""
    out = {}
    for k in keys:
        vals = np.array([r[k] for r in runs if r.get(k) is not None], dtype=float)
        if len(vals) == 0:
            continue
        out[k] = {"mean": float(vals.mean()), "std": float(vals.std(ddof=1)) if len(vals) > 1 else 0.0,
                  "min": float(vals.min()), "max": float(vals.max()), "n": int(len(vals))}
    return out
