import numpy as np
import pytest

from ml.features import FeatureMismatchError
from ml.scoring import ScoringInputError, score_panel


def test_missing_columns_fail_naming_them(trained, latest_rows, synthetic):
    panel = latest_rows.drop(columns=["complaints_90d", "segment"])
    with pytest.raises(FeatureMismatchError) as err:
        score_panel(panel, synthetic["catalog"], models_dir=trained["models_dir"])
    assert "complaints_90d" in str(err.value) and "segment" in str(err.value)
    assert trained["result"]["model_version"] in str(err.value)


def test_every_customer_gets_a_score_in_input_order(trained, latest_rows, synthetic):
    shuffled = latest_rows.sample(frac=1.0, random_state=1).reset_index(drop=True)
    scores, reasons = score_panel(shuffled, synthetic["catalog"], models_dir=trained["models_dir"])
    assert len(scores) == len(shuffled)
    assert scores["customer_id"].tolist() == shuffled["customer_id"].tolist()
    assert scores["churn_probability"].between(0, 1).all()
    assert scores["model_version"].eq(trained["result"]["model_version"]).all()
    assert set(reasons["customer_id"]) == set(shuffled["customer_id"])
    cols = ["customer_id", "as_of_date", "churn_probability", "model_version", "scored_at",
            "reason_1", "reason_2", "reason_3", "reason_1_zh", "reason_2_zh", "reason_3_zh"]
    assert list(scores.columns[: len(cols)]) == cols


def test_unseen_category_is_scored_as_missing_and_reported(trained, latest_rows, synthetic):
    panel = latest_rows.copy()
    panel["segment"] = panel["segment"].astype(object)
    panel.loc[:9, "segment"] = "ultra_high_net_worth"
    scores, _ = score_panel(panel, synthetic["catalog"], models_dir=trained["models_dir"])
    report = scores.attrs["scoring_report"]
    assert report["unseen_categories"] == {"segment": 10}
    assert any("segment" in m and "unseen" in m for m in report["messages"])
    as_missing = latest_rows.copy()
    as_missing["segment"] = as_missing["segment"].astype(object)
    as_missing.loc[:9, "segment"] = None
    expected, _ = score_panel(as_missing, synthetic["catalog"], models_dir=trained["models_dir"])
    np.testing.assert_allclose(scores["churn_probability"], expected["churn_probability"])


def test_all_null_column_is_scored_and_reported(trained, latest_rows, synthetic):
    panel = latest_rows.copy()
    panel["satisfaction_latest"] = np.nan
    panel["unexpected_extra"] = 1
    scores, _ = score_panel(panel, synthetic["catalog"], models_dir=trained["models_dir"])
    report = scores.attrs["scoring_report"]
    assert report["all_null_columns"] == ["satisfaction_latest"]
    assert "unexpected_extra" in report["extra_columns"]
    assert scores["churn_probability"].notna().all() and len(scores) == len(panel)


def test_text_in_a_numeric_column_is_missing_and_reported(trained, latest_rows, synthetic):
    panel = latest_rows.copy()
    panel["complaints_90d"] = panel["complaints_90d"].astype(object)
    panel.loc[0, "complaints_90d"] = "n/a"
    scores, _ = score_panel(panel, synthetic["catalog"], models_dir=trained["models_dir"])
    assert scores.attrs["scoring_report"]["unparseable_values"] == {"complaints_90d": 1}


def test_rows_without_keys_fail_by_count(trained, latest_rows, synthetic):
    panel = latest_rows.copy()
    panel["customer_id"] = panel["customer_id"].astype(object)
    panel.loc[[3, 5], "customer_id"] = None
    with pytest.raises(ScoringInputError, match="2 scoring panel row"):
        score_panel(panel, synthetic["catalog"], models_dir=trained["models_dir"])


def test_an_empty_panel_gives_empty_tables_with_their_columns(trained, latest_rows, synthetic):
    scores, reasons = score_panel(latest_rows.head(0), synthetic["catalog"], models_dir=trained["models_dir"])
    assert len(scores) == 0 and "churn_probability" in scores.columns
    assert len(reasons) == 0 and {"indicator", "reason_en", "reason_zh"} <= set(reasons.columns)
