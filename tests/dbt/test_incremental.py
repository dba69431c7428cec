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
