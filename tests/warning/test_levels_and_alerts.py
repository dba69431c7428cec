from __future__ import annotations

import pandas as pd
import pytest

from include.warning import assign_risk_levels, build_alerts, mask_name, thresholds_from_history
from include.warning.alerts import alert_id, load_rules, recommend_action


def test_cutoffs_follow_the_historical_churn_rate():
    low = thresholds_from_history(0.01)
    high = thresholds_from_history(0.05)
    # at a 1% base rate the floors decide; at 5% the lifts do (8x, 4x, 2x the odds)
    assert low.cutoffs == {"red": 0.20, "orange": 0.10, "yellow": 0.05}
    assert high.cutoffs == pytest.approx({"red": 8 / 27, "orange": 4 / 23, "yellow": 2 / 21})


def test_a_high_churn_rate_still_gives_three_distinct_levels_below_one():
    # 20% of customers churn within the horizon (a one-snapshot export such as Churn_Modelling)
    cutoffs = thresholds_from_history(0.20).cutoffs
    assert cutoffs == pytest.approx({"red": 2 / 3, "orange": 1 / 2, "yellow": 1 / 3})
    p = pd.Series([0.30, 0.40, 0.55, 0.70])
    assert assign_risk_levels(p, thresholds_from_history(0.20)).astype(str).tolist() == [
        "green", "yellow", "orange", "red"]


def test_levels_are_assigned_most_severe_first():
    thresholds = thresholds_from_history(0.01)
    p = pd.Series([0.0, 0.049, 0.05, 0.099, 0.10, 0.2, 0.97])
    assert assign_risk_levels(p, thresholds).astype(str).tolist() == [
        "green", "green", "yellow", "yellow", "orange", "red", "red"
    ]


@pytest.mark.parametrize("bad", [[-0.1], [1.2], [float("nan")]])
def test_probabilities_outside_unit_interval_are_refused(bad):
    with pytest.raises(ValueError, match=r"churn_probability must be in \[0, 1\]"):
        assign_risk_levels(pd.Series([0.5, *bad]), thresholds_from_history(0.01))


def test_invalid_history_rate_is_refused():
    with pytest.raises(ValueError, match="historical churn rate"):
        thresholds_from_history(1.5)


def test_mask_name_keeps_initials_only():
    assert mask_name("Wang Xiaoming") == "W*** X*******"
    assert mask_name(None) is None


def test_alert_ids_are_stable_across_reruns():
    assert alert_id("C0000001", "2025-12-31") == alert_id("C0000001", pd.Timestamp("2025-12-31"))
    assert alert_id("C0000001", "2025-12-31") != alert_id("C0000001", "2025-11-30")


def test_retention_rules_match_family_then_indicator_then_default():
    rules = load_rules()
    assert recommend_action("complaints_feedback", "complaints_90d", rules) == "complaint_escalation"
    assert recommend_action("transaction_behaviour", "outflow_share_other_bank_90d", rules) == "rm_call_outflows"
    assert recommend_action("transaction_behaviour", "transactions_90d", rules) == "engagement_campaign"
    assert recommend_action(None, None, rules) == rules["default"]["action"]


def test_build_alerts_only_for_alert_levels_with_owner_masking_and_actions():
    scores = pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3", "C4"],
            "as_of_date": ["2025-12-31"] * 4,
            "churn_probability": [0.9, 0.12, 0.06, 0.01],
            "risk_level": ["red", "orange", "yellow", "green"],
            "model_version": "m1",
            "reason_1": ["AUM fell 62% in 3 months", "2 open complaints", "rate gap", "n/a"],
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3", "C4"],
            "name": ["Li Lei", "Han Meimei", "Zhang San", "Li Si"],
            "segment": ["affluent", "mass", "mass", "private_banking"],
            "relationship_manager_id": ["RM1", "RM2", "RM2", "RM3"],
            "branch_id": ["B1", "B1", "B2", "B3"],
        }
    )
    reasons = pd.DataFrame(
        {"customer_id": ["C1", "C2", "C3"], "family": ["transaction_behaviour", "complaints_feedback", "market_environment"],
         "indicator": ["outflow_share_other_bank_90d", "complaints_unresolved", "competitor_rate_spread"]}
    )
    alerts = build_alerts(scores, customers, top_reasons=reasons, created_at=pd.Timestamp("2026-01-01", tz="UTC"))
    assert alerts["customer_id"].tolist() == ["C1", "C2", "C3"]
    assert alerts["risk_level"].tolist() == ["red", "orange", "yellow"]
    assert alerts["recommended_action"].tolist() == ["rm_call_outflows", "complaint_escalation", "rate_offer"]
    assert alerts["customer_name_masked"].tolist() == ["L* L**", "H** M*****", "Z**** S**"]
    assert "name" not in alerts.columns
    assert [str(d) for d in alerts["action_due_date"]] == ["2026-01-03", "2026-01-07", "2026-01-14"]
    assert alerts["alert_id"].is_unique
