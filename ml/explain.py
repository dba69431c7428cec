"""Reason codes: the top drivers of each customer's score, in the catalog's words (plan 3.3(7)).

Contributions come from the model itself: XGBoost's SHAP values (``pred_contribs=True``),
exact for trees, or coefficient × centred feature for the linear challengers. Contributions
of derived features are returned to the indicators they come from (see :mod:`ml.features`),
so every reason names a catalog indicator, with its English and Chinese names, its family, the
customer's value in words, and whether it raises or lowers the risk.

The top three are the largest contributions towards churn; a customer with fewer than three
risk-raising drivers gets the strongest risk-lowering ones after them, marked as such.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ml.features import FeatureSignature, normalise_catalog, to_numeric

N_REASONS = 3

CURRENCY_UNITS = ("cny", "rmb", "yuan", "eur", "usd", "currency", "amount", "元", "money")
PERCENT_UNITS = ("percent", "pct", "%")
SHARE_UNITS = ("ratio", "share", "fraction", "proportion", "rate")
CHANGE_WORDS = ("change", "trend", "growth", "delta", "chg")
UNIT_ZH = {"days": "天", "day": "天", "months": "个月", "month": "个月", "years": "年", "year": "年",
           "transactions": "笔", "logins": "次", "products": "个", "score": "分", "complaints": "次"}


def _is_missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA


def _unit_kind(unit: str) -> str:
    u = (unit or "").strip().lower()
    if any(w in u for w in PERCENT_UNITS):
        return "percent"
    if any(w == u or u.startswith(w) for w in SHARE_UNITS):
        return "share"
    if any(w in u for w in CURRENCY_UNITS):
        return "currency"
    if u.startswith(("boolean", "bool", "flag", "yes/no")):
        return "flag"
    return "plain"


def _pct(v: float) -> str:
    a = abs(v)
    return f"{a:.0f}" if a >= 10 else f"{a:.1f}" if a >= 1 else f"{a:.2f}"


# Plain units shown without a word: the indicator's name already says what is counted.
SILENT_UNITS = ("", "none", "number", "index", "count", "score", "severity", "tier", "category", "flag")


def _num(v: float) -> str:
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:,.1f}M"
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 10 or float(v).is_integer():
        return f"{v:,.0f}"
    return f"{v:.2f}"


def _num_zh(v: float) -> str:
    a = abs(v)
    if a >= 1e8:
        return f"{v / 1e8:.1f}亿"
    if a >= 1e4:
        return f"{v / 1e4:.1f}万"
    return _num(v)


class ReasonWriter:
    """Turns (indicator, value, contribution) into an English and a Chinese sentence."""

    def __init__(self, catalog_df: pd.DataFrame | None, sig: FeatureSignature):
        cat = normalise_catalog(catalog_df).set_index("indicator")
        self.sig = sig
        self._cache: dict[tuple, tuple[str, str]] = {}
        self.meta: dict[str, dict] = {}
        for ind in sig.indicators:
            row = cat.loc[ind] if ind in cat.index else None

            def get(key, default, row=row):
                v = None if row is None else row.get(key)
                return default if _is_missing(v) or v == "" else str(v)

            self.meta[ind] = {
                "name_en": get("name_en", ind.replace("_", " ")),
                "name_zh": get("name_zh", ind),
                "family": get("family", "unknown"),
                "unit": get("unit", ""),
                "risk_direction": get("risk_direction", "none"),
            }

    def value_words(self, ind: str, value) -> tuple[str, str]:
        m = self.meta[ind]
        if _is_missing(value):
            return "no data", "无数据"
        if self.sig.kinds.get(ind) == "categorical":
            return f"{value}", f"{value}"
        v = float(value)
        kind = _unit_kind(m["unit"])
        is_change = any(w in ind.lower() or w in m["name_en"].lower() for w in CHANGE_WORDS)
        if kind in ("percent", "share"):
            pct = v * 100 if kind == "share" else v
            if is_change:
                if pct < 0:
                    return f"fell {_pct(pct)}%", f"下降{_pct(pct)}%"
                if pct > 0:
                    return f"rose {_pct(pct)}%", f"上升{_pct(pct)}%"
                return "unchanged", "无变化"
            sign = "-" if pct < 0 else ""
            return f"{sign}{_pct(pct)}%", f"{sign}{_pct(pct)}%"
        if kind == "flag":
            return ("yes", "是") if v >= 0.5 else ("no", "否")
        if kind == "currency":
            # A generic "currency" unit adds nothing; a code (CNY, EUR) is shown.
            cur = "" if m["unit"].strip().lower() in ("currency", "amount", "money") else m["unit"].strip()
            cur_en = f" {cur}" if cur else ""
            if is_change:
                if v < 0:
                    return f"fell by {_num(-v)}{cur_en}", f"减少{_num_zh(-v)}{cur}"
                return f"rose by {_num(v)}{cur_en}", f"增加{_num_zh(v)}{cur}"
            return f"{_num(v)}{cur_en}", f"{_num_zh(v)}{cur}"
        unit = m["unit"].strip()
        first = unit.lower().split(" ")[0] if unit else ""
        silent = first in SILENT_UNITS
        unit_zh = UNIT_ZH.get(first, "" if silent else unit)
        unit_en = "" if silent else f" {first}"
        if ind.lower().startswith("age") or m["name_en"].lower().startswith("age"):
            unit_zh = "岁"
        if is_change and v != 0:
            word, word_zh = ("rose", "上升") if v > 0 else ("fell", "下降")
            return f"{word} by {_num(abs(v))}{unit_en}", f"{word_zh}{_num(abs(v))}{unit_zh}"
        return f"{_num(v)}{unit_en}", f"{_num(v)}{unit_zh}"

    def sentence(self, ind: str, value, contribution: float) -> tuple[str, str]:
        # Chunks of one scoring run repeat the same (indicator, value, direction) a lot.
        key = (ind, value if not _is_missing(value) else None, contribution >= 0)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._sentence(ind, value, contribution)
            if len(self._cache) < 1_000_000:
                self._cache[key] = hit
        return hit

    def _sentence(self, ind: str, value, contribution: float) -> tuple[str, str]:
        m = self.meta[ind]
        en, zh = self.value_words(ind, value)
        if contribution >= 0:
            return f"{m['name_en']}: {en} (raises risk)", f"{m['name_zh']}：{zh}（推高流失风险）"
        return f"{m['name_en']}: {en} (lowers risk)", f"{m['name_zh']}：{zh}（降低流失风险）"


def top_reasons(contrib: np.ndarray, parents: list[str], panel: pd.DataFrame, writer: ReasonWriter,
                k: int = N_REASONS) -> tuple[dict[str, np.ndarray], pd.DataFrame]:
    """Wide columns reason_1..k (+ _zh) and the long table of the same reasons.

    Text is built once per (indicator, distinct value) rather than per row: a panel has far
    fewer distinct values per indicator than customers.
    """
    n, p = contrib.shape
    k = min(k, p)
    if n == 0 or k == 0:
        wide = {f"reason_{r + 1}": np.array([], dtype=object) for r in range(k)}
        wide.update({f"reason_{r + 1}_zh": np.array([], dtype=object) for r in range(k)})
        return wide, pd.DataFrame()
    part = np.argpartition(-contrib, kth=k - 1, axis=1)[:, :k]
    vals = np.take_along_axis(contrib, part, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")
    top = np.take_along_axis(part, order, axis=1)
    top_c = np.take_along_axis(vals, order, axis=1)

    wide: dict[str, np.ndarray] = {}
    long_parts = []
    for r in range(k):
        en = np.empty(n, dtype=object)
        zh = np.empty(n, dtype=object)
        value_out = np.empty(n, dtype=object)
        for j in np.unique(top[:, r]):
            rows = np.nonzero(top[:, r] == j)[0]
            ind = parents[j]
            raw = panel[ind].iloc[rows]
            if writer.sig.kinds.get(ind) == "categorical":
                values = raw.astype("object").where(raw.notna(), None).to_numpy()
                shown = values
            else:
                num = to_numeric(raw).to_numpy()
                values = np.where(np.isnan(num), None, np.round(num, 4)).astype(object)
                # Words show at most four significant digits: de-duplicate on those.
                shown = np.where(np.isnan(num), None, _significant(num, 4)).astype(object)
            signs = top_c[rows, r] >= 0
            key = np.char.add(shown.astype(str), np.where(signs, "|+", "|-"))
            codes, _ = pd.factorize(key)
            first = np.unique(codes, return_index=True)[1]
            texts = [writer.sentence(ind, shown[i], 1.0 if signs[i] else -1.0) for i in first]
            en[rows] = np.array([t[0] for t in texts], dtype=object)[codes]
            zh[rows] = np.array([t[1] for t in texts], dtype=object)[codes]
            value_out[rows] = np.where(pd.isna(values), None, values.astype(str))
        wide[f"reason_{r + 1}"] = en
        wide[f"reason_{r + 1}_zh"] = zh
        names = np.array(parents, dtype=object)[top[:, r]]
        long_parts.append(pd.DataFrame({
            "row": np.arange(n), "rank": r + 1, "indicator": names,
            "contribution": top_c[:, r].astype(float), "value": value_out,
            "direction": np.where(top_c[:, r] >= 0, "raises_risk", "lowers_risk"),
            "reason_en": en, "reason_zh": zh,
        }))
    long = pd.concat(long_parts, ignore_index=True)
    meta = pd.DataFrame.from_dict(writer.meta, orient="index")[["family", "name_en", "name_zh"]]
    long = long.join(meta, on="indicator")
    return wide, long


def _significant(x: np.ndarray, digits: int) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        mag = np.floor(np.log10(np.abs(x)))
    mag = np.where(np.isfinite(mag), mag, 0)
    scale = 10.0 ** (digits - 1 - mag)
    return np.round(x * scale) / scale
