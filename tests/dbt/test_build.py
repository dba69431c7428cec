"""A real `dbt build` on the toy bank: the marts exist, have the promised keys, and hold the
values an independent pandas computation gives for the same customers and dates."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from tests.dbt.conftest import AS_OF_DATE, query

pytestmark = pytest.mark.integration

MARTS = ["customer_indicators", "churn_labels", "training_panel", "scoring_panel", "customer_segments",
         "indicator_catalog"]


def test_every_mart_is_built_in_schema_marts(toy_built):
    tables = query(toy_built, "select table_schema, table_name from information_schema.tables")
    names = set(tables.loc[tables.table_schema == "marts", "table_name"])
    assert set(MARTS) <= names
    assert {"staging", "intermediate", "marts"} <= set(tables.table_schema)
    for mart in MARTS:
        assert query(toy_built, f"select count(*) as n from marts.{mart}").n[0] > 0, mart


def test_panel_holds_every_month_end_up_to_the_run_date(toy_built, toy_raw):
    dates = query(toy_built, "select distinct as_of_date from marts.customer_indicators order by 1").as_of_date
    month_ends = sorted(pd.to_datetime(toy_raw[1]["balance_snapshots"].month_end).unique())
    assert list(pd.to_datetime(dates)) == month_ends
    scoring = query(toy_built, "select distinct as_of_date from marts.scoring_panel")
    assert list(scoring.as_of_date.astype(str)) == [AS_OF_DATE]


def _active(frames: dict, as_of: dt.date) -> set[str]:
    cust = frames["customers"]
    churned = frames["churn_events"]
    gone = set(churned.loc[pd.to_datetime(churned.churn_date).dt.date <= as_of, "customer_id"])
    onboarded = set(cust.loc[pd.to_datetime(cust.onboarding_date).dt.date <= as_of, "customer_id"])
    return onboarded - gone


@pytest.mark.parametrize("as_of", ["2024-09-30", "2025-12-31"])
def test_population_is_customers_onboarded_and_not_churned(toy_built, toy_raw, as_of):
    rows = query(toy_built, "select customer_id from marts.customer_indicators where as_of_date = ?", [as_of])
    assert set(rows.customer_id) == _active(toy_raw[1], dt.date.fromisoformat(as_of))


def test_indicator_values_match_an_independent_pandas_computation(toy_built, toy_raw):
    frames = toy_raw[1]
    as_of = dt.date(2025, 6, 30)
    ind = query(toy_built, "select * from marts.customer_indicators where as_of_date = ?", [as_of]).set_index(
        "customer_id")

    tx = frames["transactions"].copy()
    tx["d"] = pd.to_datetime(tx.transaction_ts).dt.date
    age = tx.d.map(lambda d: (as_of - d).days)
    last90 = tx[(age >= 0) & (age < 90)]
    expected_count = last90.groupby("customer_id").size().reindex(ind.index, fill_value=0)
    assert (ind.transaction_count_90d.astype(int) == expected_count).all()
    out90 = last90[last90.direction == "out"].groupby("customer_id").amount.sum()
    other90 = last90[last90.transaction_type == "transfer_out_other_bank"].groupby("customer_id").amount.sum()
    share = (other90.reindex(out90.index, fill_value=0) / out90.replace(0, np.nan)).reindex(ind.index)
    assert np.allclose(ind.other_bank_outflow_share_90d.astype(float), share, equal_nan=True)

    inter = frames["service_interactions"]
    comp = inter[(inter.kind == "complaint") & (pd.to_datetime(inter.interaction_ts).dt.date <= as_of)]
    resolved = pd.to_datetime(comp.resolved_ts).dt.date
    open_at = comp[resolved.isna() | (resolved > as_of)]
    expected_open = open_at.groupby("customer_id").size().reindex(ind.index, fill_value=0)
    assert (ind.complaints_unresolved.astype(int) == expected_open).all()
    assert expected_open.sum() > 0

    bal = frames["balance_snapshots"]
    bal = bal[(pd.to_datetime(bal.month_end).dt.date <= as_of)
              & (pd.to_datetime(bal.month_end).dt.date > as_of - dt.timedelta(days=90))]
    aum3 = bal.groupby("customer_id").aum_month_avg.mean().reindex(ind.index)
    assert bal.groupby("customer_id").size().max() == 3
    assert np.allclose(ind.aum_avg_3m.astype(float), aum3, equal_nan=True)

    prods = frames["products"]
    od, cd = pd.to_datetime(prods.open_date).dt.date, pd.to_datetime(prods.close_date).dt.date
    held = prods[(od <= as_of) & (cd.isna() | (cd > as_of))].groupby("customer_id").size()
    assert (ind.products_held.astype(int) == held.reindex(ind.index, fill_value=0)).all()

    # A customer nobody looks after has no manager tenure (not the tenure with the bank).
    rm = frames["rm_assignments"]
    last = rm[pd.to_datetime(rm.assigned_date).dt.date <= as_of].groupby("customer_id").assigned_date.max()
    managed = frames["customers"].set_index("customer_id").relationship_manager_id.notna().reindex(ind.index)
    managed |= last.reindex(ind.index).notna()
    assert 0 < (~managed).sum() < len(ind)
    assert (ind.has_relationship_manager.astype(int) == managed.astype(int)).all()
    assert ind.rm_tenure_days[~managed].isna().all()
    tenure = last.reindex(ind.index)[managed].map(lambda d: (as_of - pd.Timestamp(d).date()).days)
    assert (ind.rm_tenure_days[managed].astype(int) == tenure.astype(int)).all()


def test_labels_cover_every_indicator_row_and_training_rows_are_labeled(toy_built):
    counts = query(toy_built, """
        select
            (select count(*) from marts.customer_indicators) as indicators,
            (select count(*) from marts.churn_labels) as labels,
            (select count(*) from marts.training_panel where churned_within_horizon is null) as unlabeled_training,
            (select count(*) from marts.training_panel) as training,
            (select count(*) from marts.churn_labels where churned_within_horizon is not null) as labeled
    """).iloc[0]
    assert counts.indicators == counts.labels
    assert counts.unlabeled_training == 0
    assert counts.training == counts.labeled > 0


def test_segments_cover_the_panel_with_known_values(toy_built):
    seg = query(toy_built, "select * from marts.customer_segments")
    n = query(toy_built, "select count(*) as n from marts.customer_indicators").n[0]
    assert len(seg) == n
    assert set(seg.loyalty_segment) <= {"new", "dormant", "at_risk", "growing", "loyal", "stable"}
    assert len(set(seg.loyalty_segment)) >= 4
    # quintiles: within a date, the monetary score splits customers in five near-equal groups
    last = seg[seg.as_of_date.astype(str) == AS_OF_DATE].monetary_score.value_counts()
    assert sorted(last.index) == [1, 2, 3, 4, 5] and last.max() - last.min() <= 1
