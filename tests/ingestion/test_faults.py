"""Fault-injected data from the simulator: every fault in ``_faults_manifest.json`` is quarantined
(at its file and row/line, with a reason naming the column) or reported (orphan keys, schema
drift), and no row is lost."""

from __future__ import annotations

import json

import pytest

from include.ingestion import ingest_files
from tests.ingestion.helpers import assert_identity, query

pytestmark = pytest.mark.integration

REPORTED = {"orphan_key", "dropped_column", "renamed_column", "extra_column"}


@pytest.fixture(scope="module", params=["parquet", "csv"])
def faulty_bank(request, tmp_path_factory):
    from include.bank_simulator import generate

    root = tmp_path_factory.mktemp(f"faulty_{request.param}")
    manifest = generate(root / "source", root / "truth", size="tiny", customers=300, months=4,
                        fmt=request.param, faults=True, seed=5)
    faults = json.loads((root / "source" / "_faults_manifest.json").read_text())
    warehouse = root / "w.duckdb"
    reports = {r.table_name: r for r in ingest_files(root / "source", warehouse)}
    return {"fmt": request.param, "source": root / "source", "manifest": manifest, "faults": faults,
            "warehouse": warehouse, "reports": reports}


def test_every_row_fault_is_quarantined_at_its_place(faulty_bank):
    source, fmt, warehouse = faulty_bank["source"], faulty_bank["fmt"], faulty_bank["warehouse"]
    quarantine = {}
    for table, src, row, reason in query(warehouse, "SELECT table_name, source, source_row, reason FROM raw.quarantine"):
        quarantine[(table, src, row)] = reason
    checked = 0
    for fault in faulty_bank["faults"]["faults"]:
        if fault["fault"] in REPORTED:
            continue
        path = str(source / fault["file"])
        places = [f"line {n}" for n in fault["csv_lines"]] if fmt == "csv" else [f"row {r + 1}" for r in fault["rows"]]
        assert len(places) == fault["count"] > 0
        for place in places:
            reason = quarantine.get((fault["table"], path, place))
            assert reason is not None, f"{fault['fault']} in {fault['file']} {place} was not quarantined"
            if fault["fault"] == "duplicate_rows":
                assert reason.startswith("duplicate primary key in batch")
            elif fault["fault"] == "bad_encoding" and fmt == "csv":
                assert reason.startswith("unreadable CSV record: INVALID ENCODING")
            else:
                assert f"{fault['column']}: " in reason, (fault, reason)
            checked += 1
    assert checked == faulty_bank["faults"]["rows_with_row_faults"] - sum(
        f["count"] for f in faulty_bank["faults"]["faults"] if f["fault"] == "orphan_key")
    # Nothing else was quarantined: the clean rows all loaded.
    assert len(quarantine) == checked


def test_orphans_and_schema_drift_are_reported(faulty_bank):
    reports, warehouse = faulty_bank["reports"], faulty_bank["warehouse"]
    for fault in faulty_bank["faults"]["faults"]:
        report = reports[fault["table"]]
        kind, column = fault["fault"], fault["column"]
        if kind == "orphan_key":
            fk = next(k for k in report.orphans if k.startswith(f"{column} -> "))
            assert report.orphans[fk] >= fault["count"]
            for key in fault["keys"]:
                cond = " AND ".join(f"{k} = ?" for k in key)
                assert query(warehouse, f"SELECT count(*) FROM raw.{fault['table']} WHERE {cond}", list(key.values()))[0][0] == 1
        elif kind == "dropped_column":
            assert column in report.drift.missing and f"missing column '{column}'" in report.message
        elif kind == "renamed_column":
            assert report.drift.renamed[column] == fault["renamed_to"]
            assert f"missing column '{column}' (renamed to '{fault['renamed_to']}'?)" in report.message
        elif kind == "extra_column":
            assert column in report.drift.extra and f"extra column '{column}'" in report.message


def test_nothing_is_lost(faulty_bank):
    warehouse = faulty_bank["warehouse"]
    for name, rows_in_files in faulty_bank["manifest"]["counts"].items():
        report = faulty_bank["reports"][name]
        assert report.rows_read == rows_in_files, name
        assert report.rows_read == report.rows_loaded + report.rows_quarantined, name
        assert query(warehouse, f"SELECT count(*) FROM raw.{name}")[0][0] == report.rows_loaded
    assert_identity(warehouse)
