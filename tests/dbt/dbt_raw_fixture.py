"""A small, deterministic raw schema for the dbt tests.

The raw tables are created from the contract (include/contract/raw_contract.yml) so their
names and types are exactly what ingestion delivers; the rows are a toy bank with churners,
complaints, surveys, maturities and a market table, enough to exercise every indicator. The
tests can also run on the simulator's tiny output (see conftest.py); this fixture keeps them
independent of it and lets a test shape the data (empty tables, one snapshot) at will.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from include.contract import load_contract

MONTH_ENDS = [d.date() for d in pd.date_range("2024-01-31", "2025-12-31", freq="ME")]
CITIES = [("Shanghai", 1), ("Hangzhou", 2), ("Wuxi", 3), ("Lishui", 4)]


def create_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every contract table, empty, in schema raw."""
    con.execute("create schema if not exists raw")
    for table in load_contract().tables.values():
        cols = ", ".join(f'"{c.name}" {c.type}' for c in table.columns)
        con.execute(f"create or replace table raw.{table.name} ({cols})")


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    if frame.empty:
        return
    columns = load_contract().table(table).column_names
    frame = frame.reindex(columns=columns)
    con.register("_fixture_frame", frame)
    col_list = ", ".join(f'"{c}"' for c in columns)
    con.execute(f"insert into raw.{table} ({col_list}) select {col_list} from _fixture_frame")
    con.unregister("_fixture_frame")


def toy_bank(customers: int = 300, seed: int = 7) -> dict[str, pd.DataFrame]:
    """Rows for every raw table: a toy bank over the 24 month-ends of 2024-2025."""
    rng = np.random.default_rng(seed)
    start, end = dt.date(2024, 1, 1), dt.date(2025, 12, 31)
    ids = [f"C{i:06d}" for i in range(customers)]
    city_idx = rng.integers(0, len(CITIES), customers)
    onboard = [dt.date(2010, 1, 1) + dt.timedelta(days=int(x)) for x in rng.integers(0, 5800, customers)]
    churn_day = {}
    for i, cid in enumerate(ids):
        if rng.random() < 0.25:
            first = max(onboard[i], start) + dt.timedelta(days=30)
            if first < end:
                churn_day[cid] = first + dt.timedelta(days=int(rng.integers(0, (end - first).days + 1)))
    cust = pd.DataFrame(
        {
            "customer_id": ids,
            "name": [f"Name {i}" for i in range(customers)],
            "gender": rng.choice(["F", "M"], customers),
            "birth_date": [dt.date(1950, 1, 1) + dt.timedelta(days=int(x)) for x in rng.integers(0, 18000, customers)],
            "occupation": rng.choice(["salaried", "self_employed", "civil_servant", "retired", "student"], customers),
            "education": rng.choice(["secondary", "bachelor", "master"], customers),
            "city": [CITIES[c][0] for c in city_idx],
            "city_tier": [CITIES[c][1] for c in city_idx],
            "phone": [f"138{i:08d}" for i in range(customers)],
            "email": [f"c{i}@example.com" for i in range(customers)],
            "onboarding_date": onboard,
            "segment": rng.choice(["mass", "affluent", "private_banking"], customers, p=[0.7, 0.25, 0.05]),
            "relationship_manager_id": [f"RM{int(x):03d}" for x in rng.integers(0, 20, customers)],
            "branch_id": [f"B{c:02d}" for c in city_idx],
        }
    )
    # Every fifth customer has no relationship manager: no manager id and no assignment on record
    # (decided by position, so the random stream of the other tables stays the same).
    unmanaged = np.arange(customers) % 5 == 4
    cust.loc[unmanaged, "relationship_manager_id"] = None
    rm = pd.DataFrame(
        {
            "customer_id": ids,
            "relationship_manager_id": cust["relationship_manager_id"],
            "branch_id": cust["branch_id"],
            "assigned_date": onboard,
        }
    )
    # A second assignment for some customers, inside the data window.
    moved = rng.random(customers) < 0.3
    rm2 = pd.DataFrame(
        {
            "customer_id": np.array(ids)[moved],
            "relationship_manager_id": [f"RM{int(x):03d}" for x in rng.integers(0, 20, moved.sum())],
            "branch_id": cust["branch_id"][moved].to_numpy(),
            "assigned_date": [start + dt.timedelta(days=int(x)) for x in rng.integers(0, 700, moved.sum())],
        }
    )
    rm = pd.concat([rm, rm2], ignore_index=True).drop_duplicates(["customer_id", "assigned_date"])
    rm = rm[~rm.customer_id.isin(np.array(ids)[unmanaged])]

    prod_rows, txn_rows, bal_rows, act_rows, int_rows = [], [], [], [], []
    types = ["time_deposit", "wealth_management", "fund", "insurance", "loan", "credit_card", "payroll_service"]
    for i, cid in enumerate(ids):
        stop = churn_day.get(cid, end + dt.timedelta(days=1))
        ca = f"P{i:06d}00"
        prod_rows.append((ca, cid, "current_account", onboard[i], stop if cid in churn_day else None, None))
        for k, ptype in enumerate(rng.choice(types, int(rng.integers(0, 4)), replace=False)):
            open_d = onboard[i] + dt.timedelta(days=int(rng.integers(0, 900)))
            close_d = None
            if rng.random() < 0.3:
                close_d = open_d + dt.timedelta(days=int(rng.integers(30, 900)))
            if cid in churn_day and (close_d is None or close_d > stop):
                close_d = stop if open_d < stop else None
            maturity = open_d + dt.timedelta(days=int(rng.choice([180, 365, 730]))) if ptype in (
                "time_deposit", "wealth_management", "loan") else None
            prod_rows.append((f"P{i:06d}{k + 1:02d}", cid, str(ptype), open_d, close_d, maturity))
        level = float(rng.lognormal(10, 1.2))
        for m in MONTH_ENDS:
            if m < onboard[i]:
                continue
            drained = cid in churn_day and m >= stop
            aum = 0.0 if drained else level * float(rng.uniform(0.8, 1.2))
            bal_rows.append((cid, m, round(aum * 0.4, 2), round(aum * 0.3, 2), round(aum * 0.2, 2),
                             round(aum * 0.1, 2), 0.0, 0.0, round(aum, 2)))
        n_tx = int(rng.integers(0, 80))
        for t in range(n_tx):
            ts = dt.datetime(2024, 1, 1) + dt.timedelta(minutes=int(rng.integers(0, 731 * 1440)))
            if ts.date() >= stop or ts.date() < onboard[i]:
                continue
            ttype = str(rng.choice(["salary", "deposit", "withdrawal", "payment", "transfer_in",
                                    "transfer_out_internal", "transfer_out_other_bank", "fee"]))
            direction = "in" if ttype in ("salary", "deposit", "transfer_in") else "out"
            txn_rows.append((f"T{i:06d}{t:04d}", cid, ca, ts, round(float(rng.lognormal(6, 1)), 2), direction,
                             ttype, "OtherBank" if ttype == "transfer_out_other_bank" else None,
                             str(rng.choice(["branch", "atm", "mobile", "online", "pos"]))))
        days = sorted({int(x) for x in rng.integers(0, 731, int(rng.integers(0, 60)))})
        for d in days:
            day = start + dt.timedelta(days=d)
            if day < stop and day >= onboard[i]:
                act_rows.append((cid, day, int(rng.integers(0, 4)), int(rng.integers(0, 2))))
        for j in range(int(rng.integers(0, 6))):
            ts = dt.datetime(2024, 1, 1) + dt.timedelta(minutes=int(rng.integers(0, 731 * 1440)))
            if ts.date() >= stop:
                continue
            kind = str(rng.choice(["complaint", "inquiry", "survey"], p=[0.4, 0.2, 0.4]))
            resolved = None
            if kind != "survey" and rng.random() < 0.8:
                resolved = ts + dt.timedelta(hours=int(rng.integers(1, 24 * 40)))
            int_rows.append((f"I{i:06d}{j:02d}", cid, ts, kind,
                             str(rng.choice(["fees", "service_attitude", "waiting_time", "product"])) if kind == "complaint" else None,
                             int(rng.integers(1, 6)) if kind == "complaint" else None, resolved,
                             int(rng.integers(1, 11)) if kind == "survey" else None))
    market = pd.DataFrame(
        [
            (m, city, 0.015 + 0.001 * (k % 5), 0.002 * tier + 0.0005 * (k % 3), 0.01, 0.9 - 0.2 * tier)
            for k, m in enumerate(MONTH_ENDS)
            for city, tier in CITIES
        ],
        columns=["month_end", "city", "benchmark_deposit_rate", "competitor_rate_spread",
                 "equity_index_return", "regional_competition_index"],
    )
    churn = pd.DataFrame(
        [(cid, d, "account_closure" if k % 3 else "assets_drained") for k, (cid, d) in enumerate(churn_day.items())],
        columns=["customer_id", "churn_date", "churn_type"],
    )
    return {
        "customers": cust,
        "rm_assignments": rm,
        "products": pd.DataFrame(prod_rows, columns=["product_id", "customer_id", "product_type", "open_date",
                                                     "close_date", "maturity_date"]),
        "balance_snapshots": pd.DataFrame(bal_rows, columns=[
            "customer_id", "month_end", "current_balance", "time_deposit_balance", "wealth_management_balance",
            "fund_balance", "insurance_balance", "loan_balance", "aum_month_avg"]),
        "transactions": pd.DataFrame(txn_rows, columns=[
            "transaction_id", "customer_id", "product_id", "transaction_ts", "amount", "direction",
            "transaction_type", "counterparty_bank", "channel"]),
        "service_interactions": pd.DataFrame(int_rows, columns=[
            "interaction_id", "customer_id", "interaction_ts", "kind", "complaint_category", "severity",
            "resolved_ts", "satisfaction_score"]),
        "digital_activity": pd.DataFrame(act_rows, columns=["customer_id", "activity_date", "mobile_logins",
                                                            "online_logins"]),
        "market_environment": market,
        "churn_events": churn,
        "retention_actions": pd.DataFrame(),
    }


def build_toy_warehouse(path: Path, customers: int = 300, seed: int = 7,
                        skip: tuple[str, ...] = ()) -> dict[str, pd.DataFrame]:
    """Write the toy bank into schema raw of a new DuckDB file; tables in `skip` stay empty."""
    frames = toy_bank(customers, seed)
    with duckdb.connect(str(path)) as con:
        create_raw_schema(con)
        for name, frame in frames.items():
            if name not in skip:
                _insert(con, name, frame)
    return frames
