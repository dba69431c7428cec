import json

import pytest

from ml.registry import Registry, RegistryError, main


def _register(reg: Registry, family: str) -> str:
    version, d = reg.reserve_version()
    reg.register(version, {"champion_family": family, "features": ["a", "b"], "feature_hash": "h",
                           "training_window": {"train_start": "2024-01-31", "train_end": "2024-12-31"},
                           "metrics": {family: {"test": {"roc_auc": 0.8}}}})
    return version


def test_promote_and_rollback(tmp_path):
    reg = Registry(tmp_path)
    v1, v2, v3 = (_register(reg, "xgboost") for _ in range(3))
    assert (v1, v2, v3) == ("v0001", "v0002", "v0003")
    assert reg.champion() == v3  # a new version becomes champion when registered
    assert reg.rollback() == v2
    assert reg.rollback() == v1
    with pytest.raises(RegistryError, match="no earlier champion"):
        reg.rollback()
    reg.promote(v3)
    assert reg.champion() == v3
    assert reg.rollback() == v1  # back to the champion before the promotion
    with pytest.raises(RegistryError, match="not registered"):
        reg.promote("v0042")


def test_commands_and_published_frame(tmp_path, capsys):
    reg = Registry(tmp_path)
    v1, v2 = _register(reg, "xgboost"), _register(reg, "logistic_regression")
    assert main(["--models-dir", str(tmp_path), "promote", v1]) == 0
    assert reg.champion() == v1
    assert main(["--models-dir", str(tmp_path), "rollback"]) == 0
    assert reg.champion() == v2
    assert main(["--models-dir", str(tmp_path), "list"]) == 0
    assert v1 in capsys.readouterr().out
    assert main(["--models-dir", str(tmp_path), "promote", "nope"]) == 2
    frame = reg.to_frame()
    assert frame["model_version"].tolist() == [v1, v2]
    assert frame.set_index("model_version")["is_champion"].to_dict() == {v1: False, v2: True}
    assert frame.loc[1, "model_family"] == "logistic_regression"
    assert frame.loc[1, "n_features"] == 2


def test_trained_version_records_what_it_was_trained_on(trained):
    reg = Registry(trained["models_dir"])
    meta = reg.champion_metadata()
    for key in ("training_window", "features", "feature_hash", "params", "metrics", "data_snapshot_id",
                "selection", "backtest", "clusters", "operating_threshold"):
        assert meta[key] not in (None, {}, []), key
    assert set(meta["metrics"]) == {"logistic_regression", "decision_tree", "linear_svm", "xgboost"}
    test = meta["metrics"][meta["champion_family"]]["test"]
    for k in ("roc_auc", "pr_auc", "brier", "ece", "lift_top5", "capture_top20", "oracle_ratio", "at_threshold"):
        assert test[k] is not None, k
    bt = meta["backtest"]["summary"]["xgboost"]["roc_auc"]
    assert bt["n"] >= 6 and bt["std"] > 0
    sig = json.loads((reg.version_dir(meta["model_version"]) / "signature.json").read_text())
    assert sig["feature_hash"] == meta["feature_hash"]
    frame = reg.to_frame()
    assert frame["is_champion"].sum() == 1 and frame.loc[0, "test_oracle_ratio"] > 0
