"""Point-in-time correctness (issue: no indicator peeks past its as_of_date).

Build the panel, then change and add raw rows stamped after an as_of_date in every table an
indicator reads (new transactions, logins, complaints and surveys; complaints resolved later;
products closed or opened later; later snapshots, market rows, RM changes and churn), rebuild
every date, and compare the whole rows of that as_of_date: indicators and segments must be
identical, while a later date must have moved (so the test can fail)."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.dbt.conftest import AS_OF_DATE, PIT_DATE, execute, query

pytestmark = pytest.mark.integration

LATER = "date '2025-07-01'"  # the day after PIT_DATE

MUTATIONS = [
    # transactions after the date: a burst for every customer, on the very next day
    f"""insert into raw.transactions
        select 'LATE' || transaction_id, customer_id, product_id,
               cast({LATER} as timestamp) + interval 1 hour * (row_number() over () % 20),
               amount * 7, 'out', 'transfer_out_other_bank', 'Rival', 'mobile'
        from raw.transactions""",
    # logins after the date
    f"""insert into raw.digital_activity
        select customer_id, {LATER} + 1, 9, 9 from raw.customers""",
    # complaints and surveys after the date; complaints open at the date resolved the next day
    f"""insert into raw.service_interactions
        select 'LATE' || customer_id, customer_id, cast({LATER} as timestamp), 'complaint', 'fees', 5,
               null, null from raw.customers""",
    f"""insert into raw.service_interactions
        select 'LATES' || customer_id, customer_id, cast({LATER} as timestamp) + interval 2 hour, 'survey',
               null, null, null, 1 from raw.customers""",
    f"""update raw.service_interactions set resolved_ts = cast({LATER} as timestamp)
        where kind = 'complaint' and interaction_ts < {LATER}
          and (resolved_ts is null or resolved_ts >= {LATER})""",
    # products: every product open at the date closes the next day; new products open then
    f"""update raw.products set close_date = {LATER}
        where open_date < {LATER} and (close_date is null or close_date >= {LATER})""",
    f"""insert into raw.products
        select 'LATE' || customer_id, customer_id, 'time_deposit', {LATER}, null, {LATER} + 10
        from raw.customers""",
    # balances and market after the date
    f"update raw.balance_snapshots set aum_month_avg = aum_month_avg * 100 + 1 where month_end >= {LATER}",
    f"update raw.market_environment set competitor_rate_spread = 0.09, benchmark_deposit_rate = 0.2 "
    f"where month_end >= {LATER}",
    # a new relationship manager and churn, after the date
    f"""insert into raw.rm_assignments
        select customer_id, 'RM_LATE', branch_id, {LATER} from raw.customers
        where customer_id not in (select customer_id from raw.rm_assignments where assigned_date = {LATER})""",
    f"""insert into raw.churn_events
        select customer_id, {LATER} + 3, 'account_closure' from raw.customers
        where customer_id like '%0' and customer_id not in (select customer_id from raw.churn_events)""",
]


def _rows(path, table: str, as_of: str) -> pd.DataFrame:
    frame = query(path, f"select * from marts.{table} where as_of_date = ? order by customer_id", [as_of])
    return frame.reset_index(drop=True)


def test_rows_after_the_as_of_date_change_nothing_at_that_date(toy_copy, dbt):
    before = {t: _rows(toy_copy, t, PIT_DATE) for t in ("customer_indicators", "customer_segments")}
    later_before = _rows(toy_copy, "customer_indicators", AS_OF_DATE)
    assert len(before["customer_indicators"]) > 100

    execute(toy_copy, *MUTATIONS)
    dbt("run", toy_copy, {"as_of_date": AS_OF_DATE, "build_dates": "panel"})

    for table, frame in before.items():
        after = _rows(toy_copy, table, PIT_DATE)
        # Integers, text and dates exactly; doubles to 1e-12 relative (a parallel stddev may differ
        # in the last bit between runs; a leak moves values by far more).
        pd.testing.assert_frame_equal(after, frame, check_exact=False, rtol=1e-12, atol=1e-12,
                                      obj=f"{table} at {PIT_DATE}")

    # The mutations are visible after PIT_DATE: the test would catch a leak.
    later_after = _rows(toy_copy, "customer_indicators", AS_OF_DATE)
    assert len(later_after) < len(later_before)  # the late churners left the population
    assert (later_after.complaint_count_30d.fillna(0) >= 0).all()
    changed = query(toy_copy, """
        select count(*) as n from marts.customer_indicators
        where as_of_date = date '2025-07-31' and complaint_count_30d >= 1 and products_held = 1
    """).n[0]
    assert changed > 0
