import numpy as np

from ml import metrics as M
from ml.features import build_matrix, labels, learn_signature
from ml.models import fit_calibrator, fit_xgboost
from ml.splits import make_split


def test_ece_and_top_share_on_a_hand_checked_example():
    y = np.array([1, 0, 0, 0, 1, 0, 0, 0, 0, 0])
    p = np.array([0.9, 0.8, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1])
    # Bins: [0.1..0.2) holds 8 rows with 1 positive (|0.125-0.1|), [0.8..0.9) 1 row (0.8),
    # [0.9..1.0] 1 row (0.1): ECE = (8*0.025 + 0.8 + 0.1) / 10.
    assert abs(M.ece(y, p) - (8 * 0.025 + 0.8 + 0.1) / 10) < 1e-12
    top = M.top_share_metrics(y, p, 0.2)
    assert top["capture"] == 0.5 and abs(top["lift"] - 0.5 / 0.2) < 1e-12
    thr = M.threshold_metrics(y, p, 0.85)
    assert thr["precision"] == 1.0 and thr["recall"] == 0.5


def test_oracle_ratio_is_model_auc_over_truth_auc():
    rng = np.random.default_rng(0)
    truth = rng.random(5000)
    y = (rng.random(5000) < truth).astype(int)
    noisy = truth + rng.normal(0, 0.3, 5000)
    m = M.evaluate(y, np.clip(noisy, 0, 1), oracle_p=truth)
    assert m["oracle_roc_auc"] > m["roc_auc"] and 0.5 < m["oracle_ratio"] < 1.0


def test_calibration_on_validation_window_holds_on_held_out_rows(synthetic):
    panel = synthetic["panel"]
    split = make_split(sorted(panel["as_of_date"].unique()))
    tr, va, te = (m.to_numpy() for m in split.masks(panel["as_of_date"]))
    sig, _ = learn_signature(panel[tr], synthetic["catalog"])
    X, y = build_matrix(panel, sig), labels(panel)
    # Class weighting (scale_pos_weight = negatives/positives) inflates raw probabilities on purpose.
    params = {"max_depth": 3, "eta": 0.1, "min_child_weight": 5.0, "subsample": 0.8, "colsample_bytree": 0.8,
              "reg_lambda": 1.0, "reg_alpha": 0.0, "gamma": 0.0, "pos_weight": "ratio"}
    model = fit_xgboost(X[tr], y[tr], X[va], y[va], sig, seed=1, fixed_params=params, log=lambda *_: None)
    raw_test = 1 / (1 + np.exp(-model.raw_score(X[te])))
    cal, info = fit_calibrator(model.raw_score(X[va]), y[va], groups=panel["customer_id"].to_numpy()[va])
    calibrated = cal.transform(model.raw_score(X[te]))
    assert M.ece(y[te], raw_test) > 0.1
    assert M.ece(y[te], calibrated) < 0.03
    assert info["method"] in ("platt", "isotonic")
    # Calibration is monotone: the ranking (ROC-AUC) barely moves.
    assert abs(M.evaluate(y[te], calibrated)["roc_auc"] - M.evaluate(y[te], raw_test)["roc_auc"]) < 0.01
