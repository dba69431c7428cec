"""Short-window against long-window pace (``<x>_30d__vs_365d``): learned from the names, computed
per day, given to the trees, and their contributions folded back into both parent indicators."""

import numpy as np
import pandas as pd
import xgboost as xgb

from ml.features import build_matrix, learn_signature
from ml.models import FittedModel, tree_columns, tree_view


def _panel(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    habit = rng.lognormal(2.0, 0.6, n)
    drop = rng.random(n) < 0.2
    year = rng.poisson(habit * 12)
    month = rng.poisson(habit * np.where(drop, 0.3, 1.0))
    return pd.DataFrame({
        "customer_id": [f"C{i}" for i in range(n)], "as_of_date": pd.Timestamp("2025-06-30"),
        "logins_30d": month, "logins_365d": year, "age_years": rng.integers(18, 80, n),
        "churned_within_horizon": (rng.random(n) < np.where(drop, 0.3, 0.03)).astype(int),
    })


def test_ratio_features_are_learned_and_computed_per_day():
    panel = _panel()
    sig, _ = learn_signature(panel, None)
    ratio = [d for d in sig.derived if d.kind == "ratio"]
    assert [(d.name, d.parents) for d in ratio] == [("logins_30d__vs_365d", ["logins_30d", "logins_365d"])]
    X = build_matrix(panel, sig)
    expected = (panel["logins_30d"] / 30) / (panel["logins_365d"] / 365)
    expected = expected.where(panel["logins_365d"] > 0)
    np.testing.assert_allclose(X["logins_30d__vs_365d"].to_numpy(), expected.to_numpy(), rtol=1e-5)
    assert tree_columns(sig) == [*sig.indicators, "logins_30d__vs_365d"]


def test_tree_contributions_of_a_ratio_fold_into_its_parents():
    panel = _panel()
    sig, _ = learn_signature(panel, None)
    X = build_matrix(panel, sig)
    y = panel["churned_within_horizon"].to_numpy()
    bst = xgb.train({"objective": "binary:logistic", "max_depth": 3, "seed": 0},
                    xgb.DMatrix(tree_view(X, sig), y, enable_categorical=True), num_boost_round=20)
    model = FittedModel("xgboost", bst, sig, {})
    contrib, bias, parents = model.contributions(X)
    assert parents == sig.indicators
    np.testing.assert_allclose(contrib.sum(axis=1) + bias, model.raw_score(X), rtol=0, atol=1e-4)
    # the ratio carries the signal, so both login indicators get credit
    share = np.abs(contrib).mean(axis=0)
    assert share[parents.index("logins_30d")] > share[parents.index("age_years")]
