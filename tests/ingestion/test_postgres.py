"""Loads from a real PostgreSQL server (127.0.0.1:5432, database ``test``): a schema filled from a
source dir by the fixture, read through psycopg COPY, dropped afterwards."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

from include.ingestion import LoadFailed, SchemaDriftError, ingest_files, ingest_postgres
from tests.ingestion.helpers import assert_identity, load_into_postgres, make_source, query, scalar

pytestmark = [pytest.mark.integration, pytest.mark.services]


def test_postgres_load_matches_the_file_load(tmp_path, postgres_url, pg_schema):
    source = make_source(tmp_path / "source")
    counts = load_into_postgres(postgres_url, pg_schema, source)
    wp, wf = tmp_path / "pg.duckdb", tmp_path / "files.duckdb"
    reports = {r.table_name: r for r in ingest_postgres(postgres_url, wp, schema=pg_schema, batch_rows=100)}
    ingest_files(source, wf)
    for name, n in counts.items():
        assert reports[name].status == "success"
        assert reports[name].rows_read == reports[name].rows_loaded == n
        assert scalar(wp, f"SELECT count(*) FROM raw.{name}") == n
        # Same content as the file route, value for value.
        assert query(wp, f"SELECT * FROM raw.{name} ORDER BY ALL") == query(wf, f"SELECT * FROM raw.{name} ORDER BY ALL")
    assert reports["service_interactions"].status == "no_source"
    assert "password" not in reports["customers"].source
    assert_identity(wp)


def test_postgres_quarantine_names_table_and_key_and_increment(tmp_path, postgres_url, pg_schema):
    source = make_source(tmp_path / "source", months=["2024-01-31", "2024-02-29"])
    load_into_postgres(postgres_url, pg_schema, source, as_text=True)
    tx = sql.Identifier(pg_schema, "transactions")
    with psycopg.connect(postgres_url, autocommit=True) as pg:
        pg.execute(sql.SQL("UPDATE {} SET amount = 'twelve' WHERE transaction_id = 'T202401-000007'").format(tx))
        pg.execute(sql.SQL("UPDATE {} SET channel = 'carrier pigeon' WHERE transaction_id = 'T202402-000003'").format(tx))
    warehouse = tmp_path / "w.duckdb"
    first = ingest_postgres(postgres_url, warehouse, schema=pg_schema, tables=["transactions"])[0]
    got = set(query(warehouse, "SELECT source, source_row, reason FROM raw.quarantine"))
    src = first.source
    assert src.endswith(f"#{pg_schema}.transactions")
    assert got == {(src, "transaction_id=T202401-000007", "amount: cannot cast to DECIMAL(18,2)"),
                   (src, "transaction_id=T202402-000003", "channel: not in accepted values")}
    assert first.rows_read == first.rows_loaded + 2

    # Rerun: nothing new; then a new month in the source: only it (and the boundary row) is read.
    again = ingest_postgres(postgres_url, warehouse, schema=pg_schema, tables=["transactions"])[0]
    assert again.rows_loaded == 0 and again.rows_quarantined == 0
    with psycopg.connect(postgres_url, autocommit=True) as pg:
        pg.execute(sql.SQL("""INSERT INTO {} SELECT replace(transaction_id, 'T202402', 'T202403'), customer_id, product_id,
            (transaction_ts::timestamp + interval '1 month')::text, amount, direction, transaction_type, counterparty_bank, channel
            FROM {} WHERE transaction_id LIKE 'T202402%' AND channel <> 'carrier pigeon'""").format(tx, tx))
        new = pg.execute(sql.SQL("SELECT count(*) FROM {} WHERE transaction_id LIKE 'T202403%'").format(tx)).fetchone()[0]
    third = ingest_postgres(postgres_url, warehouse, schema=pg_schema, tables=["transactions"])[0]
    assert third.rows_loaded == new
    assert third.rows_read - third.rows_loaded == third.rows_skipped_duplicate
    assert third.rows_read < new + 5  # only the increment crossed the wire
    assert scalar(warehouse, "SELECT count(*) FROM raw.transactions WHERE transaction_id LIKE 'T202403%'") == new
    assert_identity(warehouse)


def test_postgres_missing_required_column_fails_clearly(tmp_path, postgres_url, pg_schema):
    source = make_source(tmp_path / "source", months=["2024-01-31"])
    load_into_postgres(postgres_url, pg_schema, source)
    with psycopg.connect(postgres_url, autocommit=True) as pg:
        pg.execute(sql.SQL("ALTER TABLE {} RENAME COLUMN segment TO customer_segment").format(sql.Identifier(pg_schema, "customers")))
    warehouse = tmp_path / "w.duckdb"
    with pytest.raises(LoadFailed) as info:
        ingest_postgres(postgres_url, warehouse, schema=pg_schema, tables=["customers", "products"])
    err = info.value.errors[0]
    assert isinstance(err, SchemaDriftError) and err.column == "segment" and err.renamed_to == "customer_segment"
    assert f"{pg_schema}.customers" in str(err)
    assert scalar(warehouse, "SELECT count(*) FROM raw.products") > 0
    assert scalar(warehouse, "SELECT count(*) FROM raw.customers") == 0


def test_postgres_through_an_airflow_connection(tmp_path, postgres_url, pg_schema, monkeypatch):
    source = make_source(tmp_path / "source", months=["2024-01-31"])
    counts = load_into_postgres(postgres_url, pg_schema, source)
    # The deployment names a connection; Airflow resolves it (here from its environment variable).
    monkeypatch.setenv("AIRFLOW_CONN_CHURN_TEST_SOURCE", postgres_url)
    warehouse = tmp_path / "w.duckdb"
    reports = ingest_postgres("churn_test_source", warehouse, schema=pg_schema, tables=["customers"])
    assert reports[0].rows_loaded == counts["customers"]
