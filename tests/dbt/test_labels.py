"""Label rules: churn within the horizon after as_of_date, unlabeled (NULL, not negative) when
the horizon runs past the end of the data, and the configurable definitions."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from tests.dbt.conftest import AS_OF_DATE, query

pytestmark = pytest.mark.integration


def test_labels_follow_churn_events_within_the_horizon(toy_built, toy_raw):
    labels = query(toy_built, "select * from marts.churn_labels")
    events = toy_raw[1]["churn_events"].set_index("customer_id").churn_date
    data_end = dt.date.fromisoformat(AS_OF_DATE)
    assert set(labels.data_end_date.astype(str)) == {AS_OF_DATE}
    for row in labels.itertuples():
        as_of = pd.Timestamp(row.as_of_date).date()
        horizon_end = as_of + dt.timedelta(days=90)
        if horizon_end > data_end:
            assert pd.isna(row.churned_within_horizon), row
            continue
        churn = events.get(row.customer_id)
        expected = churn is not None and as_of < pd.Timestamp(churn).date() <= horizon_end
        assert bool(row.churned_within_horizon) == expected, row
    assert labels.churned_within_horizon.isna().sum() > 0
    assert labels.churned_within_horizon.fillna(False).astype(bool).sum() > 10


def test_horizon_past_the_data_is_unlabeled_not_negative(toy_built):
    by_date = query(toy_built, """
        select as_of_date,
               count(*) filter (where churned_within_horizon is null) as unlabeled,
               count(*) as n
        from marts.churn_labels group by as_of_date order by as_of_date
    """)
    last_three = by_date.tail(3)  # 2025-10-31 .. 2025-12-31: horizon ends after 2025-12-31
    assert (last_three.unlabeled == last_three.n).all()
    assert (by_date.head(-3).unlabeled == 0).all()
    assert str(query(toy_built, "select max(as_of_date) as d from marts.training_panel").d[0])[:10] == "2025-09-30"


def test_definitions_and_horizon_are_configurable(toy_copy, dbt):
    dbt("run", toy_copy, {"as_of_date": AS_OF_DATE, "label_horizon_days": 30,
                          "churn_definitions": ["account_closure"]},
        "--select", "churn_labels")
    labels = query(toy_copy, "select * from marts.churn_labels")
    assert set(labels.label_horizon_days) == {30}
    assert set(labels.churn_reason.dropna()) == {"account_closure"}
    # with a 30-day horizon only the last month is unlabeled
    unlabeled = labels[labels.churned_within_horizon.isna()].as_of_date.astype(str)
    assert set(unlabeled) == {AS_OF_DATE}

    dbt("run", toy_copy, {"as_of_date": AS_OF_DATE, "churn_definitions": ["assets_drained", "inactivity"],
                          "churn_drain_drop_pct": 0.9, "churn_drain_floor": 1000,
                          "churn_inactivity_days": 60},
        "--select", "churn_labels")
    reasons = set(query(toy_copy, "select distinct churn_reason from marts.churn_labels").churn_reason.dropna())
    assert reasons <= {"assets_drained", "inactivity"} and "assets_drained" in reasons


def test_a_bad_definition_is_a_clear_error(toy_copy, dbt):
    with pytest.raises(AssertionError, match="churn_definitions"):
        dbt("run", toy_copy, {"churn_definitions": ["closed_forever"]}, "--select", "churn_labels")


def test_customers_churned_before_the_date_are_not_in_the_panels(toy_built):
    leaked = query(toy_built, """
        select count(*) as n
        from marts.training_panel as p
        inner join raw.churn_events as c on p.customer_id = c.customer_id and c.churn_date <= p.as_of_date
    """).n[0]
    assert leaked == 0
