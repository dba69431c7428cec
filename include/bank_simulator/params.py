"""Sizes, calendar and the coefficients of the latent churn process (documented in docs/simulator.md)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# size -> (customers, months). Transactions follow from the behaviour model (about 6 per
# customer-month), so demo lands above 10 M and large above 100 M rows.
SIZES: dict[str, tuple[int, int]] = {
    "tiny": (2_000, 24),
    "demo": (100_000, 24),
    "large": (1_000_000, 24),
}

# First month of the default calendar: month-ends 2024-01-31 ... 2025-12-31 for 24 months.
START_MONTH = np.datetime64("2024-01", "M")


@dataclass(frozen=True)
class ProcessParams:
    """Coefficients of the latent process. Every one is named in docs/simulator.md."""

    # Churn hazard: log h = alpha + loyalty + beta * d + season + maturity term + new-customer
    # term; h <= hazard_cap.
    alpha: float = -6.7
    beta: float = 1.9
    loyalty_sd: float = 0.9
    hazard_cap: float = 0.9
    hazard_season_amplitude: float = 0.15
    # Disengagement d: d_t = rho * d_{t-1} + shocks_t + noise_sd * N(0,1).
    rho: float = 0.88
    noise_sd: float = 0.3
    d_init_mean: float = 0.0
    d_init_sd: float = 0.55
    # Complaints: monthly probability complaint_base + complaint_slope * service_sensitivity.
    complaint_base: float = 0.015
    complaint_slope: float = 0.06
    # shock = size * (0.3 + service_sensitivity) * severity / 3
    complaint_unresolved_shock: float = 1.3
    complaint_resolved_shock: float = 0.2
    # Competitor rate moves: shock = spread_effect * rate_sensitivity * (spread - spread_ref) / 1pp.
    spread_effect: float = 1.6
    spread_ref: float = 0.004
    spread_phi: float = 0.8
    spread_sd: float = 0.0008
    spread_jump_prob: float = 0.06
    spread_jump: float = 0.005
    # Customers without time deposits or wealth products at the window start feel the spread at
    # this fraction of their rate sensitivity.
    spread_gate_others: float = 0.3
    # Maturity of a time deposit or wealth-management product: d shock and a same-month hazard term.
    maturity_shock: float = 0.7
    maturity_hazard: float = 0.9
    # ... and the same-month term grows with the competitor's spread: maturity_hazard +
    # maturity_spread_k * (spread - spread_ref) / 1pp, times rate sensitivity (a rate chaser
    # whose deposit matures while a competitor pays more takes the money there).
    maturity_spread_k: float = 3.0
    maturity_rollover_prob: float = 0.75
    # Relationship-manager turnover (per manager per month) and the shock to their customers.
    rm_turnover_prob: float = 0.015
    rm_turnover_shock: float = 0.9
    # Life events: job change (shock; a payroll account leaves with prob payroll_loss_prob) and
    # relocation (a sudden churn with no warning with prob relocation_churn_prob).
    job_change_prob: float = 0.005
    job_change_shock: float = 1.0
    payroll_loss_prob: float = 0.6
    relocation_prob: float = 0.001
    relocation_churn_prob: float = 0.5
    # Switching costs: disengagement turns into leaving less readily for customers with a loan
    # here (beta x (1 - loan_lockin)) and for those a relationship manager looks after
    # (beta x (1 - rm_lockin)); both held at the window start (with the life stage below, the
    # customer's beta_scale).
    loan_lockin: float = 0.45
    rm_lockin: float = 0.3
    # Life stage: churn peaks in the pre-retirement years, when pensions, lump sums and the
    # children's education move money to wherever rates and service are best, and falls again
    # in old age; log hazard + age_hump * exp(-((age - age_peak) / age_width)^2), age at the
    # window start. The hump is the shape real retail-bank data shows (the public
    # Churn_Modelling set: churn peaks at ages 50-60, +1.6 log-odds against its mean, and falls
    # back by 70; age_hump is that amplitude).
    age_hump: float = 1.7
    age_peak: float = 55.0
    age_width: float = 8.0
    # Life stage changes what matters (at the window start, from late_stage_age on): low loyalty
    # weighs (1 + age_loyalty_k) times as much (Churn_Modelling: inactive versus active members
    # differ by 0.5-0.7 log-odds below 50 and by 2.4-3.8 at 50-70) ...
    age_loyalty_k: float = 1.0
    late_stage_age: float = 50.0
    # ... and a maturity pulls (1 + age_maturity_k) times as hard from late_stage_age on: the
    # lump sum of a saver nearing retirement goes to whoever pays the best rate.
    age_maturity_k: float = 2.0
    # ... and disengagement weighs (1 + age_engagement_k) times as much: a customer nearing
    # retirement who drifts away moves the savings (Churn_Modelling: the inactive-active gap
    # above is 3.4-7.6 times as wide at 50-70 as below 50).
    age_engagement_k: float = 4.0
    # Mass-affluent customers (100,000-300,000 CNY) without a relationship manager: log hazard +
    # mass_affluent_hump.
    mass_affluent_hump: float = 0.4
    # New customers: log hazard + new_customer_hazard while tenure < new_customer_months.
    new_customer_hazard: float = 0.6
    new_customer_months: int = 12
    # How disengagement shows in observable behaviour.
    txn_engagement_k: float = 1.5
    login_engagement_k: float = 1.5
    asset_drain_k: float = 0.6
    transfer_out_base: float = 0.02
    transfer_out_slope: float = 0.09
    # How low loyalty (z > 0) shows: fewer transactions (share of wallet) and logins, fewer
    # products held here, and monthly sweeps to the other bank with probability
    # sigmoid(multibank_a + multibank_k * z + multibank_noise * N(0,1) + multibank_engagement_k * max(d, 0)).
    wallet_share_k: float = 0.6
    login_loyalty_k: float = 0.6
    product_loyalty_k: float = 0.4
    multibank_a: float = -1.2
    multibank_k: float = 2.0
    multibank_noise: float = 0.5
    multibank_engagement_k: float = 0.8
    dip_prob: float = 0.06
    dip_factor: float = 0.3
    # Engagement shows both ways: while d < 0 (more engaged than usual) transactions and logins
    # run at exp(engaged_activity_k * min(-d, engaged_cap)) times the usual rate.
    engaged_activity_k: float = 0.6
    engaged_cap: float = 1.5
    # Retention feedback: treated customers' hazard is multiplied by treatment_effect for
    # treatment_months months starting with the month of the action.
    treatment_effect: float = 0.6
    treatment_months: int = 3
    # Churn type split.
    assets_drained_prob: float = 0.4


DEFAULT_PARAMS = ProcessParams()

# Hazard seasonality by calendar month (1..12): higher around year-end bonuses and the
# mid-year / year-end wealth-product cycles.
HAZARD_SEASON = np.array([0.8, 0.6, 0.0, -0.3, -0.3, 0.3, -0.2, -0.4, -0.2, -0.3, 0.0, 0.6])
# Transaction volume by calendar month: Spring Festival (Jan/Feb), Singles' Day (Nov), year end.
TXN_SEASON = np.array([1.06, 1.15, 0.95, 0.97, 0.98, 1.0, 0.96, 0.95, 1.0, 1.02, 1.12, 1.10])
