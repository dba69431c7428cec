"""The true churn probability implied by the latent process, and the oracle ROC-AUC.

At a month-end t, everything latent is known: the disengagement d_t, the traits, the products
and their maturity dates, the market spread, the treatment schedule. The future disengagement is

    d_{t+k} = rho^k d_t + sum_{m=1..k} rho^(k-m) X_{t+m},

where X is the month's shock: independent Bernoulli events with known sizes (complaint by
severity and handling, relationship-manager turnover, job change), the known maturity shocks,
Gaussian noise, and the competitor-spread term whose AR(1) innovations (Gaussian plus a Bernoulli
jump) are shared across months. The moment-generating functions of these pieces give
E[exp(beta d_{t+k})] in closed form, hence the expected hazard E[h_{t+k}] exactly (before the
cap). The probability of churning within the horizon is then

    1 - prod_k (1 - f_k * (1 - (1 - E[h_{t+k}]) (1 - q)))

with q the sudden (relocation) churn probability and f_k the share of month t+k inside the
horizon (churn days are uniform within a month). Using the product of expected monthly survivals
instead of the expectation of the product is exact to first order in the hazard; with monthly
hazards of a few percent the difference is far below the sampling noise of any evaluation.
"""

from __future__ import annotations

import numpy as np

from include.bank_simulator.params import ProcessParams


def horizon_weights(as_of_day: int, month_starts: np.ndarray, month_ends: np.ndarray, t: int,
                    horizon_days: int) -> np.ndarray:
    """Share of each following month that lies in (as_of, as_of + horizon_days]."""
    weights = []
    covered = 0
    k = 1
    while covered < horizon_days:
        days = int(month_ends[t + k] - month_starts[t + k] + 1)
        weights.append(min(1.0, (horizon_days - covered) / days))
        covered += days
        k += 1
    return np.array(weights)


def expected_churn_probability(
    p: ProcessParams,
    *,
    weights: np.ndarray,
    d: np.ndarray,
    loyalty: np.ndarray,
    rate_sens: np.ndarray,
    service_sens: np.ndarray,
    has_rm: np.ndarray,
    rm_shock: np.ndarray,
    spread_now: np.ndarray,
    spread_mu: np.ndarray,
    maturity: np.ndarray,
    season: np.ndarray,
    treatment: np.ndarray,
    severity_p: np.ndarray,
    resolved_p: np.ndarray,
) -> np.ndarray:
    n = len(d)
    k_max = len(weights)
    # Per-customer log E[exp(c X)] for the independent Bernoulli events, as a function of c.
    pc = p.complaint_base + p.complaint_slope * service_sens
    g = 0.3 + service_sens
    sev = np.arange(1, 6)

    def log_mgf_events(c: float) -> np.ndarray:
        ec = np.zeros(n)
        for s, ps, rs in zip(sev, severity_p, resolved_p, strict=True):
            ec += ps * (rs * np.exp(c * p.complaint_resolved_shock * g * s / 3.0)
                        + (1 - rs) * np.exp(c * p.complaint_unresolved_shock * g * s / 3.0))
        out = np.log1p(pc * (ec - 1.0))
        out += np.where(has_rm, np.log1p(p.rm_turnover_prob * (np.exp(c * rm_shock) - 1.0)), 0.0)
        out += np.log1p(p.job_change_prob * (np.exp(c * p.job_change_shock) - 1.0))
        out += 0.5 * (c * p.noise_sd) ** 2
        return out

    q = p.relocation_prob * p.relocation_churn_prob
    spread_b = p.spread_effect * rate_sens / 0.01
    survival = np.ones(n)
    for k in range(1, k_max + 1):
        log_e = p.beta * p.rho**k * d
        for m in range(1, k + 1):
            c = p.beta * p.rho ** (k - m)
            log_e += log_mgf_events(c)
            log_e += c * p.maturity_shock * rate_sens * maturity[:, m - 1]
            mean_spread = spread_mu + p.spread_phi**m * (spread_now - spread_mu)
            log_e += c * spread_b * (mean_spread - p.spread_ref)
        for j in range(1, k + 1):
            a = spread_b * sum(p.beta * p.rho ** (k - m) * p.spread_phi ** (m - j) for m in range(j, k + 1))
            log_e += 0.5 * (a * p.spread_sd) ** 2
            log_e += -a * p.spread_jump * p.spread_jump_prob + np.log1p(
                p.spread_jump_prob * (np.exp(a * p.spread_jump) - 1.0))
        log_h = (p.alpha + loyalty + season[k - 1] + p.maturity_hazard * rate_sens * maturity[:, k - 1] + log_e)
        e_h = np.minimum(p.hazard_cap, np.exp(log_h) * treatment[:, k - 1])
        p_month = 1.0 - (1.0 - e_h) * (1.0 - q)
        survival *= 1.0 - weights[k - 1] * p_month
    return 1.0 - survival


def roc_auc(score: np.ndarray, label: np.ndarray) -> float:
    """Rank-based ROC-AUC (Mann-Whitney), average ranks for ties."""
    score = np.asarray(score, dtype=np.float64)
    label = np.asarray(label, dtype=bool)
    n_pos = int(label.sum())
    n_neg = len(label) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    s = score[order]
    ranks = np.empty(len(s))
    # average ranks over ties
    boundaries = np.flatnonzero(np.diff(s)) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [len(s)]])
    avg = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(avg, ends - starts)
    return float((ranks[label].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))
