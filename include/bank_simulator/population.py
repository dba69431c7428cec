"""The bank's customers at the start of the window: demographics, latent traits and holdings.

Everything here is drawn once from the ``init`` random stream; the monthly process
(:mod:`include.bank_simulator.process`) then evolves it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from include.bank_simulator.params import ProcessParams

CITIES: list[tuple[str, int]] = [
    ("Beijing", 1), ("Shanghai", 1), ("Guangzhou", 1), ("Shenzhen", 1),
    ("Chengdu", 2), ("Hangzhou", 2), ("Wuhan", 2), ("Nanjing", 2), ("Xian", 2), ("Chongqing", 2),
    ("Tianjin", 2), ("Suzhou", 2), ("Changsha", 2), ("Zhengzhou", 2), ("Qingdao", 2),
    ("Wuxi", 3), ("Foshan", 3), ("Hefei", 3), ("Dalian", 3), ("Fuzhou", 3), ("Xiamen", 3),
    ("Kunming", 3), ("Nanning", 3),
    ("Luoyang", 4), ("Yichang", 4), ("Zhuzhou", 4), ("Mianyang", 4), ("Ganzhou", 4), ("Jiujiang", 4),
    ("Baoding", 4),
]
CITY_NAMES = [c for c, _ in CITIES]
CITY_TIER = np.array([t for _, t in CITIES], dtype=np.int32)
_TIER_WEIGHT = {1: 0.07, 2: 0.035, 3: 0.02, 4: 0.012}
_TIER_BRANCHES = {1: 6, 2: 4, 3: 2, 4: 1}

GENDERS = ["F", "M"]
OCCUPATIONS = ["salaried", "self_employed", "civil_servant", "retired", "student", "other"]
EDUCATIONS = ["secondary", "vocational", "bachelor", "master", "doctorate"]
SEGMENTS = ["mass", "affluent", "private_banking"]
OTHER_BANKS = ["ICBC", "CCB", "ABC", "BOC", "BOCOM", "CMB", "SPDB", "CITIC", "CIB", "PAB", "WeBank", "MYbank"]

# Product slots: the code is part of product_id (P + customer number + code + generation).
PRODUCT_TYPES = [
    "current_account", "time_deposit", "wealth_management", "fund",
    "insurance", "loan", "credit_card", "payroll_service",
]
CUR, TD, WM, FUND, INS, LOAN, CARD, PAYROLL = range(8)

SURNAMES = ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun",
            "Ma", "Zhu", "Hu", "Guo", "He", "Lin", "Gao", "Luo", "Zheng", "Liang", "Xie", "Song"]
GIVEN = ["Wei", "Fang", "Na", "Min", "Jing", "Li", "Qiang", "Lei", "Jun", "Yang", "Yong", "Yan", "Jie",
         "Juan", "Tao", "Ming", "Chao", "Xiu", "Xia", "Ping", "Gang", "Hui", "Hua", "Bo", "Yu", "Ting",
         "Hao", "Xin", "Yi", "Lan", "Feng", "Kai"]
EMAIL_DOMAINS = ["example.com", "mail.example.cn", "example.net"]

TD_TERMS = np.array([3, 6, 12, 24, 36])
TD_TERM_P = np.array([0.15, 0.25, 0.35, 0.15, 0.10])
WM_TERMS = np.array([3, 6, 12])
WM_TERM_P = np.array([0.3, 0.4, 0.3])


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class Population:
    n: int
    age: np.ndarray
    birth_day: np.ndarray
    gender: np.ndarray
    occupation: np.ndarray
    education: np.ndarray
    city: np.ndarray
    branch: np.ndarray
    branch_city: np.ndarray
    onboard_day: np.ndarray
    tenure_years: np.ndarray
    log_value: np.ndarray
    value: np.ndarray
    segment: np.ndarray
    rate_sens: np.ndarray
    service_sens: np.ndarray
    digital: np.ndarray
    mobile_pref: np.ndarray
    loyalty: np.ndarray
    holds: np.ndarray  # (n, 8) bool, holdings at onboarding / window start
    shares: np.ndarray  # (n, 5) asset allocation weights over cur, td, wm, fund, ins
    td_term: np.ndarray
    wm_term: np.ndarray
    salary: np.ndarray
    payday: np.ndarray  # 0 = last day of the month
    loan_principal: np.ndarray
    loan_term: np.ndarray
    loan_paid_frac: np.ndarray
    base_txn: np.ndarray
    pref_bank: np.ndarray
    has_rm: np.ndarray
    competition: np.ndarray  # per city
    loyalty_z: np.ndarray
    multibank: np.ndarray  # monthly probability of a sweep to the other bank
    beta_scale: np.ndarray  # multiplies beta: switching costs (loan, relationship manager) and life stage
    maturity_pull: np.ndarray  # rate sensitivity x the life-stage factor: the hazard's maturity term
    spread_sens: np.ndarray  # how strongly the competitor spread moves d

    PER_PLACE = ("branch_city", "competition")  # per branch and per city, not per customer

    def take(self, idx: np.ndarray) -> Population:
        """The customers ``idx`` (in that order)."""
        per_customer = {f.name: getattr(self, f.name)[idx] for f in fields(self)
                        if f.name != "n" and f.name not in self.PER_PLACE}
        return replace(self, n=len(idx), **per_customer)


def build_population(n: int, rng: np.random.Generator, start_day: int, n_months: int,
                     month_start_days: np.ndarray, p: ProcessParams) -> Population:
    age = np.clip(rng.normal(43.0, 14.5, n), 18.0, 88.0)
    birth_day = (start_day - age * 365.25 - rng.uniform(0, 365, n)).astype(np.int64)
    gender = rng.integers(0, 2, n)

    occ = rng.choice(6, size=n, p=[0.55, 0.18, 0.10, 0.0, 0.0, 0.17])
    occ = np.where((age >= 60) & (rng.random(n) < 0.8), 3, occ)
    occ = np.where((age < 24) & (rng.random(n) < 0.5), 4, occ)
    edu = rng.choice(5, size=n, p=[0.30, 0.22, 0.33, 0.12, 0.03])

    w = np.array([_TIER_WEIGHT[t] for t in CITY_TIER])
    city = rng.choice(len(CITIES), size=n, p=w / w.sum())
    branches_per_city = np.array([_TIER_BRANCHES[t] for t in CITY_TIER])
    first_branch = np.concatenate([[0], np.cumsum(branches_per_city)[:-1]])
    branch = first_branch[city] + (rng.random(n) * branches_per_city[city]).astype(np.int64)
    branch_city = np.repeat(np.arange(len(CITIES)), branches_per_city)
    competition = np.clip(0.85 - 0.17 * (CITY_TIER - 1) + rng.normal(0, 0.05, len(CITIES)), 0.05, 0.98)

    # Heavy-tailed value: log-normal body plus a Pareto tail (the few very wealthy clients).
    log_value = (9.7 + 1.3 * rng.standard_normal(n) + 0.012 * (age - 40) + 0.25 * (edu >= 2)
                 + 0.35 * (CITY_TIER[city] == 1))
    tail = rng.random(n) < 0.03
    log_value = log_value + np.where(tail, np.log1p(rng.pareto(1.3, n)) + 1.0, 0.0)
    value = np.exp(log_value)
    segment = np.where(value >= 3_000_000, 2, np.where(value >= 300_000, 1, 0))

    rate_sens = np.clip(rng.beta(2, 3, n) + 0.08 * (segment >= 1), 0, 1)
    service_sens = rng.beta(2, 3, n)
    digital = np.clip(rng.beta(2.5, 2.0, n) - 0.012 * (age - 40), 0.01, 0.99)
    mobile_pref = rng.beta(3, 1.6, n)

    new_in_window = rng.random(n) < 0.08
    tenure = np.minimum(rng.exponential(6.0, n), np.maximum(age - 18, 0.2)) + 0.05
    onboard_day = (start_day - tenure * 365.25).astype(np.int64)
    onb_month = rng.integers(1, max(n_months, 2), n)
    onb_in = month_start_days[np.minimum(onb_month, n_months - 1)] + rng.integers(0, 28, n)
    onboard_day = np.where(new_in_window, onb_in, onboard_day)
    tenure = np.where(new_in_window, 0.0, tenure)

    # Loyalty: a persistent offset of the log hazard (below). Its idiosyncratic part z is drawn
    # here because low loyalty also shapes what the customer keeps with this bank: a customer
    # whose main bank is elsewhere (multi-banking) holds fewer products here, rarely has the
    # salary paid in, and keeps a smaller share of wallet (fewer transactions and logins, more
    # money sent to the other bank; see process.py).
    loyalty_z = rng.standard_normal(n)
    keep = np.exp(-p.product_loyalty_k * loyalty_z)

    lv = log_value
    holds = np.zeros((n, 8), dtype=bool)
    holds[:, CUR] = True
    holds[:, TD] = rng.random(n) < (0.12 + 0.35 * _sigmoid(lv - 11)) * keep
    holds[:, WM] = rng.random(n) < (0.04 + 0.35 * _sigmoid(lv - 11.5) * (0.5 + rate_sens)) * keep
    holds[:, FUND] = rng.random(n) < (0.05 + 0.25 * digital * _sigmoid(lv - 10.5)) * keep
    holds[:, INS] = rng.random(n) < (0.08 + 0.10 * (age > 35)) * keep
    holds[:, LOAN] = rng.random(n) < (0.10 + 0.12 * ((age > 25) & (age < 50))) * keep
    holds[:, CARD] = rng.random(n) < (0.15 + 0.45 * digital) * keep
    holds[:, PAYROLL] = np.isin(occ, [0, 2]) & (rng.random(n) < np.minimum(0.95, 0.6 * keep))

    raw = rng.gamma(np.array([2.0, 2.0, 2.0, 1.0, 1.0]), 1.0, (n, 5))
    # Rate-sensitive customers keep more of their money in time deposits and wealth products.
    raw[:, 1:3] *= (0.4 + 1.2 * rate_sens)[:, None]
    shares = raw * holds[:, [CUR, TD, WM, FUND, INS]]

    td_term = rng.choice(TD_TERMS, size=n, p=TD_TERM_P)
    wm_term = rng.choice(WM_TERMS, size=n, p=WM_TERM_P)
    salary = np.exp(8.7 + 0.45 * rng.standard_normal(n) + 0.15 * (lv - 9.7))
    payday = rng.choice(np.array([10, 15, 25, 0]), size=n, p=[0.3, 0.3, 0.15, 0.25])
    loan_principal = np.exp(11.8 + 0.8 * rng.standard_normal(n))
    loan_term = rng.choice(np.array([60, 120, 240, 360]), size=n)
    loan_paid_frac = rng.uniform(0.0, 0.8, n)

    base_txn = np.exp(np.log(5.6) + 0.55 * rng.standard_normal(n) + 0.6 * (digital - 0.5)
                      + 0.06 * (lv - 9.7))
    pref_bank = rng.integers(0, len(OTHER_BANKS), n)
    has_rm = (segment >= 1) | (rng.random(n) < 0.2)

    # Share of wallet elsewhere: the chance, each month, that the customer sweeps money to the
    # other bank where the main relationship is (a noisy, observable trace of low loyalty).
    multibank = _sigmoid(p.multibank_a + p.multibank_k * loyalty_z + p.multibank_noise * rng.standard_normal(n))
    base_txn = base_txn * np.exp(-p.wallet_share_k * loyalty_z)
    # Persistent hazard offset: short tenure, youth and fierce local competition raise it;
    # payroll and a private-banking relationship anchor the customer.
    # Life stage (docs/simulator.md): from late_stage_age on, low loyalty and disengagement weigh
    # more and a maturity pulls harder.
    late_stage = age >= p.late_stage_age
    loyalty = (p.loyalty_sd * loyalty_z * (1.0 + p.age_loyalty_k * late_stage) - 0.035 * np.minimum(tenure, 15)
               + 0.25 * (age < 30)
               - 0.2 * (segment == 2) - 0.25 * holds[:, PAYROLL] + 0.4 * competition[city]
               - 0.15 * holds[:, LOAN] + p.age_hump * np.exp(-(((age - p.age_peak) / p.age_width) ** 2)))
    beta_scale = ((1.0 - p.loan_lockin * holds[:, LOAN]) * (1.0 - p.rm_lockin * has_rm)
                  * (1.0 + p.age_engagement_k * late_stage))
    # Competitor rate moves reach those with savings to move: time-deposit and wealth-product
    # holders at the window start feel them fully, others at spread_gate_others.
    investor = holds[:, TD] | holds[:, WM]
    spread_sens = rate_sens * np.where(investor, 1.0, p.spread_gate_others)
    maturity_pull = rate_sens * (1.0 + p.age_maturity_k * late_stage)
    # Competitors' wealth campaigns target the mass-affluent band below the relationship-manager
    # threshold, whom nobody at this bank looks after.
    loyalty = loyalty + p.mass_affluent_hump * ((value >= 100_000) & (value < 300_000) & ~has_rm)

    return Population(
        n=n, age=age, birth_day=birth_day, gender=gender, occupation=occ, education=edu, city=city,
        branch=branch, branch_city=branch_city, onboard_day=onboard_day, tenure_years=tenure,
        log_value=log_value, value=value, segment=segment, rate_sens=rate_sens, service_sens=service_sens,
        digital=digital, mobile_pref=mobile_pref, loyalty=loyalty, holds=holds, shares=shares,
        td_term=td_term, wm_term=wm_term, salary=salary, payday=payday, loan_principal=loan_principal,
        loan_term=loan_term, loan_paid_frac=loan_paid_frac, base_txn=base_txn, pref_bank=pref_bank,
        has_rm=has_rm, competition=competition, loyalty_z=loyalty_z,
        multibank=multibank, beta_scale=beta_scale, spread_sens=spread_sens, maturity_pull=maturity_pull,
    )
