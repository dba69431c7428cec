"""Customer clusters as an extra segmentation (plan 2.3(4), 6.1).

K-means on the standardised numeric indicators of one as_of_date. Each cluster is described
by the indicators whose centroid lies furthest from the population mean, in the catalog's
English and Chinese names ("high complaints, last 90 days" / "近90天投诉次数偏高"), with its
size and its observed churn rate, so an analyst can name it (loyal, at risk, dormant ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from ml.features import FeatureSignature, normalise_catalog
from ml.models import SkewLog


@dataclass
class CustomerClusters:
    pipeline: Pipeline
    columns: list[str]
    descriptions: list[dict] = field(default_factory=list)

    def assign(self, X: pd.DataFrame) -> np.ndarray:
        return self.pipeline.predict(X[self.columns].to_numpy(dtype=float)).astype(int)


def fit_clusters(X: pd.DataFrame, y: np.ndarray | None, sig: FeatureSignature, catalog_df: pd.DataFrame | None,
                 *, n_clusters: int = 5, seed: int = 42, max_rows: int = 50_000, top: int = 3) -> CustomerClusters | None:
    cols = [c for c in sig.indicators if sig.kinds[c] == "numeric"]
    if not cols or len(X) < n_clusters * 10:
        return None
    rows = np.arange(len(X))
    if len(X) > max_rows:
        rows = np.sort(np.random.default_rng(seed).choice(len(X), max_rows, replace=False))
    data = X.iloc[rows][cols].to_numpy(dtype=float)
    pipe = Pipeline([
        ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
        ("log", SkewLog()),
        ("scale", StandardScaler()),
        ("kmeans", KMeans(n_clusters=n_clusters, n_init=4, random_state=seed)),
    ]).fit(data)
    labels = pipe.predict(data)
    centers = pipe.named_steps["kmeans"].cluster_centers_  # in standardised units
    cat = normalise_catalog(catalog_df).set_index("indicator")

    def names(c: str) -> tuple[str, str, str]:
        if c in cat.index:
            r = cat.loc[c]
            en = r["name_en"] if isinstance(r["name_en"], str) else c
            zh = r["name_zh"] if isinstance(r["name_zh"], str) else c
            fam = r["family"] if isinstance(r["family"], str) else "unknown"
            return en, zh, fam
        return c.replace("_", " "), c, "unknown"

    descriptions = []
    for k in range(n_clusters):
        m = labels == k
        order = np.argsort(-np.abs(centers[k]))[:top]
        traits = []
        for j in order:
            en, zh, fam = names(cols[j])
            hi = centers[k, j] > 0
            traits.append({"indicator": cols[j], "family": fam, "z": float(centers[k, j]),
                           "text_en": f"{'high' if hi else 'low'} {en}",
                           "text_zh": f"{zh}{'偏高' if hi else '偏低'}"})
        descriptions.append({
            "cluster_id": k,
            "share": float(m.mean()),
            "churn_rate": float(np.mean(y[rows][m])) if y is not None and m.any() else None,
            "description_en": "; ".join(t["text_en"] for t in traits),
            "description_zh": "；".join(t["text_zh"] for t in traits),
            "traits": traits,
        })
    return CustomerClusters(pipe, cols, descriptions)
