"""Risk levels from calibrated churn probabilities.

Levels, most severe first: red, orange, yellow (each raises an alert) and green (scored, no
alert). Cut-offs come from a versioned parameters file and the historical churn rate within the
label horizon (plan 4.2), see risk_parameters.yml.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from include.config import ALERT_LEVELS, RISK_LEVELS

PARAMETERS_PATH = Path(__file__).with_name("risk_parameters.yml")


@dataclass(frozen=True)
class RiskThresholds:
    parameter_version: str
    historical_churn_rate: float
    cutoffs: dict[str, float]  # level -> minimum churn_probability, for the alert levels

    def to_frame(self, as_of_date) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "as_of_date": [pd.Timestamp(as_of_date).date()] * len(ALERT_LEVELS),
                "parameter_version": self.parameter_version,
                "risk_level": list(ALERT_LEVELS),
                "min_churn_probability": [self.cutoffs[level] for level in ALERT_LEVELS],
                "historical_churn_rate": self.historical_churn_rate,
            }
        )


def load_risk_parameters(path: Path = PARAMETERS_PATH) -> dict:
    with open(path, encoding="utf-8") as fh:
        params = yaml.safe_load(fh)
    missing = [level for level in ALERT_LEVELS if level not in params.get("levels", {})]
    if missing:
        raise ValueError(f"{path}: risk parameters lack levels {missing}")
    return params


def odds_lift(rate: float, lift: float) -> float:
    """The probability whose odds are ``lift`` times the odds of ``rate``. For a small rate it is
    about ``lift x rate``; unlike that product it stays below 1 for any rate under 1, so a bank
    whose customers churn often (20% within the horizon, say) still gets distinct levels."""
    if rate >= 1.0:
        return 1.0
    odds = lift * rate / (1.0 - rate)
    return odds / (1.0 + odds)


def thresholds_from_history(historical_churn_rate: float, params: dict | None = None) -> RiskThresholds:
    if not 0.0 <= historical_churn_rate <= 1.0 or np.isnan(historical_churn_rate):
        raise ValueError(f"historical churn rate must be a fraction in [0, 1], got {historical_churn_rate!r}")
    params = params or load_risk_parameters()
    cutoffs = {}
    for level in ALERT_LEVELS:
        spec = params["levels"][level]
        cutoffs[level] = float(max(spec["min_probability"], odds_lift(historical_churn_rate, spec["min_lift"])))
    ordered = [cutoffs[level] for level in ALERT_LEVELS]
    if ordered != sorted(ordered, reverse=True):
        raise ValueError(f"risk cut-offs must fall from red to yellow, got {cutoffs}")
    return RiskThresholds(str(params["parameter_version"]), float(historical_churn_rate), cutoffs)


def assign_risk_levels(churn_probability: pd.Series, thresholds: RiskThresholds) -> pd.Series:
    p = churn_probability.astype(float)
    if p.isna().any() or (p < 0).any() or (p > 1).any():
        bad = p[p.isna() | (p < 0) | (p > 1)]
        raise ValueError(f"churn_probability must be in [0, 1]; {len(bad)} rows are not, e.g. {bad.head(3).tolist()}")
    conditions = [p >= thresholds.cutoffs[level] for level in ALERT_LEVELS]
    levels = np.select(conditions, list(ALERT_LEVELS), default="green")
    return pd.Series(pd.Categorical(levels, categories=list(RISK_LEVELS)), index=churn_probability.index, name="risk_level")
