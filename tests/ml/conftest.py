"""Fixtures for the model tests: a small synthetic customer-month panel with known truth, and
one model version trained on it (shared by the tests that only read it)."""

from __future__ import annotations

import pytest

from ml.synthetic import catalog, make_panel


@pytest.fixture(scope="session")
def synthetic():
    panel, truth = make_panel(1500, 20, seed=3)
    return {"panel": panel, "truth": truth, "catalog": catalog()}


@pytest.fixture(scope="session")
def trained(synthetic, tmp_path_factory):
    from ml.training import train_and_register

    models_dir = tmp_path_factory.mktemp("models")
    result = train_and_register(synthetic["panel"], synthetic["catalog"], models_dir=models_dir, seed=7,
                                trial_budget=2, truth_df=synthetic["truth"], backtest_origins=6)
    return {"models_dir": models_dir, "result": result}


@pytest.fixture()
def latest_rows(synthetic):
    p = synthetic["panel"]
    return p[p["as_of_date"] == p["as_of_date"].max()].drop(columns=["churned_within_horizon"]).reset_index(drop=True)
