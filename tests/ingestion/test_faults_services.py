"""The fault-injected bank served from PostgreSQL and from the HTTP API: every fault in the
manifest is quarantined (found by its primary key) or reported, and nothing is lost.

Neither a PostgreSQL text column nor a JSON document can carry bytes that are not UTF-8: there
the bad-encoding fault arrives decoded with replacement characters (U+FFFD), which the contract
quarantines."""

from __future__ import annotations

import json

import pytest

from include.contract import load_contract
from include.ingestion import ingest_api, ingest_postgres
from include.ingestion.api_server import serve
from tests.ingestion.helpers import assert_identity, load_into_postgres, query

pytestmark = pytest.mark.integration

REPORTED = {"orphan_key", "dropped_column", "renamed_column", "extra_column"}


@pytest.fixture(scope="module")
def faulty_source(tmp_path_factory):
    from include.bank_simulator import generate

    root = tmp_path_factory.mktemp("faulty_services")
    manifest = generate(root / "source", root / "truth", size="tiny", customers=300, months=4, faults=True, seed=5)
    faults = json.loads((root / "source" / "_faults_manifest.json").read_text())
    return {"source": root / "source", "manifest": manifest, "faults": faults, "root": root}


def _check(faulty, warehouse, reports, *, key_label: bool) -> None:
    contract = load_contract()
    quarantine: dict[str, list[tuple]] = {}
    for table, row, reason, payload in query(warehouse, "SELECT table_name, source_row, reason, payload FROM raw.quarantine"):
        quarantine.setdefault(table, []).append((row, reason, json.loads(payload)))
    found = 0
    for fault in faulty["faults"]["faults"]:
        table, kind, column = fault["table"], fault["fault"], fault["column"]
        report = reports[table]
        if kind == "orphan_key":
            assert any(k.startswith(f"{column} -> ") and n >= fault["count"] for k, n in report.orphans.items())
            continue
        if kind == "dropped_column":
            assert column in report.drift.missing
            continue
        if kind == "renamed_column":
            assert report.drift.renamed[column] == fault["renamed_to"]
            continue
        if kind == "extra_column":
            assert column in report.drift.extra
            continue
        pk = contract.tables[table].primary_key
        for key in fault["keys"]:
            hits = [(row, reason) for row, reason, payload in quarantine.get(table, [])
                    if all(str(payload.get(k)) == str(key[k]) for k in pk)]
            assert hits, f"{kind} {key} in {table} was not quarantined"
            row, reason = hits[0] if kind != "duplicate_rows" else next(h for h in hits if h[1].startswith("duplicate"))
            if kind == "bad_encoding":
                assert f"{column}: contains U+FFFD" in reason
            elif kind != "duplicate_rows":
                assert f"{column}: " in reason, (fault, reason)
            if key_label:
                assert row == ", ".join(f"{k}={key[k]}" for k in pk)
            found += 1
    rows_with_faults = sum(f["count"] for f in faulty["faults"]["faults"] if f["fault"] not in REPORTED)
    assert found == rows_with_faults
    assert sum(len(v) for v in quarantine.values()) == rows_with_faults
    for name, rows_in_files in faulty["manifest"]["counts"].items():
        r = reports[name]
        if rows_in_files:
            assert r.rows_read == rows_in_files == r.rows_loaded + r.rows_quarantined, name
    assert_identity(warehouse)


@pytest.mark.services
def test_faults_through_postgres(faulty_source, postgres_url, pg_schema, tmp_path):
    load_into_postgres(postgres_url, pg_schema, faulty_source["source"], as_text=True)
    warehouse = tmp_path / "w.duckdb"
    reports = {r.table_name: r for r in ingest_postgres(postgres_url, warehouse, schema=pg_schema)}
    _check(faulty_source, warehouse, reports, key_label=True)


def test_faults_through_the_api(faulty_source, tmp_path):
    server, url = serve(faulty_source["source"])
    try:
        warehouse = tmp_path / "w.duckdb"
        reports = {r.table_name: r for r in ingest_api(url, warehouse, page_size=2000)}
    finally:
        server.shutdown()
    _check(faulty_source, warehouse, reports, key_label=False)
