"""Loads from the paginated HTTP JSON API: a real server on 127.0.0.1 (ephemeral port) serving a
source dir through the documented shape."""

from __future__ import annotations

import duckdb
import pytest

from include.ingestion import ingest_api, ingest_files
from include.ingestion.api_server import serve
from tests.ingestion.helpers import assert_identity, make_source, query, scalar

pytestmark = pytest.mark.integration


@pytest.fixture
def served(tmp_path):
    source = make_source(tmp_path / "source", months=["2024-01-31", "2024-02-29"])
    server, url = serve(source)
    yield source, url
    server.shutdown()


def test_api_load_pages_through_every_table(tmp_path, served):
    source, url = served
    wa, wf = tmp_path / "api.duckdb", tmp_path / "files.duckdb"
    reports = {r.table_name: r for r in ingest_api(url, wa, page_size=37)}
    ingest_files(source, wf)
    for name in ("customers", "products", "transactions", "balance_snapshots", "market_environment", "churn_events"):
        n = scalar(wf, f"SELECT count(*) FROM raw.{name}")
        assert reports[name].rows_read == reports[name].rows_loaded == n > 0
        assert query(wa, f"SELECT * FROM raw.{name} ORDER BY ALL") == query(wf, f"SELECT * FROM raw.{name} ORDER BY ALL")
    # A table the API does not offer (404) is reported, not an error.
    assert reports["service_interactions"].status == "no_source"
    assert "404" in reports["service_interactions"].message
    assert_identity(wa)


def test_api_quarantine_names_page_and_rerun_adds_nothing(tmp_path, served):
    source, url = served
    f = source / "transactions" / "month=2024-02" / "part-0.parquet"
    con = duckdb.connect()
    con.execute(f"""COPY (SELECT * REPLACE (CASE WHEN transaction_id = 'T202402-000010' THEN 'sideways' ELSE direction END AS direction)
        FROM read_parquet('{f}', hive_partitioning = false)) TO '{f}.t' (FORMAT parquet)""")
    (f.parent / "part-0.parquet.t").replace(f)
    server, url2 = serve(source)  # serve the changed data
    try:
        warehouse = tmp_path / "w.duckdb"
        first = ingest_api(url2, warehouse, tables=["transactions"], page_size=50)[0]
        # Pages are ordered by primary key: the row's page and position follow from its rank.
        rank = con.execute(f"""SELECT rn FROM (SELECT transaction_id, row_number() OVER (ORDER BY transaction_id) AS rn
            FROM read_parquet('{source}/transactions/*/*.parquet', hive_partitioning = false)) WHERE transaction_id = 'T202402-000010'""").fetchone()[0]
        page, item = (rank - 1) // 50 + 1, (rank - 1) % 50 + 1
        row = query(warehouse, "SELECT source, source_row, reason FROM raw.quarantine")
        assert len(row) == 1
        assert row[0][0] == f"{url2}/tables/transactions"
        assert row[0][1].startswith(f"page {page} ") and row[0][1].endswith(f" item {item}")
        assert row[0][2] == "direction: not in accepted values"
        assert first.rows_quarantined == 1 and first.rows_read == first.rows_loaded + 1

        again = ingest_api(url2, warehouse, tables=["transactions"], page_size=50)[0]
        # The watermark is sent as `since`: only the boundary is served again.
        assert again.rows_read < 5 and again.rows_loaded == 0 and again.rows_quarantined == 0
        assert scalar(warehouse, "SELECT count(*) FROM raw.quarantine") == 1
        assert_identity(warehouse)
    finally:
        server.shutdown()


def test_api_through_an_airflow_http_connection(tmp_path, served, monkeypatch):
    source, url = served
    # The deployment names an HTTP connection; Airflow resolves it (here from its environment variable).
    monkeypatch.setenv("AIRFLOW_CONN_CHURN_TEST_API", url)
    warehouse = tmp_path / "w.duckdb"
    report = ingest_api("churn_test_api", warehouse, tables=["customers"], page_size=15)[0]
    assert report.source == f"{url}/tables/customers"
    assert report.rows_loaded == scalar(warehouse, "SELECT count(*) FROM raw.customers") > 15
