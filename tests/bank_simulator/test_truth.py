"""The truth: one row per active customer and month-end, realistic oracle AUC, calibration, and the
known effect of fed-back retention actions."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import roc_auc_score

from include.bank_simulator import DEFAULT_PARAMS, generate


@pytest.fixture(scope="module")
def truth(bank) -> pd.DataFrame:
    return pq.read_table(bank["truth_dir"] / "churn_truth.parquet").to_pandas()


def test_truth_lives_apart_from_the_source_dir(bank):
    assert not any("truth" in p.name for p in bank["source_dir"].iterdir())
    assert {p.name for p in bank["truth_dir"].iterdir()} >= {"churn_truth.parquet", "customer_traits.parquet",
                                                              "truth_summary.json"}
    with pytest.raises(ValueError, match="apart"):
        generate(bank["source_dir"], bank["source_dir"], customers=10, months=2)


def test_one_row_per_active_customer_and_month_end(bank, truth):
    con = bank["con"]
    assert not truth.duplicated(["customer_id", "as_of_date"]).any()
    month_ends = sorted(pd.to_datetime(bank["manifest"]["month_ends"]).date)
    assert sorted(truth["as_of_date"].unique()) == month_ends
    expected = con.execute("""
        SELECT count(*) FROM customers c CROSS JOIN (SELECT DISTINCT month_end FROM market_environment) m
        LEFT JOIN churn_events e USING (customer_id)
        WHERE c.onboarding_date <= m.month_end AND (e.churn_date IS NULL OR e.churn_date > m.month_end)""").fetchone()[0]
    assert len(truth) == expected
    assert truth["churn_probability_true"].between(0, 1).all()


def test_labels_follow_the_churn_events_and_the_horizon(bank, truth):
    end = pd.Timestamp(bank["manifest"]["end_month_end"])
    as_of = pd.to_datetime(truth["as_of_date"])
    unlabeled = as_of + pd.Timedelta(days=90) > end
    assert truth.loc[unlabeled, "churned_within_horizon"].isna().all()
    assert truth.loc[~unlabeled, "churned_within_horizon"].notna().all()
    events = bank["con"].execute("SELECT customer_id, churn_date FROM churn_events").df()
    merged = truth.loc[~unlabeled].merge(events, on="customer_id", how="left")
    cd = pd.to_datetime(merged["churn_date"])
    a = pd.to_datetime(merged["as_of_date"])
    expected = (cd > a) & (cd <= a + pd.Timedelta(days=90))
    assert (merged["churned_within_horizon"].astype(bool) == expected).all()


def test_oracle_auc_is_realistic_and_reported(bank, truth):
    labeled = truth.dropna(subset=["churned_within_horizon"])
    auc = roc_auc_score(labeled["churned_within_horizon"].astype(bool), labeled["churn_probability_true"])
    assert 0.80 <= auc <= 0.92, auc
    summary = json.loads((bank["truth_dir"] / "truth_summary.json").read_text())
    assert summary["oracle_roc_auc"] == pytest.approx(auc, abs=1e-3)
    assert bank["manifest"]["truth"]["oracle_roc_auc"] == summary["oracle_roc_auc"]
    assert "oracle_roc_auc" not in json.loads((bank["source_dir"] / "_manifest.json").read_text())


def test_truth_is_calibrated(truth):
    labeled = truth.dropna(subset=["churned_within_horizon"]).copy()
    observed = labeled["churned_within_horizon"].astype(float)
    ratio = labeled["churn_probability_true"].mean() / observed.mean()
    # integrated over the paths where the hazard is high (docs/simulator.md); the tiny bank's
    # observed rate itself is noisy (about 1,000 churn labels)
    assert 0.85 <= ratio <= 1.15, ratio
    labeled["decile"] = pd.qcut(labeled["churn_probability_true"], 10, labels=False)
    by_decile = labeled.groupby("decile")["churned_within_horizon"].mean()
    assert by_decile.iloc[-1] > 8 * by_decile.iloc[0]
    assert by_decile.iloc[-1] > by_decile.iloc[4] > by_decile.iloc[0]


@pytest.fixture(scope="module")
def treated_bank(bank, truth, tmp_path_factory):
    """The same bank with retention actions fed back for the riskiest customers at 2024-06-30."""
    at = truth[truth["as_of_date"] == pd.Timestamp("2024-06-30").date()].sort_values(
        "churn_probability_true", ascending=False)
    treated = at["customer_id"].iloc[:250].tolist()
    control = at["customer_id"].iloc[250:400].tolist()
    actions = pd.DataFrame({
        "action_id": [f"A{i:05d}" for i in range(len(treated) + len(control))],
        "customer_id": treated + control,
        "as_of_date": pd.Timestamp("2024-06-30").date(),
        "action_type": "rm_call",
        "action_date": pd.Timestamp("2024-07-03").date(),
        "relationship_manager_id": None,
        "control_group": [False] * len(treated) + [True] * len(control),
    })
    root = tmp_path_factory.mktemp("treated")
    manifest = generate(root / "source", root / "truth", size="tiny", seed=42, retention_actions=actions)
    return {"manifest": manifest, "root": root, "treated": treated, "control": control}


def _churn(path):
    return pq.read_table(path / "churn_events.parquet").to_pandas().set_index("customer_id")["churn_date"]


def test_retention_feedback_reduces_the_treated_hazard_only(bank, treated_bank):
    base = _churn(bank["source_dir"])
    after = _churn(treated_bank["root"] / "source")
    treated = set(treated_bank["treated"])
    window = (pd.Timestamp("2024-07-01").date(), pd.Timestamp("2024-09-30").date())

    def in_window(series, ids):
        return sum(1 for c in ids if c in series.index and window[0] <= series[c] <= window[1])

    assert in_window(after, treated) < in_window(base, treated)
    # customers not treated (the control group included) churn exactly as before: common random numbers
    others_base = base[~base.index.isin(treated)]
    others_after = after[~after.index.isin(treated)]
    assert others_base.sort_index().equals(others_after.sort_index())
    feedback = treated_bank["manifest"]["retention_feedback"]
    assert feedback["treated_customers"] == len(treated)
    assert str(DEFAULT_PARAMS.treatment_effect) in feedback["effect"]


def test_truth_reflects_the_known_treatment_effect(bank, truth, treated_bank):
    after = pq.read_table(treated_bank["root"] / "truth" / "churn_truth.parquet").to_pandas()
    key = ["customer_id", "as_of_date"]
    at = pd.Timestamp("2024-06-30").date()
    b = truth[truth["as_of_date"] == at].set_index(key)["churn_probability_true"]
    a = after[after["as_of_date"] == at].set_index(key)["churn_probability_true"]
    treated = [(c, at) for c in treated_bank["treated"]]
    control = [(c, at) for c in treated_bank["control"]]
    ratio = (a.loc[treated] / b.loc[treated]).median()
    assert ratio == pytest.approx(DEFAULT_PARAMS.treatment_effect, abs=0.08)
    assert np.allclose(a.loc[control], b.loc[control])


def test_retention_actions_are_written_with_outcomes(treated_bank):
    table = pq.read_table(treated_bank["root"] / "source" / "retention_actions.parquet").to_pandas()
    assert len(table) == len(treated_bank["treated"]) + len(treated_bank["control"])
    assert set(table["outcome"]) <= {"retained", "churned"}
    assert table["control_group"].sum() == len(treated_bank["control"])
    churned = table[table["outcome"] == "churned"]
    assert (pd.to_datetime(churned["outcome_date"]) > pd.Timestamp("2024-07-03")).all()


def test_maturity_spread_term_matches_monte_carlo():
    """The maturity x competitor-spread term's log-expectation, against simulated spread innovations."""
    from include.bank_simulator.truth import _maturity_spread_term

    p = DEFAULT_PARAMS
    k = 3
    c = np.array([p.beta * p.rho ** (k - m) for m in range(1, k + 1)])
    phi_pow = p.spread_phi ** np.arange(0, k + 1)
    spread_b = p.spread_effect / 0.01
    rs, ss, mat = np.array([0.7]), np.array([0.5]), np.array([1.0])
    spread_now, spread_mu = np.array([0.006]), np.array([0.003])
    exact = _maturity_spread_term(p, k, c, phi_pow, spread_b, rs, ss, mat, np.array([0]), spread_now, spread_mu,
                                  np.zeros(1))[0][0]
    rng = np.random.default_rng(0)
    n = 2_000_000
    eps = [p.spread_sd * rng.standard_normal(n) + p.spread_jump * ((rng.random(n) < p.spread_jump_prob)
                                                                   - p.spread_jump_prob) for _ in range(k)]
    spread = spread_now[0]
    d_term = np.zeros(n)
    for m in range(1, k + 1):
        spread = spread_mu[0] + p.spread_phi * (spread - spread_mu[0]) + eps[m - 1]
        d_term += c[m - 1] * ss[0] * spread_b * (spread - spread_mu[0] - phi_pow[m] * (spread_now[0] - spread_mu[0]))
    mature = rs[0] * mat[0] * p.maturity_spread_k / 0.01 * (spread - p.spread_ref)
    simulated = np.log(np.mean(np.exp(d_term + mature)))
    assert exact == pytest.approx(simulated, abs=0.02)


def test_event_branches_are_capped_as_the_monte_carlo_says():
    """A strong beta and a rare, large complaint shock: the truth's per-branch cap against simulation."""
    from include.bank_simulator.process import RESOLVED_IN_MONTH_P, SEVERITY_P
    from include.bank_simulator.truth import _event_log_mgf

    p = DEFAULT_PARAMS
    service_sens = 0.8
    g, pc = 0.3 + service_sens, p.complaint_base + p.complaint_slope * service_sens
    rng = np.random.default_rng(1)
    n = 2_000_000
    for cm, log_rest in ((3 * p.beta, np.log(0.02)), (3 * p.beta, np.log(0.3)), (0.5 * p.beta, np.log(0.02))):
        exact = _event_log_mgf(p, np.array([cm]), np.array([service_sens]), np.array([1]),
                               np.array([log_rest], dtype=np.float32), SEVERITY_P, RESOLVED_IN_MONTH_P)[0]
        complaint = rng.random(n) < pc
        sev = rng.choice(np.arange(1, 6), size=n, p=SEVERITY_P)
        resolved = rng.random(n) < RESOLVED_IN_MONTH_P[sev - 1]
        size = np.where(resolved, p.complaint_resolved_shock, p.complaint_unresolved_shock)
        shock = complaint * size * g * sev / 3.0
        shock += (rng.random(n) < p.rm_turnover_prob) * p.rm_turnover_shock * 1.0  # an affluent customer's manager
        shock += (rng.random(n) < p.job_change_prob) * p.job_change_shock
        h = np.minimum(p.hazard_cap, np.exp(log_rest + cm * shock))
        simulated = np.log(h.mean()) - log_rest
        assert exact == pytest.approx(simulated, abs=0.02), (cm, log_rest)
        uncapped = np.log(np.exp(log_rest + cm * shock).mean()) - log_rest
        if cm > p.beta:  # the moment-generating function alone would be far above the capped mean
            assert uncapped > simulated + 0.3


def test_life_stage_weighs_loyalty_double(bank):
    """From 50 on, the idiosyncratic loyalty term is doubled, so its spread across customers is too."""
    traits = bank["con"].execute("""
        SELECT t.loyalty, date_diff('year', c.birth_date, DATE '2024-01-01') >= 50 AS late
        FROM traits t JOIN customers c USING (customer_id)""").df()
    sd = traits.groupby("late")["loyalty"].std()
    assert sd[True] > 1.6 * sd[False], sd


def _simulate_horizon(p, c: dict, weights, season, spread_now, spread_mu, n_paths: int, seed: int) -> np.ndarray:
    """P(churn within the horizon) of each customer in ``c``, by simulating the coming months'
    shocks the way the process draws them (an independent re-statement of process.py's month)."""
    from include.bank_simulator.process import RESOLVED_IN_MONTH_P, SEVERITY_P
    from include.bank_simulator.truth import RM_SEGMENT_WEIGHT

    rng = np.random.default_rng(seed)
    q = p.relocation_prob * p.relocation_churn_prob
    out = []
    for i in range(len(c["d"])):
        d = np.full(n_paths, c["d"][i])
        spread = np.full(n_paths, spread_now[c["city"][i]])
        mu = spread_mu[c["city"][i]]
        survival = np.ones(n_paths)
        for k, f in enumerate(weights):
            jump = (rng.random(n_paths) < p.spread_jump_prob) - p.spread_jump_prob
            spread = mu + p.spread_phi * (spread - mu) + p.spread_sd * rng.standard_normal(n_paths) + p.spread_jump * jump
            ss = c["service_sens"][i]
            complaint = rng.random(n_paths) < p.complaint_base + p.complaint_slope * ss
            sev = rng.choice(np.arange(1, 6), size=n_paths, p=SEVERITY_P)
            resolved = rng.random(n_paths) < RESOLVED_IN_MONTH_P[sev - 1]
            size = np.where(resolved, p.complaint_resolved_shock, p.complaint_unresolved_shock)
            shock = complaint * size * (0.3 + ss) * sev / 3.0
            if c["rm_code"][i] < 3:
                shock += (rng.random(n_paths) < p.rm_turnover_prob) * p.rm_turnover_shock * RM_SEGMENT_WEIGHT[c["rm_code"][i]]
            shock += (rng.random(n_paths) < p.job_change_prob) * p.job_change_shock
            mat = c["maturity"][i, k]
            shock += p.maturity_shock * c["rate_sens"][i] * mat
            shock += p.spread_effect * c["spread_sens"][i] * (spread - p.spread_ref) / 0.01
            d = p.rho * d + shock + p.noise_sd * rng.standard_normal(n_paths)
            log_h = (p.alpha + c["loyalty"][i] + p.beta * c["beta_scale"][i] * d + season[k]
                     + c["maturity_pull"][i] * mat * (p.maturity_hazard + p.maturity_spread_k * (spread - p.spread_ref) / 0.01))
            h = np.minimum(p.hazard_cap, np.exp(log_h))
            survival *= 1.0 - f * (1.0 - (1.0 - h) * (1.0 - q))
        out.append(1.0 - survival.mean())
    return np.array(out)


def test_truth_follows_the_paths_as_the_monte_carlo_says():
    """The truth against simulated horizons, for customers from calm to volatile (beta x 5 from the
    life stage, a high d, a maturity while the competitor pays more): the path
    integration follows the simulation where the closed form alone over-counts."""
    from include.bank_simulator.process import RESOLVED_IN_MONTH_P, SEVERITY_P
    from include.bank_simulator.truth import expected_churn_probability

    p = DEFAULT_PARAMS
    maturity = np.zeros((6, 3))
    maturity[0, 1] = 1
    maturity[5, 0] = 1
    c = {
        "d": np.array([0.8, -0.5, 0.3, -0.3, 1.5, 0.4]),
        "loyalty": np.array([1.0, -1.0, 0.5, 0.8, 0.2, 0.6]),
        "beta_scale": np.array([5.0, 0.385, 1.0, 5.0, 3.5, 1.0]),
        "rate_sens": np.array([0.9, 0.3, 0.5, 0.4, 0.6, 1.0]),
        "spread_sens": np.array([0.9, 0.09, 0.5, 0.4, 0.18, 1.0]),
        "maturity_pull": np.array([2.7, 0.3, 0.5, 1.2, 0.6, 1.0]),
        "service_sens": np.array([0.8, 0.2, 0.5, 0.9, 0.4, 0.6]),
        "rm_code": np.array([1, 3, 0, 3, 2, 3]),
        "city": np.array([0, 1, 0, 1, 0, 1]),
        "maturity": maturity,
    }
    weights, season = np.array([1.0, 1.0, 0.9]), np.array([0.1, -0.05, 0.0])
    spread_now, spread_mu = np.array([0.005, 0.008]), np.array([0.003, 0.0035])
    kwargs = dict(weights=weights, season=season, spread_now=spread_now, spread_mu=spread_mu, treatment=None,
                  severity_p=SEVERITY_P, resolved_p=RESOLVED_IN_MONTH_P, **c)
    truth = expected_churn_probability(p, path_threshold=0.0, **kwargs)
    closed_form = expected_churn_probability(p, path_threshold=1.0, **kwargs)
    simulated = _simulate_horizon(p, c, weights, season, spread_now, spread_mu, n_paths=400_000, seed=3)
    assert truth == pytest.approx(simulated, rel=0.04, abs=0.002)
    # the volatile customers: the closed form over-counts, the path integration does not
    assert closed_form[3] > 2 * simulated[3]
    assert closed_form[5] > 1.5 * simulated[5]
