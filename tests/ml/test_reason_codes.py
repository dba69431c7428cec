import numpy as np
import pandas as pd

from ml.explain import ReasonWriter
from ml.features import FeatureSignature, build_matrix
from ml.scoring import LoadedVersion, score_panel


def test_contributions_sum_with_bias_to_the_margin(trained, latest_rows):
    loaded = LoadedVersion(trained["models_dir"])
    assert loaded.explainer.family == "xgboost"
    X = build_matrix(latest_rows, loaded.signature)
    contrib, bias, parents = loaded.explainer.contributions(X)
    # Derived features are folded into their parents: one column per catalog indicator.
    assert parents == loaded.signature.indicators
    margin = loaded.explainer.raw_score(X)
    np.testing.assert_allclose(contrib.sum(axis=1) + bias, margin, rtol=0, atol=1e-4)


def test_top_three_reasons_are_the_largest_contributions_in_catalog_words(trained, latest_rows, synthetic):
    scores, reasons = score_panel(latest_rows, synthetic["catalog"], models_dir=trained["models_dir"])
    loaded = LoadedVersion(trained["models_dir"])
    contrib, _, parents = loaded.explainer.contributions(build_matrix(latest_rows, loaded.signature))
    cat = synthetic["catalog"].set_index("indicator")
    assert len(reasons) == 3 * len(latest_rows)
    for i in (0, 7, 123):
        expected = [parents[j] for j in np.argsort(-contrib[i], kind="stable")[:3]]
        rows = reasons[reasons["customer_id"] == latest_rows["customer_id"][i]].sort_values("rank")
        assert rows["indicator"].tolist() == expected
        for r, ind in enumerate(expected, start=1):
            assert scores.loc[i, f"reason_{r}"].startswith(cat.loc[ind, "name_en"] + ":")
            assert scores.loc[i, f"reason_{r}_zh"].startswith(cat.loc[ind, "name_zh"] + "：")
        assert (rows["family"].to_numpy() == cat.loc[expected, "family"].to_numpy()).all()
        assert rows["contribution"].is_monotonic_decreasing
        assert set(rows["direction"]) <= {"raises_risk", "lowers_risk"}


def test_values_are_told_in_words_with_direction(synthetic):
    sig = FeatureSignature(
        indicators=["aum_change_3m", "complaints_90d", "aum_month_avg", "segment"],
        kinds={"aum_change_3m": "numeric", "complaints_90d": "numeric", "aum_month_avg": "numeric",
               "segment": "categorical"},
        categories={"segment": ["mass"]}, derived=[], medians={})
    w = ReasonWriter(synthetic["catalog"], sig)
    assert w.sentence("aum_change_3m", -0.62, 0.8) == (
        "AUM change, last 3 months: fell 62% (raises risk)", "近3个月资产变化率：下降62%（推高流失风险）")
    assert w.sentence("complaints_90d", 3, 0.5)[0] == "Complaints, last 90 days: 3 (raises risk)"
    assert w.sentence("aum_month_avg", 1_250_000, -0.2)[1] == "月日均资产：125.0万CNY（降低流失风险）"
    assert w.sentence("segment", "mass", 0.1)[0] == "Value segment: mass (raises risk)"
    assert w.sentence("aum_change_3m", np.nan, 0.1)[0] == "AUM change, last 3 months: no data (raises risk)"


def test_indicator_missing_from_catalog_is_named_by_its_column(trained, latest_rows, synthetic):
    partial = synthetic["catalog"][synthetic["catalog"]["indicator"] != "age"]
    scores, reasons = score_panel(latest_rows, partial, models_dir=trained["models_dir"])
    age = reasons[reasons["indicator"] == "age"]
    if len(age):
        assert age["reason_en"].str.startswith("age:").all()
        assert (age["family"] == "unknown").all()
    assert pd.notna(scores["reason_1"]).all()


def test_beyond_the_exact_budget_reasons_use_saabas_for_the_lower_risk(trained, latest_rows, synthetic):
    scores, reasons = score_panel(latest_rows, synthetic["catalog"], models_dir=trained["models_dir"],
                                  exact_reason_rows=100)
    method = reasons[reasons["rank"] == 1].set_index("customer_id")["contribution_method"]
    top100 = scores.nlargest(100, "churn_probability")["customer_id"]
    assert (method[top100] == "tree_shap").all()
    assert (method.drop(top100) == "saabas").all()
    exact, _ = score_panel(latest_rows, synthetic["catalog"], models_dir=trained["models_dir"],
                           exact_reason_rows=None)
    # Same probabilities; the highest-risk customers' reasons are the exact ones.
    assert (scores["churn_probability"] == exact["churn_probability"]).all()
    idx = scores.index[scores["customer_id"].isin(top100)]
    assert (scores.loc[idx, "reason_1"] == exact.loc[idx, "reason_1"]).all()
