"""Alert table: one row per alerted customer and as-of date, with reasons, owner and action."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import yaml

from include.config import ALERT_LEVELS

RULES_PATH = Path(__file__).with_name("retention_rules.yml")


def alert_id(customer_id: str, as_of_date) -> str:
    """Deterministic, so a rerun of the same as-of date yields the same alert ids (idempotent)."""
    key = f"{customer_id}|{pd.Timestamp(as_of_date).date().isoformat()}"
    return "A" + hashlib.sha1(key.encode()).hexdigest()[:15]


def mask_name(name: object) -> str | None:
    """'Wang Xiaoming' -> 'W*** X*******': enough for a relationship manager to recognise a
    customer they know, useless to anyone else (BI users never read PII in clear)."""
    if name is None or (isinstance(name, float) and pd.isna(name)):
        return None
    return " ".join(part[:1] + "*" * (len(part) - 1) for part in str(name).split())


def load_rules(path: Path = RULES_PATH) -> dict:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def recommend_action(family: str | None, indicator: str | None, rules: dict) -> str:
    for rule in rules["rules"]:
        when = rule["when"]
        if "family" in when and family == when["family"]:
            return rule["action"]
        if "indicator_contains" in when and indicator and when["indicator_contains"] in indicator:
            return rule["action"]
    return rules["default"]["action"]


def build_alerts(
    risk_scores: pd.DataFrame,
    customers: pd.DataFrame,
    *,
    top_reasons: pd.DataFrame | None = None,
    created_at: pd.Timestamp,
    rules: dict | None = None,
) -> pd.DataFrame:
    """Alerts for every customer whose risk_level is red, orange or yellow.

    ``risk_scores``: customer_id, as_of_date, churn_probability, risk_level, model_version, and
    reason_1..3 / reason_1_zh..3_zh when the model gives them. ``customers``: customer_id, name,
    segment, relationship_manager_id, branch_id. ``top_reasons``: customer_id, family, indicator
    of each customer's main reason (chooses the retention action)."""
    rules = rules or load_rules()
    alerted = risk_scores[risk_scores["risk_level"].astype(str).isin(ALERT_LEVELS)].copy()
    owner_cols = ["customer_id", "name", "segment", "relationship_manager_id", "branch_id"]
    alerted = alerted.merge(customers[owner_cols], on="customer_id", how="left", validate="many_to_one")
    if top_reasons is not None and len(top_reasons):
        alerted = alerted.merge(
            top_reasons[["customer_id", "family", "indicator"]], on="customer_id", how="left", validate="many_to_one"
        )
    else:
        alerted["family"] = None
        alerted["indicator"] = None
    alerted["recommended_action"] = [
        recommend_action(f if isinstance(f, str) else None, i if isinstance(i, str) else None, rules)
        for f, i in zip(alerted["family"], alerted["indicator"], strict=True)
    ]
    due = alerted["risk_level"].astype(str).map(rules["due_days"]).astype(int)
    alerted["action_due_date"] = (pd.to_datetime(alerted["as_of_date"]) + pd.to_timedelta(due, unit="D")).dt.date
    alerted["alert_id"] = [alert_id(c, d) for c, d in zip(alerted["customer_id"], alerted["as_of_date"], strict=True)]
    alerted["customer_name_masked"] = alerted["name"].map(mask_name)
    alerted["created_at"] = created_at
    reason_cols = [c for c in alerted.columns if c.startswith("reason_")]
    columns = [
        "alert_id", "customer_id", "as_of_date", "churn_probability", "risk_level", "created_at",
        "model_version", "customer_name_masked", "segment", "relationship_manager_id", "branch_id",
        *reason_cols, "recommended_action", "action_due_date",
    ]
    alerted["risk_level"] = alerted["risk_level"].astype(str)
    severity = {level: i for i, level in enumerate(ALERT_LEVELS)}
    alerted = alerted.sort_values(
        ["risk_level", "churn_probability"], key=lambda s: s.map(severity) if s.name == "risk_level" else -s
    )
    return alerted[columns].reset_index(drop=True)
