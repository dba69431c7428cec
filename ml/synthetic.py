"""A small customer-month panel with a known churn probability, for ml/ tests and benchmarks.

It stands in for ``marts.training_panel`` where the full pipeline is not needed: same key and
label columns, indicators in the five families of plan 2.2, a catalog in the same shape as
``marts.indicator_catalog``, and a truth table like the simulator's (churn_probability_true).
The churn process is non-linear on purpose (a hump in age, product-count effects, complaints
that matter more when satisfaction is low), as real churn is.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CATALOG = [
    # indicator, family, name_en, name_zh, formula, unit, risk_direction, data_type
    ("age", "basic_information", "Age", "年龄", "years since birth_date", "years", "none", "integer"),
    ("gender", "basic_information", "Gender", "性别", "customers.gender", "", "none", "varchar"),
    ("segment", "basic_information", "Value segment", "客户价值分层", "customers.segment", "", "none", "varchar"),
    ("products_held", "basic_information", "Products held", "持有产品数", "count of open products", "products",
     "down", "integer"),
    ("tenure_months", "basic_information", "Tenure", "开户时长", "months since onboarding_date", "months", "down",
     "integer"),
    ("aum_month_avg", "transaction_behaviour", "AUM, month average", "月日均资产", "balance_snapshots.aum_month_avg",
     "CNY", "down", "double"),
    ("aum_change_3m", "transaction_behaviour", "AUM change, last 3 months", "近3个月资产变化率",
     "aum(t) / aum(t-3m) - 1", "ratio", "down", "double"),
    ("transactions_90d", "transaction_behaviour", "Transactions, last 90 days", "近90天交易笔数",
     "count of transactions in (t-90d, t]", "count", "down", "integer"),
    ("outflow_other_bank_share_90d", "transaction_behaviour", "Share of outflows to other banks, last 90 days",
     "近90天他行转出占比", "transfer_out_other_bank / all outflows", "ratio", "up", "double"),
    ("digital_logins_30d", "transaction_behaviour", "Digital logins, last 30 days", "近30天线上登录次数",
     "sum of mobile and online logins", "count", "down", "integer"),
    ("satisfaction_latest", "satisfaction", "Latest satisfaction score", "最近满意度评分", "latest survey score",
     "score", "down", "integer"),
    ("complaints_90d", "complaints_feedback", "Complaints, last 90 days", "近90天投诉次数",
     "count of complaints in (t-90d, t]", "count", "up", "integer"),
    ("unresolved_complaints", "complaints_feedback", "Unresolved complaints", "未解决投诉数",
     "complaints without resolved_ts at t", "count", "up", "integer"),
    ("competitor_rate_spread", "market_environment", "Competitor rate spread", "竞争对手利差",
     "best competitor rate - own rate", "percent", "up", "double"),
]


def catalog() -> pd.DataFrame:
    return pd.DataFrame(CATALOG, columns=["indicator", "family", "name_en", "name_zh", "formula", "unit",
                                          "risk_direction", "data_type"])


def make_panel(customers: int = 2000, months: int = 20, *, seed: int = 0, start: str = "2024-01-31",
               base_logit: float = -3.6) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(panel, truth): panel has customer_id, as_of_date, the indicators and churned_within_horizon."""
    rng = np.random.default_rng(seed)
    n, t = customers, months
    dates = pd.date_range(start, periods=t, freq="ME")
    cid = np.array([f"C{i:07d}" for i in range(n)])
    age0 = rng.integers(20, 80, n)
    gender = rng.choice(["F", "M"], n)
    segment = rng.choice(["mass", "affluent", "private_banking"], n, p=[0.8, 0.17, 0.03])
    products = rng.choice([1, 2, 3, 4], n, p=[0.45, 0.42, 0.1, 0.03])
    tenure0 = rng.integers(1, 240, n)
    wealth = rng.lognormal(10, 1.2, n) * np.where(segment == "private_banking", 20, np.where(segment == "affluent", 4, 1))
    engagement = rng.normal(0, 1, n)
    service = rng.normal(0, 1, n)
    city_spread = rng.choice([0.2, 0.5, 0.9], n)

    rows = []
    for k, d in enumerate(dates):
        drift = rng.normal(0, 0.6, n)
        eng_t = engagement + 0.3 * np.sin(k / 3) + drift * 0.5
        aum_change = np.clip(rng.normal(0.02, 0.15, n) - 0.25 * (drift < -0.9), -0.95, 2.0)
        aum = wealth * (1 + aum_change) * rng.lognormal(0, 0.1, n)
        tx = rng.poisson(np.exp(2.5 + 0.5 * eng_t))
        logins = rng.poisson(np.exp(1.5 + 0.7 * eng_t)) * (rng.random(n) < 0.8)
        other_bank = np.clip(rng.beta(1, 6, n) + 0.3 * (drift < -1.0), 0, 1)
        complaints = rng.poisson(np.exp(-2 + 0.8 * service.clip(-3, 3)))
        unresolved = rng.binomial(complaints, 0.3)
        sat = np.clip(np.round(7.5 - 1.2 * service + rng.normal(0, 1.5, n)), 1, 10).astype(float)
        sat[rng.random(n) < 0.4] = np.nan
        spread = city_spread * 0.01 + rng.normal(0, 0.002, n) + 0.002 * np.sin(k / 4)
        age = age0 + k / 12
        logit = (base_logit
                 + 0.9 * ((age > 45) & (age < 65))
                 + np.select([products == 1, products == 2, products == 3], [0.6, -0.5, 1.8], 2.5)
                 - 0.5 * eng_t
                 - 1.2 * np.minimum(aum_change, 0.2) * 3
                 + 2.0 * other_bank
                 + 0.5 * complaints * (np.nan_to_num(sat, nan=7) < 6)
                 + 0.6 * unresolved
                 + 60 * spread
                 - 0.3 * (segment == "private_banking")
                 - 0.003 * tenure0)
        p = 1 / (1 + np.exp(-logit))
        y = rng.random(n) < p
        frame = pd.DataFrame({
            "customer_id": cid, "as_of_date": d, "age": np.floor(age).astype(int), "gender": gender,
            "segment": segment, "products_held": products, "tenure_months": tenure0 + k,
            "aum_month_avg": aum.round(2), "aum_change_3m": aum_change, "transactions_90d": tx,
            "outflow_other_bank_share_90d": other_bank, "digital_logins_30d": logins,
            "satisfaction_latest": sat, "complaints_90d": complaints, "unresolved_complaints": unresolved,
            "competitor_rate_spread": spread * 100, "churned_within_horizon": y, "_p": p,
        })
        rows.append(frame)
    panel = pd.concat(rows, ignore_index=True)
    panel["gender"] = panel["gender"].astype("str")
    truth = panel[["customer_id", "as_of_date"]].copy()
    truth["churn_probability_true"] = panel.pop("_p")
    truth["churned_within_horizon"] = panel["churned_within_horizon"]
    return panel, truth
