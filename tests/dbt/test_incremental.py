"""Incremental per as_of_date: rebuilding a date replaces it exactly, the other dates stay, the
default mode adds only missing month-ends, and a run's non-month-end date is kept only until
the next run."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.dbt.conftest import AS_OF_DATE, execute, query

pytestmark = pytest.mark.integration

ORDER = "order by as_of_date, customer_id"


def _table(path, table="customer_indicators") -> pd.DataFrame:
    return query(path, f"select * from marts.{table} {ORDER}")


def test_rebuilding_one_date_replaces_it_exactly(toy_copy, dbt):
    before = _table(toy_copy)
    dbt("run", toy_copy, {"as_of_date": "2025-03-31", "build_dates": "as_of_date"})
    after = _table(toy_copy)
    pd.testing.assert_frame_equal(after, before, check_exact=False, rtol=1e-12, atol=1e-12)

    # A customer removed from raw disappears from the rebuilt date only.
    victim = before[before.as_of_date.astype(str) == "2025-03-31"].customer_id.iloc[0]
    execute(toy_copy, f"delete from raw.customers where customer_id = '{victim}'")
    dbt("run", toy_copy, {"as_of_date": "2025-03-31", "build_dates": "as_of_date"})
    after = _table(toy_copy)
    rebuilt = after.as_of_date.astype(str) == "2025-03-31"
    assert victim not in set(after[rebuilt].customer_id)
    assert len(after[rebuilt]) == (before.as_of_date.astype(str) == "2025-03-31").sum() - 1
    others_before = before[before.as_of_date.astype(str) != "2025-03-31"].reset_index(drop=True)
    pd.testing.assert_frame_equal(after[~rebuilt].reset_index(drop=True), others_before, check_exact=False,
                                  rtol=1e-12, atol=1e-12)
    assert not after.duplicated(["customer_id", "as_of_date"]).any()


def test_missing_mode_adds_only_missing_month_ends(toy_copy, dbt):
    before = _table(toy_copy)
    execute(toy_copy, "delete from marts.customer_indicators where as_of_date in ('2024-05-31', '2025-02-28')")
    dbt("run", toy_copy, {"as_of_date": AS_OF_DATE}, "--select", "int_as_of_dates")
    built = query(toy_copy, "select as_of_date from intermediate.int_as_of_dates order by 1").as_of_date
    assert [str(d)[:10] for d in built] == ["2024-05-31", "2025-02-28", AS_OF_DATE]
    dbt("run", toy_copy, {"as_of_date": AS_OF_DATE}, "--select", "customer_indicators")
    pd.testing.assert_frame_equal(_table(toy_copy), before, check_exact=False, rtol=1e-12, atol=1e-12)


def test_a_daily_run_date_is_kept_until_the_next_run(toy_copy, dbt):
    dbt("run", toy_copy, {"as_of_date": "2025-12-15"}, "--select", "int_as_of_dates", "customer_indicators",
        "scoring_panel")
    dates = set(query(toy_copy, "select distinct as_of_date from marts.customer_indicators").as_of_date.astype(str))
    assert "2025-12-15" in dates and AS_OF_DATE in dates
    assert set(query(toy_copy, "select distinct as_of_date from marts.scoring_panel").as_of_date.astype(str)) == {
        "2025-12-15"}
    dbt("run", toy_copy, {"as_of_date": "2025-12-16"}, "--select", "int_as_of_dates", "customer_indicators")
    dates = set(query(toy_copy, "select distinct as_of_date from marts.customer_indicators").as_of_date.astype(str))
    assert "2025-12-15" not in dates and "2025-12-16" in dates and AS_OF_DATE in dates


def _training_panel(path) -> pd.DataFrame:
    return _table(path, "training_panel")


def _full_rebuild_of_training_panel(path, dbt, variables: dict) -> pd.DataFrame:
    dbt("run", path, variables, "--select", "training_panel", "--full-refresh")
    return _training_panel(path)


def test_training_panel_follows_labels_that_mature_or_expire(toy_copy, dbt):
    before = _training_panel(toy_copy)
    labelled = sorted(before.as_of_date.astype(str).unique())
    assert labelled[-1] == "2025-09-30"

    # A backfill with an earlier data end: the dates whose horizon now runs past it leave the panel.
    early = {"as_of_date": AS_OF_DATE, "build_dates": "as_of_date", "data_end_date": "2025-10-31"}
    dbt("run", toy_copy, early)
    shrunk = _training_panel(toy_copy)
    assert sorted(shrunk.as_of_date.astype(str).unique()) == [d for d in labelled if d <= "2025-07-31"]
    pd.testing.assert_frame_equal(shrunk, before[before.as_of_date.astype(str) <= "2025-07-31"]
                                  .reset_index(drop=True), check_exact=False, rtol=1e-12, atol=1e-12)

    # The data end moves on again: the matured dates come back exactly as a full rebuild has them.
    dbt("run", toy_copy, {"as_of_date": AS_OF_DATE, "build_dates": "as_of_date"})
    pd.testing.assert_frame_equal(_training_panel(toy_copy), before, check_exact=False, rtol=1e-12, atol=1e-12)


def test_training_panel_takes_a_late_churn_event_and_a_new_horizon(toy_copy, dbt):
    before = _training_panel(toy_copy)
    stayed = before[(before.as_of_date.astype(str) == "2025-03-31") & ~before.churned_within_horizon.astype(bool)]
    customer = stayed.customer_id.iloc[0]
    execute(toy_copy, f"insert into raw.churn_events (customer_id, churn_date, churn_type) "
                      f"values ('{customer}', date '2025-04-20', 'account_closure')")
    # A date whose labels did not move is left alone (not rebuilt): a sentinel value survives.
    execute(toy_copy, "update marts.training_panel set tenure_days = -999 where as_of_date = date '2024-06-30'")
    run = {"as_of_date": AS_OF_DATE, "build_dates": "as_of_date"}
    dbt("run", toy_copy, run)
    kept = query(toy_copy, "select distinct tenure_days from marts.training_panel where as_of_date = date '2024-06-30'")
    assert kept.tenure_days.tolist() == [-999]
    # A date the panel lacks is added back.
    execute(toy_copy, "delete from marts.training_panel where as_of_date = date '2024-06-30'")
    dbt("run", toy_copy, run)
    incremental = _training_panel(toy_copy)
    assert -999 not in set(incremental.tenure_days)
    row = incremental[(incremental.customer_id == customer) & (incremental.as_of_date.astype(str) == "2025-03-31")]
    assert bool(row.churned_within_horizon.iloc[0]) and str(row.churn_date.iloc[0])[:10] == "2025-04-20"
    pd.testing.assert_frame_equal(incremental, _full_rebuild_of_training_panel(toy_copy, dbt, run),
                                  check_exact=False, rtol=1e-12, atol=1e-12)

    shorter = {**run, "label_horizon_days": 30}
    dbt("run", toy_copy, shorter)
    incremental = _training_panel(toy_copy)
    assert incremental.as_of_date.astype(str).max() == "2025-11-30"
    pd.testing.assert_frame_equal(incremental, _full_rebuild_of_training_panel(toy_copy, dbt, shorter),
                                  check_exact=False, rtol=1e-12, atol=1e-12)
