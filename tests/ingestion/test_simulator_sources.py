"""The synthetic bank (include.bank_simulator) through ingestion: every table, both formats, and
the same bank served from PostgreSQL."""

from __future__ import annotations

import pytest

from include.ingestion import ingest_files, ingest_postgres
from tests.ingestion.helpers import assert_identity, load_into_postgres, scalar

pytestmark = pytest.mark.integration


def test_tiny_bank_loads_every_row(tiny_bank, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    reports = {r.table_name: r for r in ingest_files(tiny_bank["source_dir"], warehouse)}
    counts = tiny_bank["manifest"]["counts"]
    for name, n in counts.items():
        assert reports[name].rows_read == n, name
        assert scalar(warehouse, f"SELECT count(*) FROM raw.{name}") == n, name
    # Clean data: nothing quarantined, every watermark at the last month.
    assert scalar(warehouse, "SELECT count(*) FROM raw.quarantine") == 0
    end = tiny_bank["manifest"]["end_month_end"]
    assert reports["balance_snapshots"].watermark_after == end
    assert reports["transactions"].watermark_after[:7] == end[:7]
    assert_identity(warehouse)


def test_csv_bank_matches_manifest(tmp_path):
    from include.bank_simulator import generate

    manifest = generate(tmp_path / "source", tmp_path / "truth", size="tiny", customers=150, months=3, fmt="csv", seed=7)
    warehouse = tmp_path / "w.duckdb"
    reports = {r.table_name: r for r in ingest_files(tmp_path / "source", warehouse)}
    for name, n in manifest["counts"].items():
        assert reports[name].rows_loaded == n, name
    assert scalar(warehouse, "SELECT count(*) FROM raw.quarantine") == 0
    assert_identity(warehouse)


@pytest.mark.services
def test_simulated_bank_from_postgres(tmp_path, postgres_url, pg_schema):
    from include.bank_simulator import generate

    manifest = generate(tmp_path / "source", tmp_path / "truth", size="tiny", customers=200, months=3, seed=11)
    counts = load_into_postgres(postgres_url, pg_schema, tmp_path / "source")
    warehouse = tmp_path / "w.duckdb"
    reports = {r.table_name: r for r in ingest_postgres(postgres_url, warehouse, schema=pg_schema, batch_rows=5000)}
    for name, n in manifest["counts"].items():
        if name in counts:
            assert reports[name].rows_loaded == n == counts[name], name
    assert_identity(warehouse)
