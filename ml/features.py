"""From a customer-month panel and the indicator catalog to model matrices (plan 2.2, 4.1).

The panel is the dbt mart ``marts.training_panel`` (or ``marts.scoring_panel``): one row per
(customer_id, as_of_date), one column per indicator, and for training the label
``churned_within_horizon``. The catalog (``marts.indicator_catalog``) says which columns are
indicators, whether they are categorical, and how to name them to a person.

A :class:`FeatureSignature` is learned once at training time and stored with the model. Scoring
checks the scoring panel against it (missing columns fail by name, unseen categories and empty
columns are reported) and builds exactly the same matrix, so a model never sees a feature
layout it was not trained on.

Derived features (plan 4.1 "feature engineering") are decided from the training data, not
hard-coded to one data set, and each one has a parent indicator so reason codes are always
told in the catalog's words:

- ``<x>__is_zero``: a non-negative amount that is exactly zero for a sizeable share of rows
  (an empty balance means something different from a small one);
- ``<x>__level``: an integer indicator with few distinct values (number of products held) as
  a category, because its effect is rarely monotone;
- ``<x>__x__<flag>``: a continuous indicator times an activity/status flag (age for active vs.
  inactive customers), for the linear challengers which cannot find interactions themselves;
- ``<stem>_<w>d__vs_<W>d``: a count or amount over a short window against the same measure over
  the longest window of that stem, both per day (transactions in the last 30 days against the
  customer's own yearly pace). A drop against one's own habit says more than the level, which
  varies from customer to customer; trees cannot form a ratio from two split columns, so it is
  given to them too (``ml.models.tree_view``), and its contribution is shared by both parents.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

KEY_COLUMNS = ("customer_id", "as_of_date")
LABEL_COLUMN = "churned_within_horizon"
# Columns a panel may carry that are never features: keys, label, label metadata, identifiers.
NON_FEATURE_COLUMNS = frozenset(
    {*KEY_COLUMNS, LABEL_COLUMN, "churn_date", "churn_type", "churn_reason", "label_definition",
     "horizon_days", "horizon_end_date"}
)
CATEGORICAL_TYPES = ("varchar", "string", "text", "category", "categorical", "enum", "char")
BOOLEAN_TYPES = ("boolean", "bool")
CATALOG_COLUMNS = ("indicator", "family", "name_en", "name_zh", "formula", "unit", "risk_direction", "data_type")

# Limits for the derived features; chosen so they trigger on real signal only.
ZERO_SHARE_MIN = 0.05
LEVEL_MAX_DISTINCT = 8
INTERACTION_MAX = 6
RATIO_MAX = 16
WINDOW_PATTERN = re.compile(r"^(?P<stem>.+)_(?P<days>\d+)d$")
MAX_CATEGORIES = 64


class FeatureMismatchError(ValueError):
    """The scoring panel does not carry the features the model was trained on."""


def empty_catalog() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in CATALOG_COLUMNS})


def normalise_catalog(catalog_df: pd.DataFrame | None) -> pd.DataFrame:
    """The catalog with every expected column present (missing ones filled with None)."""
    if catalog_df is None or len(catalog_df) == 0:
        return empty_catalog()
    cat = catalog_df.copy()
    for c in CATALOG_COLUMNS:
        if c not in cat.columns:
            cat[c] = None
    cat["indicator"] = cat["indicator"].astype(str)
    return cat.drop_duplicates("indicator", keep="last").reset_index(drop=True)


@dataclass
class DerivedFeature:
    name: str
    kind: str  # "is_zero" | "level" | "interaction" | "ratio"
    parents: list[str]
    categories: list[str] = field(default_factory=list)


@dataclass
class FeatureSignature:
    """What a model needs from a panel, and how to turn the panel into its matrix."""

    indicators: list[str]  # panel columns the model reads (the contract with the panel)
    kinds: dict[str, str]  # indicator -> "numeric" | "categorical"
    categories: dict[str, list[str]]  # categorical indicator -> categories seen in training
    derived: list[DerivedFeature]
    medians: dict[str, float]  # training medians, for reporting only (models impute themselves)

    @property
    def model_columns(self) -> list[str]:
        return [*self.indicators, *(d.name for d in self.derived)]

    @property
    def parents(self) -> dict[str, list[str]]:
        """Model column -> the catalog indicators its contribution is attributed to."""
        out = {c: [c] for c in self.indicators}
        out.update({d.name: list(d.parents) for d in self.derived})
        return out

    @property
    def feature_hash(self) -> str:
        payload = json.dumps(
            {"indicators": self.indicators, "kinds": self.kinds, "categories": self.categories,
             "derived": [asdict(d) for d in self.derived]},
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def categorical_columns(self) -> list[str]:
        cats = [c for c in self.indicators if self.kinds[c] == "categorical"]
        return cats + [d.name for d in self.derived if d.kind == "level"]

    def numeric_columns(self) -> list[str]:
        nums = [c for c in self.indicators if self.kinds[c] == "numeric"]
        return nums + [d.name for d in self.derived if d.kind != "level"]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["feature_hash"] = self.feature_hash
        return d

    @classmethod
    def from_dict(cls, d: dict) -> FeatureSignature:
        return cls(
            indicators=list(d["indicators"]),
            kinds=dict(d["kinds"]),
            categories={k: list(v) for k, v in d["categories"].items()},
            derived=[DerivedFeature(**x) for x in d["derived"]],
            medians={k: float(v) for k, v in d.get("medians", {}).items()},
        )


def _catalog_type(catalog: pd.DataFrame, col: str) -> str | None:
    hit = catalog.loc[catalog["indicator"] == col, "data_type"]
    if len(hit) == 0 or hit.iloc[0] is None or (isinstance(hit.iloc[0], float) and np.isnan(hit.iloc[0])):
        return None
    return str(hit.iloc[0]).lower()


def _is_categorical(series: pd.Series, catalog_type: str | None) -> bool:
    if catalog_type is not None:
        if any(t in catalog_type for t in CATEGORICAL_TYPES):
            return True
        if any(t in catalog_type for t in BOOLEAN_TYPES):
            return False
        return False
    return not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series))


def to_numeric(series: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(series):
        return series.astype("float64")
    if pd.api.types.is_numeric_dtype(series):
        return series.astype("float64")
    # Booleans stored as text, decimals as objects: coerce; a value that does not parse is missing.
    s = series
    if s.dtype == object or pd.api.types.is_string_dtype(s):
        low = s.astype("string").str.strip().str.lower()
        mapped = low.map({"true": 1.0, "false": 0.0, "t": 1.0, "f": 0.0, "yes": 1.0, "no": 0.0})
        if mapped.notna().sum() == low.notna().sum() and low.notna().any():
            return mapped.astype("float64")
    return pd.to_numeric(s, errors="coerce").astype("float64")


def candidate_indicators(panel: pd.DataFrame, catalog: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Indicator columns to use, and panel columns ignored (neither catalogued nor keys)."""
    cols = [c for c in panel.columns if c not in NON_FEATURE_COLUMNS]
    catalogued = set(catalog["indicator"]) if len(catalog) else set()
    if catalogued:
        used = [c for c in cols if c in catalogued]
        ignored = [c for c in cols if c not in catalogued]
    else:
        # No catalog: every non-key column except identifiers is an indicator.
        used = [c for c in cols if not c.endswith("_id")]
        ignored = [c for c in cols if c.endswith("_id")]
    return used, ignored


def learn_signature(panel: pd.DataFrame, catalog_df: pd.DataFrame | None, *,
                    derive: bool = True) -> tuple[FeatureSignature, dict]:
    """Decide features, kinds, categories and derived features from the training panel."""
    catalog = normalise_catalog(catalog_df)
    used, ignored = candidate_indicators(panel, catalog)
    report: dict = {"ignored_columns": ignored, "dropped_all_null": [], "dropped_constant": []}
    indicators: list[str] = []
    kinds: dict[str, str] = {}
    categories: dict[str, list[str]] = {}
    medians: dict[str, float] = {}
    for col in used:
        s = panel[col]
        if s.notna().sum() == 0:
            report["dropped_all_null"].append(col)
            continue
        if _is_categorical(s, _catalog_type(catalog, col)):
            vc = s.dropna().astype(str).value_counts()
            if len(vc) <= 1:
                report["dropped_constant"].append(col)
                continue
            kinds[col] = "categorical"
            # Rare tails beyond MAX_CATEGORIES are treated as unseen (missing) to bound width.
            categories[col] = sorted(vc.index[:MAX_CATEGORIES].tolist())
        else:
            x = to_numeric(s)
            if x.nunique(dropna=True) <= 1:
                report["dropped_constant"].append(col)
                continue
            kinds[col] = "numeric"
            medians[col] = float(np.nanmedian(x.to_numpy()))
        indicators.append(col)

    derived: list[DerivedFeature] = []
    if derive:
        derived = _learn_derived(panel, indicators, kinds, catalog)
    sig = FeatureSignature(indicators, kinds, categories, derived, medians)
    return sig, report


def _learn_derived(panel: pd.DataFrame, indicators: list[str], kinds: dict[str, str],
                   catalog: pd.DataFrame) -> list[DerivedFeature]:
    sample = panel if len(panel) <= 200_000 else panel.sample(200_000, random_state=0)
    out: list[DerivedFeature] = []
    flags: list[str] = []
    continuous: list[tuple[float, str]] = []
    for col in indicators:
        if kinds[col] != "numeric":
            continue
        x = to_numeric(sample[col]).dropna()
        if len(x) == 0:
            continue
        distinct = x.nunique()
        is_int = bool(np.all(np.equal(np.mod(x.to_numpy(), 1), 0)))
        if distinct == 2 and set(np.unique(x)) <= {0.0, 1.0}:
            flags.append(col)
            continue
        if is_int and 3 <= distinct <= LEVEL_MAX_DISTINCT:
            out.append(DerivedFeature(f"{col}__level", "level", [col],
                                      [str(int(v)) for v in sorted(x.unique())]))
            continue
        zero_share = float((x == 0).mean())
        if x.min() >= 0 and ZERO_SHARE_MIN <= zero_share <= 1 - ZERO_SHARE_MIN and distinct > LEVEL_MAX_DISTINCT:
            out.append(DerivedFeature(f"{col}__is_zero", "is_zero", [col]))
        if distinct > LEVEL_MAX_DISTINCT:
            continuous.append((distinct, col))
    out.extend(_learn_ratios(sample, indicators, kinds))
    # Interactions of status flags with the continuous indicators most associated with the
    # label (if a label is there); bounded so the linear models stay small.
    if flags and continuous and LABEL_COLUMN in sample.columns:
        y = to_numeric(sample[LABEL_COLUMN]).fillna(0).to_numpy()
        scored = []
        for _, col in continuous:
            x = to_numeric(sample[col])
            r = _rank_corr(x.to_numpy(), y)
            scored.append((abs(r), col))
        scored.sort(reverse=True)
        flag_scores = sorted(
            ((abs(_rank_corr(to_numeric(sample[f]).to_numpy(), y)), f) for f in flags), reverse=True
        )
        n = 0
        for _, f in flag_scores[:2]:
            for _, col in scored[:3]:
                if n >= INTERACTION_MAX:
                    break
                out.append(DerivedFeature(f"{col}__x__{f}", "interaction", [col, f]))
                n += 1
    return out


def window_days(name: str) -> int | None:
    m = WINDOW_PATTERN.match(name)
    return int(m.group("days")) if m else None


def _learn_ratios(sample: pd.DataFrame, indicators: list[str], kinds: dict[str, str]) -> list[DerivedFeature]:
    """Short-window over longest-window pace for non-negative windowed counts and amounts."""
    stems: dict[str, list[tuple[int, str]]] = {}
    for col in indicators:
        m = WINDOW_PATTERN.match(col)
        if kinds[col] != "numeric" or m is None:
            continue
        x = to_numeric(sample[col]).dropna()
        if len(x) == 0 or x.min() < 0 or x.nunique() <= LEVEL_MAX_DISTINCT:
            continue
        stems.setdefault(m.group("stem"), []).append((int(m.group("days")), col))
    out: list[DerivedFeature] = []
    for stem in sorted(stems):
        windows = sorted(stems[stem])
        longest_days, longest = windows[-1]
        for _days, col in windows[:-1]:
            if len(out) >= RATIO_MAX:
                return out
            out.append(DerivedFeature(f"{col}__vs_{longest_days}d", "ratio", [col, longest]))
    return out


def _rank_corr(x: np.ndarray, y: np.ndarray) -> float:
    ok = ~np.isnan(x)
    if ok.sum() < 10 or np.nanstd(x[ok]) == 0 or np.std(y[ok]) == 0:
        return 0.0
    xr = pd.Series(x[ok]).rank().to_numpy()
    return float(np.corrcoef(xr, y[ok])[0, 1])


@dataclass
class MatrixReport:
    unseen_categories: dict[str, int] = field(default_factory=dict)
    all_null_columns: list[str] = field(default_factory=list)
    unparseable_values: dict[str, int] = field(default_factory=dict)
    extra_columns: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def messages(self) -> list[str]:
        msgs = []
        for c, n in self.unseen_categories.items():
            msgs.append(f"{n} rows have a category of '{c}' unseen in training; scored as missing")
        for c in self.all_null_columns:
            msgs.append(f"column '{c}' is empty (all null) in this panel; scored as missing")
        for c, n in self.unparseable_values.items():
            msgs.append(f"{n} values of '{c}' are not numbers; scored as missing")
        if self.extra_columns:
            msgs.append(f"columns not used by the model were ignored: {', '.join(self.extra_columns)}")
        return msgs


def check_columns(panel: pd.DataFrame, sig: FeatureSignature, *, model_version: str = "?") -> None:
    missing = [c for c in sig.indicators if c not in panel.columns]
    if missing:
        raise FeatureMismatchError(
            f"scoring panel lacks {len(missing)} indicator column(s) that model {model_version} "
            f"was trained on: {', '.join(missing)}"
        )


def build_matrix(panel: pd.DataFrame, sig: FeatureSignature, *, report: MatrixReport | None = None
                 ) -> pd.DataFrame:
    """The model matrix: float32 numerics, pandas categoricals with the training categories.

    Unseen categories become missing (XGBoost routes them by its learned default direction;
    the linear models' one-hot encoders give them all-zero columns); counts go to ``report``.
    """
    check_columns(panel, sig)
    rep = report if report is not None else MatrixReport()
    data: dict[str, pd.Series] = {}
    numeric_cache: dict[str, pd.Series] = {}
    for col in sig.indicators:
        s = panel[col]
        if s.isna().all() and len(s):
            rep.all_null_columns.append(col)
        if sig.kinds[col] == "categorical":
            as_str = s.astype("string")
            known = as_str.isin(sig.categories[col])
            unseen = int((as_str.notna() & ~known).sum())
            cat = pd.Categorical(as_str.where(known), categories=sig.categories[col])
            if unseen:
                rep.unseen_categories[col] = unseen
            data[col] = pd.Series(cat, index=panel.index)
        else:
            x = to_numeric(s)
            bad = int((s.notna() & x.isna()).sum())
            if bad:
                rep.unparseable_values[col] = bad
            numeric_cache[col] = x
            data[col] = x.astype("float32")
    for d in sig.derived:
        if d.kind == "is_zero":
            x = numeric_cache[d.parents[0]]
            data[d.name] = (x == 0).astype("float32").where(x.notna())
        elif d.kind == "level":
            x = numeric_cache[d.parents[0]]
            labels = x.round().astype("Int64").astype("string")
            data[d.name] = pd.Series(pd.Categorical(labels, categories=d.categories), index=panel.index)
        elif d.kind == "interaction":
            a, b = (numeric_cache[p] for p in d.parents)
            data[d.name] = (a * b).astype("float32")
        elif d.kind == "ratio":
            a, b = (numeric_cache[p] for p in d.parents)
            wa, wb = (window_days(p) for p in d.parents)
            data[d.name] = ((a / wa) / (b / wb).where(b > 0)).astype("float32")
    return pd.DataFrame(data, index=panel.index)[sig.model_columns]


def labels(panel: pd.DataFrame) -> np.ndarray:
    return to_numeric(panel[LABEL_COLUMN]).to_numpy().astype(np.int8)


def snapshot_id(panel: pd.DataFrame) -> str:
    """A content hash of the training panel (keys, label and column layout)."""
    keys = [c for c in (*KEY_COLUMNS, LABEL_COLUMN) if c in panel.columns]
    h = hashlib.sha256()
    h.update(json.dumps(sorted(map(str, panel.columns))).encode())
    h.update(str(len(panel)).encode())
    # Sorted row hashes: the same rows in another order are the same snapshot.
    rows = pd.util.hash_pandas_object(panel[keys].astype("string"), index=False).to_numpy()
    h.update(np.sort(rows).tobytes())
    return h.hexdigest()[:16]
