"""The true churn probability implied by the latent process, and the oracle ROC-AUC.

At a month-end t, everything latent is known: the disengagement d_t, the traits, the products
and their maturity dates, the market spread, the treatment schedule. The future disengagement is

    d_{t+k} = rho^k d_t + sum_{m=1..k} rho^(k-m) X_{t+m},

where X is the month's shock: independent Bernoulli events with known sizes (complaint by
severity and handling, relationship-manager turnover, job change), the known maturity shocks,
Gaussian noise, and the competitor-spread term whose AR(1) innovations (Gaussian plus a Bernoulli
jump) are shared across months. The maturity x spread hazard term adds the same spread innovations
(computed per customer for those with a maturity in month t+k); the first-year term is a known
offset; switching costs give a few groups of customers their own beta (each computed apart).
Since log h is linear in the shocks, the moment-generating functions of these pieces give
E[h_{t+k}] in closed form (capped at the hazard cap; the Bernoulli events branch by branch, each
branch capped given the customer's other terms, see ``_event_log_mgf``). The probability of
churning within the horizon is then

    1 - prod_k (1 - f_k * (1 - (1 - E[h_{t+k}]) (1 - q)))

with q the sudden (relocation) churn probability and f_k the share of month t+k inside the
horizon (churn days are uniform within a month). Using the product of the expected monthly
survivals instead of the expectation of the product is exact to first order in the hazard. The
exact expectation of the product (a signed sum of E[prod_{k in S} h_k] over subsets of months)
needs high moments of a log-normal-like hazard that the cap truncates, so it is unstable for the
riskiest customers; the first-order form is stable and its calibration is tested
(tests/bank_simulator: predicted vs. observed churn by decile). Products bought after the as-of
date that would mature inside the horizon are not in the truth (rare: a 3-month wealth product).
"""

from __future__ import annotations

from dataclasses import replace

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


RM_SEGMENT_WEIGHT = np.array([0.5, 1.0, 1.3])  # turnover shock by segment: mass, affluent, private


def _jump_gauss_log_mgf(p: ProcessParams, a: np.ndarray) -> np.ndarray:
    """log E[exp(a * innovation)] of one spread innovation (Gaussian plus a centred Bernoulli jump)."""
    return 0.5 * (a * p.spread_sd) ** 2 - a * p.spread_jump * p.spread_jump_prob + np.log1p(
        p.spread_jump_prob * (np.exp(a * p.spread_jump) - 1.0))


def _maturity_spread_term(p: ProcessParams, k: int, c: np.ndarray, phi_pow: np.ndarray, spread_b: float,
                          rs: np.ndarray, ss: np.ndarray, mat_k: np.ndarray, city: np.ndarray,
                          spread_now: np.ndarray, spread_mu: np.ndarray, tabulated: np.ndarray) -> np.ndarray:
    """Log E of the maturity x spread hazard term of month t+k, for customers with a maturity then.

    The term rs * mat * maturity_spread_k * (spread_{t+k} - spread_ref) / 1pp shares the spread
    innovations with the d path, so their joint moment-generating function is recomputed per
    customer (replacing the tabulated d-only one, ``tabulated``). ``rs``: the maturity pull (rate
    sensitivity x the life-stage factor), ``ss``:
    the spread sensitivity of d.
    """
    kb = p.maturity_spread_k / 0.01
    mean = spread_mu + phi_pow[k] * (spread_now - spread_mu) - p.spread_ref
    out = rs * mat_k * kb * mean[city] - tabulated
    for j in range(1, k + 1):
        s_j = sum(c[m - 1] * phi_pow[m - j] for m in range(j, k + 1))
        out += _jump_gauss_log_mgf(p, ss * spread_b * s_j + rs * mat_k * kb * phi_pow[k - j])
    return out.astype(np.float32)


def expected_churn_probability(
    p: ProcessParams,
    *,
    weights: np.ndarray,
    d: np.ndarray,
    loyalty: np.ndarray,
    rate_sens: np.ndarray,
    service_sens: np.ndarray,
    rm_code: np.ndarray,
    city: np.ndarray,
    spread_now: np.ndarray,
    spread_mu: np.ndarray,
    maturity: np.ndarray,
    season: np.ndarray,
    treatment: np.ndarray | None,
    severity_p: np.ndarray,
    resolved_p: np.ndarray,
    offset: np.ndarray | None = None,
    beta_scale: np.ndarray | None = None,
    spread_sens: np.ndarray | None = None,
    maturity_pull: np.ndarray | None = None,
) -> np.ndarray:
    """P(churn within the horizon | latent state) from the exact expected monthly hazards.

    ``rm_code``: segment (0 mass, 1 affluent, 2 private banking) of customers with a relationship
    manager, 3 without one. ``spread_now``/``spread_mu``: per city. ``maturity``: (n, K) count of
    time deposits and wealth products maturing in each following month. ``treatment``: (n, K)
    hazard multipliers or None. ``offset``: (n, K) known log-hazard offsets (the new-customer
    term) or None. ``beta_scale``: per-customer multiplier of beta (switching costs; a few distinct
    values), or None; each group is computed with its own beta. ``spread_sens``: how strongly the
    competitor spread moves d (default: the rate sensitivity). ``maturity_pull``: the weight of the
    hazard's maturity term (default: the rate sensitivity).
    """
    if spread_sens is None:
        spread_sens = rate_sens
    if maturity_pull is None:
        maturity_pull = rate_sens
    if beta_scale is not None:
        out = np.empty(len(d), dtype=np.float64)
        for scale in np.unique(beta_scale):
            g = np.flatnonzero(beta_scale == scale)
            out[g] = expected_churn_probability(
                replace(p, beta=p.beta * float(scale)), weights=weights, d=d[g], loyalty=loyalty[g],
                rate_sens=rate_sens[g], service_sens=service_sens[g], rm_code=rm_code[g], city=city[g],
                spread_now=spread_now, spread_mu=spread_mu, maturity=maturity[g], season=season,
                treatment=None if treatment is None else treatment[g], severity_p=severity_p,
                resolved_p=resolved_p, offset=None if offset is None else offset[g], spread_sens=spread_sens[g],
                maturity_pull=maturity_pull[g])
        return out
    k_max = len(weights)
    q = p.relocation_prob * p.relocation_churn_prob
    rho_pow = p.rho ** np.arange(0, k_max + 1)
    phi_pow = p.spread_phi ** np.arange(0, k_max + 1)
    spread_b = p.spread_effect / 0.01
    grid = np.linspace(0.0, 1.0, 513)
    # nearest grid point: the tabulated functions are smooth and the grid step is 1/512
    rs_idx = np.rint(np.clip(spread_sens, 0, 1) * 512).astype(np.intp)
    rs32 = spread_sens.astype(np.float32)
    base = (p.alpha + loyalty).astype(np.float32)
    d32 = d.astype(np.float32)
    with_mat = np.flatnonzero(maturity.any(axis=1))
    survival = np.ones(len(d), dtype=np.float64)
    for k in range(1, k_max + 1):
        # c[m]: coefficient of month t+m's shock in beta * d_{t+k}
        c = np.array([p.beta * rho_pow[k - m] for m in range(1, k + 1)])
        # Gaussian noise: its closed-form MGF; the Bernoulli events follow, per customer (_event_log_mgf)
        const = 0.0
        for cm in c:
            const += 0.5 * (cm * p.noise_sd) ** 2
        # competitor spread: mean path (per city, linear in rate sensitivity) and the innovations
        # (Gaussian plus a centred Bernoulli jump) shared by the months, as a function of rate sensitivity
        mean_path = sum(c[m - 1] * (spread_mu + phi_pow[m] * (spread_now - spread_mu) - p.spread_ref)
                        for m in range(1, k + 1))
        spread_term = np.zeros_like(grid)
        for j in range(1, k + 1):
            a = spread_b * grid * sum(c[m - 1] * phi_pow[m - j] for m in range(j, k + 1))
            spread_term += _jump_gauss_log_mgf(p, a)
        log_e = base + np.float32(season[k - 1] + const) + np.float32(p.beta * rho_pow[k]) * d32
        log_e += (spread_term.astype(np.float32))[rs_idx]
        log_e += rs32 * (np.float32(spread_b) * mean_path.astype(np.float32))[city]
        if offset is not None:
            log_e += offset[:, k - 1].astype(np.float32)
        if len(with_mat):
            mat = maturity[with_mat]
            log_e[with_mat] += (maturity_pull[with_mat] * p.maturity_hazard * mat[:, k - 1]
                                + rate_sens[with_mat] * p.maturity_shock * (mat[:, :k] @ c)).astype(np.float32)
            due = mat[:, k - 1] > 0
            if p.maturity_spread_k and due.any():
                log_e[with_mat[due]] += _maturity_spread_term(
                    p, k, c, phi_pow, spread_b, maturity_pull[with_mat[due]], spread_sens[with_mat[due]],
                    mat[due, k - 1], city[with_mat[due]],
                    spread_now, spread_mu, spread_term[rs_idx[with_mat[due]]])
        log_e += _event_log_mgf(p, c, service_sens, rm_code, log_e, severity_p, resolved_p)
        e_h = np.minimum(np.float32(p.hazard_cap), np.exp(log_e))
        if treatment is not None:
            e_h = np.minimum(np.float32(p.hazard_cap), e_h * treatment[:, k - 1].astype(np.float32))
        p_month = 1.0 - (1.0 - e_h.astype(np.float64)) * (1.0 - q)
        survival *= 1.0 - weights[k - 1] * p_month
    return 1.0 - survival


def _event_log_mgf(p: ProcessParams, c: np.ndarray, service_sens: np.ndarray, rm_code: np.ndarray,
                   log_rest: np.ndarray, severity_p: np.ndarray, resolved_p: np.ndarray) -> np.ndarray:
    """log E[min(cap, h)] - log h_rest for the Bernoulli events of one month's hazard, per customer.

    Each event (a complaint of a given severity and handling, a relationship manager leaving, a
    job change, in each month up to this one) is a Bernoulli shock of the log hazard. Their
    moment-generating functions alone would let a rare, large shock of a customer with a strong
    beta push the expected hazard far above the cap, which the monthly hazard never exceeds, and
    their product would count two rare events in one quarter as if each multiplied the other's
    uncapped effect. So each branch contributes at most the cap given the rest of the customer's
    expected log hazard ``log_rest``, and the branches add up (first order in the event
    probabilities, like the survival product of expected_churn_probability; checked against simulation in
    tests/bank_simulator/test_truth.py).
    """
    ss = np.clip(service_sens, 0, 1).astype(np.float32)
    pc = np.float32(p.complaint_base) + np.float32(p.complaint_slope) * ss
    g = np.float32(0.3) + ss
    headroom = np.float32(p.hazard_cap) * np.exp(-log_rest)
    rm_w = np.append(RM_SEGMENT_WEIGHT, 0.0).astype(np.float32)[rm_code]
    has_rm = (rm_code < 3).astype(np.float32)
    excess = np.zeros(len(log_rest), dtype=np.float32)

    def capped(x):
        return np.minimum(np.exp(x), headroom) - 1.0

    for cm in c:
        for s_, ps, rs in zip(range(1, 6), severity_p, resolved_p, strict=True):
            for shock, w in ((p.complaint_resolved_shock, rs), (p.complaint_unresolved_shock, 1 - rs)):
                excess += pc * np.float32(ps * w) * capped(np.float32(cm * shock * s_ / 3.0) * g)
        excess += np.float32(p.rm_turnover_prob) * has_rm * capped(np.float32(cm * p.rm_turnover_shock) * rm_w)
        excess += np.float32(p.job_change_prob) * capped(np.float32(cm * p.job_change_shock))
    return np.log1p(excess)
