"""Cross-sectional training: a panel with one labelled as_of_date (a one-snapshot export such as
Churn_Modelling.csv through its mapping) is split by customer, stratified by the label."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.registry import Registry
from ml.scoring import score_panel
from ml.splits import CrossSectionalSplit, SplitError, TimeSplit, choose_split
from ml.synthetic import catalog, make_panel


@pytest.fixture(scope="module")
def snapshot():
    """One as_of_date of the synthetic panel: 3,000 customers, about 10 % churners."""
    panel, truth = make_panel(3000, 1, seed=5, base_logit=-3.0)
    return panel, truth


def test_one_labelled_date_gives_a_cross_sectional_split(snapshot):
    panel, _ = snapshot
    dates = sorted(panel["as_of_date"].unique())
    split = choose_split(dates, horizon_days=90, seed=3)
    assert isinstance(split, CrossSectionalSplit) and split.kind == "cross_sectional"
    many = choose_split(list(pd.date_range("2024-01-31", periods=21, freq="ME")))
    assert isinstance(many, TimeSplit) and many.kind == "time"
    with pytest.raises(SplitError, match="one labelled as_of_date"):
        choose_split(list(pd.date_range("2024-01-31", periods=3, freq="ME")), kind="cross_sectional")


def test_customers_are_split_disjointly_stratified_and_whole(snapshot):
    panel, _ = snapshot
    split = choose_split(sorted(panel["as_of_date"].unique()), seed=3)
    tr, va, te = split.panel_masks(panel)
    assert not (tr & va).any() and not (tr & te).any() and not (va & te).any()
    assert (tr | va | te).all(), "every customer is in one part"
    ids = {name: set(panel.loc[m, "customer_id"]) for name, m in (("tr", tr), ("va", va), ("te", te))}
    assert not (ids["tr"] & ids["va"]) and not (ids["tr"] & ids["te"]) and not (ids["va"] & ids["te"])
    n = len(panel)
    assert abs(tr.sum() / n - 0.6) < 0.01 and abs(va.sum() / n - 0.2) < 0.01 and abs(te.sum() / n - 0.2) < 0.01
    y = panel["churned_within_horizon"].astype(float)
    rate = y.mean()
    for m in (tr, va, te):
        assert abs(y[m].mean() - rate) < 0.005, "each part keeps the panel's churn rate"
    d = split.describe()
    assert d["split_kind"] == "cross_sectional" and d["test_as_of_date"] == d["train_start"] == d["train_end"]


def test_assignment_ignores_row_order_and_follows_the_seed(snapshot):
    panel, _ = snapshot
    split = choose_split(sorted(panel["as_of_date"].unique()), seed=3)
    shuffled = panel.sample(frac=1.0, random_state=1)
    a = pd.Series(split.assign(panel), index=panel["customer_id"])
    b = pd.Series(split.assign(shuffled), index=shuffled["customer_id"])
    assert (a.sort_index() == b.sort_index()).all()
    other = CrossSectionalSplit(split.as_of_date, split.horizon_days, seed=4)
    assert (other.assign(panel) != split.assign(panel)).any()


def test_training_on_one_snapshot_records_the_split_and_no_backtest(snapshot, tmp_path):
    from ml.training import train_and_register

    panel, _ = snapshot
    result = train_and_register(panel, catalog(), models_dir=tmp_path, seed=7, trial_budget=2, backtest_origins=6)
    assert result["split_kind"] == "cross_sectional"
    assert result["training_window"]["split_kind"] == "cross_sectional"
    assert result["backtest_status"] == "not_applicable"
    assert "one labelled as_of_date" in result["backtest_reason"]
    rows = result["rows"]
    assert rows["train"] + rows["validation"] + rows["test"] == len(panel)
    assert rows["test"] == pytest.approx(0.2 * len(panel), abs=2)
    registry = Registry(tmp_path)
    meta = registry.metadata(result["model_version"])
    assert meta["split_kind"] == "cross_sectional"
    assert meta["backtest"]["status"] == "not_applicable" and meta["backtest"]["reason"]
    # every challenger was still fitted, calibrated and evaluated on the held-out customers
    assert set(meta["metrics"]) == {"logistic_regression", "decision_tree", "linear_svm", "xgboost"}
    for family, m in meta["metrics"].items():
        assert m["split_kind"] == "cross_sectional", family
        assert m["test"]["rows"] == rows["test"] and 0.5 < m["test"]["roc_auc"] <= 1.0, family
    frame = registry.to_frame()
    row = frame.loc[frame["model_version"] == result["model_version"]].iloc[0]
    assert row["split_kind"] == "cross_sectional" and row["backtest_status"] == "not_applicable"
    assert str(row["test_as_of_date"]) == str(pd.Timestamp(panel["as_of_date"].iloc[0]).date())
    # the champion scores the same date's customers, with reasons, none dropped
    scores, reasons = score_panel(panel.drop(columns=["churned_within_horizon"]), catalog(), models_dir=tmp_path)
    assert len(scores) == len(panel) and scores["churn_probability"].between(0, 1).all()
    assert scores["reason_1"].notna().mean() > 0.9
    assert np.isfinite(scores["churn_probability"]).all()


def test_time_split_versions_still_say_time(trained):
    meta = Registry(trained["models_dir"]).metadata(trained["result"]["model_version"])
    assert meta["split_kind"] == "time" and meta["backtest"]["status"] == "done"
    assert trained["result"]["backtest_status"] == "done"
