import numpy as np
import pytest

from ml.models import SIMPLICITY
from ml.scoring import score_panel
from ml.training import TrainingDataError, choose_champion, train_and_register


def test_simpler_model_wins_a_tie():
    scores = {"xgboost": 0.402, "logistic_regression": 0.399, "decision_tree": 0.30}
    assert choose_champion(scores, tolerance=0.005)[0] == "logistic_regression"
    assert choose_champion(scores, tolerance=0.001)[0] == "xgboost"
    assert SIMPLICITY["logistic_regression"] < SIMPLICITY["xgboost"]


def test_champion_is_best_on_validation_within_tolerance(trained):
    sel = trained["result"]["selection"]
    best = max(sel["validation_scores"].values())
    champ = trained["result"]["champion_family"]
    assert sel["validation_scores"][champ] >= best - sel["tolerance"]


def test_same_data_same_seed_same_model(synthetic, tmp_path):
    rows = synthetic["panel"]
    kwargs = dict(seed=11, trial_budget=2, backtest_origins=0, challengers=("logistic_regression", "xgboost"))
    a = train_and_register(rows, synthetic["catalog"], models_dir=tmp_path / "a", **kwargs)
    # Same rows in another order: the panel is sorted before fitting, so nothing changes.
    b = train_and_register(rows.sample(frac=1.0, random_state=5), synthetic["catalog"], models_dir=tmp_path / "b",
                           **kwargs)
    assert a["feature_hash"] == b["feature_hash"] and a["data_snapshot_id"] == b["data_snapshot_id"]
    va = (tmp_path / "a" / "versions" / a["model_version"] / "xgboost.json").read_bytes()
    vb = (tmp_path / "b" / "versions" / b["model_version"] / "xgboost.json").read_bytes()
    assert va == vb
    latest = rows[rows["as_of_date"] == rows["as_of_date"].max()]
    sa, _ = score_panel(latest, synthetic["catalog"], models_dir=tmp_path / "a")
    sb, _ = score_panel(latest, synthetic["catalog"], models_dir=tmp_path / "b")
    np.testing.assert_array_equal(sa["churn_probability"].to_numpy(), sb["churn_probability"].to_numpy())
    assert (sa["reason_1"] == sb["reason_1"]).all()


def test_missing_label_column_fails_by_name(synthetic, tmp_path):
    with pytest.raises(TrainingDataError, match="churned_within_horizon"):
        train_and_register(synthetic["panel"].drop(columns=["churned_within_horizon"]), synthetic["catalog"],
                           models_dir=tmp_path)
