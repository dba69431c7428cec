"""Warning operations (plan 3.3(6)-(7), 4.2, 4.3): scores become risk levels, alerts and actions."""

from include.warning.alerts import build_alerts, mask_name
from include.warning.levels import (
    RiskThresholds,
    assign_risk_levels,
    load_risk_parameters,
    thresholds_from_history,
)

__all__ = [
    "RiskThresholds",
    "assign_risk_levels",
    "build_alerts",
    "load_risk_parameters",
    "mask_name",
    "thresholds_from_history",
]
