"""A bank export with no transactions, interactions or logins and one snapshot (the shape of the
Churn_Modelling mapping): every model builds, the indicators its tables support are filled and
the others are NULL ("not measured"), never 0."""

from __future__ import annotations

import pytest

from tests.dbt.conftest import PROJECT_DIR, query
from tests.dbt.dbt_raw_fixture import build_toy_warehouse

pytestmark = pytest.mark.integration

EMPTY = ("transactions", "service_interactions", "digital_activity", "market_environment", "rm_assignments")
NULL_WHEN_EMPTY = [
    "days_since_last_transaction", "transaction_count_90d", "transaction_amount_365d", "net_flow_90d",
    "other_bank_outflow_share_90d", "digital_channel_share_90d", "active_months_12m", "logins_30d",
    "days_since_last_login", "satisfaction_score_latest", "survey_count_365d", "complaint_count_90d",
    "complaints_unresolved", "competitor_rate_spread", "regional_competition_index", "rm_tenure_days",
    # optional customer columns the toy bank does not deliver
    "credit_score", "annual_income",
]
FILLED = ["age_years", "gender", "city", "tenure_days", "bank_segment", "products_held", "asset_products_held",
          "has_payroll_service", "has_credit_card", "aum_latest", "aum_avg_3m"]


def test_empty_event_tables_give_null_indicators_not_errors(tmp_path, dbt):
    warehouse = tmp_path / "warehouse.duckdb"
    build_toy_warehouse(warehouse, customers=120, skip=EMPTY)
    from duckdb import connect

    with connect(str(warehouse)) as con:  # one snapshot only, like a single export
        con.execute("delete from raw.balance_snapshots where month_end <> date '2025-12-31'")
    dbt("build", warehouse, {"as_of_date": "2025-12-31", "data_end_date": "2026-03-31"})

    ind = query(warehouse, "select * from marts.customer_indicators")
    assert len(ind) > 50 and set(ind.as_of_date.astype(str)) == {"2025-12-31"}
    for column in NULL_WHEN_EMPTY:
        assert ind[column].isna().all(), column
    for column in FILLED:
        assert ind[column].notna().all(), column
    assert ind.aum_change_12m.isna().all()  # one snapshot: no change measurable
    # labels exist because data_end_date says the outcome window was observed
    assert query(warehouse, "select count(*) as n from marts.training_panel").n[0] == len(ind)
    assert query(warehouse, "select count(*) as n from marts.customer_segments").n[0] == len(ind)


def test_churn_modelling_mapping_builds(churn_modelling_csv, tmp_path, dbt):
    from include.ingestion.mapping import ingest_mapped, mapping_as_of_date

    mapping = PROJECT_DIR.parent / "include" / "mappings" / "churn_modelling.yml"
    warehouse = tmp_path / "warehouse.duckdb"
    ingest_mapped(mapping, warehouse, source_path=churn_modelling_csv)
    as_of = mapping_as_of_date(mapping).isoformat()
    dbt("build", warehouse, {"as_of_date": as_of, "data_end_date": "2026-03-31"})

    ind = query(warehouse, "select * from marts.customer_indicators")
    assert len(ind) > 9000
    for column in ("transaction_count_90d", "complaint_count_90d", "satisfaction_score_latest",
                   "competitor_rate_spread"):
        assert ind[column].isna().all(), column
    for column in ("age_years", "gender", "city", "tenure_days", "credit_score", "annual_income", "products_held",
                   "asset_products_held", "has_credit_card", "aum_latest", "logins_30d"):
        assert ind[column].notna().all(), column
    # NumOfProducts survives as the asset products (a credit card is a product, not an asset one)
    assert set(ind.asset_products_held) == {1, 2, 3, 4}
    assert (ind.products_held == ind.asset_products_held + ind.has_credit_card).all()
    assert set(ind.city) == {"France", "Germany", "Spain"}
    labels = query(warehouse, "select churned_within_horizon as y, count(*) as n from marts.churn_labels group by 1")
    counts = dict(zip(labels.y, labels.n, strict=True))
    assert counts.get(True, 0) > 1000 and counts.get(False, 0) > 5000  # Exited is about 20%
