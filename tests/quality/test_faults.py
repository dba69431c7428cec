"""Every fault class the simulator injects is caught: by ingestion (quarantine with a reason, or
the schema-drift report) or by a data-quality gate expectation -- and the test says which.

The raw gate runs for the as_of_date of the partition the simulator put its faults in."""

from __future__ import annotations

import json
from datetime import date

import duckdb
import pytest

from include.quality import run_gate
from include.quality.gate import unexpected_rows
from include.quality.suites import RunParameters, batch_query, load_suite, month_end, suite_path
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.integration

EXPECTATIONS = PROJECT_ROOT / "expectations"
DRIFT_FAULTS = {"dropped_column", "renamed_column", "extra_column"}


@pytest.fixture(scope="module")
def faulty_bank(tmp_path_factory):
    from include.bank_simulator import generate
    from include.ingestion import ingest_files

    root = tmp_path_factory.mktemp("faulty_bank")
    generate(root / "source", root / "truth", size="tiny", seed=42, faults=True)
    manifest = json.loads((root / "source" / "_faults_manifest.json").read_text())
    warehouse = root / "warehouse.duckdb"
    reports = {r.table_name: r for r in ingest_files(root / "source", warehouse)}
    months = sorted({f["file"].split("month=")[1][:7] for f in manifest["faults"] if "month=" in f["file"]})
    as_of = month_end(date.fromisoformat(months[0] + "-01"))
    gate = run_gate("raw", warehouse_path=warehouse, as_of_date=as_of, run_id="faults", raise_on_critical=False,
                    expectations_dir=EXPECTATIONS, output_dir=root / "quality")
    con = duckdb.connect(str(warehouse), read_only=True)
    quarantine = con.execute("select table_name, reason, payload from raw.quarantine").fetchall()
    con.close()
    return {"manifest": manifest, "reports": reports, "gate": gate, "quarantine": quarantine,
            "warehouse": warehouse}


def _caught_by_quarantine(record, quarantine) -> bool:
    rows = [(reason, json.loads(payload)) for table, reason, payload in quarantine if table == record["table"]]
    for key in record["keys"]:
        hit = [reason for reason, payload in rows
               if all(str(payload.get(k)) == str(v) for k, v in key.items())
               and (record["column"] is None or record["column"] in reason or "duplicate" in reason)]
        if not hit:
            return False
    return bool(record["keys"])


def _caught_by_drift(record, reports) -> bool:
    drift = reports[record["table"]].drift
    column = record["column"]
    if record["fault"] == "dropped_column":
        return column in drift.missing
    if record["fault"] == "renamed_column":
        return drift.renamed.get(column) == record.get("renamed_to")
    if record["fault"] == "extra_column":
        return column in drift.extra
    return False


def _caught_by_gate(record, bank) -> list[str]:
    """Failed expectations of the record's table whose unexpected rows contain the injected rows
    (all of them: custom-SQL checks are re-run without the sample limit)."""
    gate = bank["gate"]
    # Short values (a severity of 9) would match anything; those faults are matched by their keys.
    values = {str(v) for v in record["values"] if v is not None and len(str(v)) >= 4}
    keys = {str(v) for key in record["keys"] for v in key.values()}
    suite = load_suite(suite_path(EXPECTATIONS, f"raw.{record['table']}"), RunParameters(gate.as_of_date))
    batch_sql = batch_query(f"raw.{record['table']}", suite["meta"]["batch"], RunParameters(gate.as_of_date))
    batch_sql = batch_sql or f"select * from raw.{record['table']}"
    caught = []
    con = duckdb.connect(str(bank["warehouse"]), read_only=True)
    try:
        for o in gate.failures:
            if o.table_name != f"raw.{record['table']}":
                continue
            rows = o.unexpected_sample
            if o.expectation_type == "unexpected_rows_expectation":
                [exp] = [e for e in suite["expectations"] if e["meta"]["name"] == o.expectation]
                rows = unexpected_rows(con, exp["kwargs"]["unexpected_rows_query"], batch_sql)
            text = json.dumps(rows, default=str)
            if any(v in text for v in values) or (keys and all(k in text for k in keys)):
                caught.append(o.expectation)
    finally:
        con.close()
    return caught


def test_every_injected_fault_is_caught(faulty_bank):
    report = []
    missed = []
    for record in faulty_bank["manifest"]["faults"]:
        by = []
        if record["fault"] in DRIFT_FAULTS:
            if _caught_by_drift(record, faulty_bank["reports"]):
                by.append("ingestion schema-drift report")
        elif _caught_by_quarantine(record, faulty_bank["quarantine"]):
            by.append("ingestion quarantine")
        by += [f"gate: {name}" for name in _caught_by_gate(record, faulty_bank)]
        report.append((record["table"], record["fault"], record["column"], by))
        if not by:
            missed.append((record["table"], record["fault"], record["column"]))
    print("\n".join(f"{t}.{c or '*'} {f}: {', '.join(by)}" for t, f, c, by in report))
    print("gate failures:", [(o.table_name, o.expectation, o.unexpected_count) for o in faulty_bank["gate"].failures])
    assert missed == []
    classes = {r["fault"] for r in faulty_bank["manifest"]["faults"]}
    assert {f for _, f, _, by in report if by} == classes


def test_faults_the_contract_leaves_to_the_gate_fail_an_expectation(faulty_bank):
    """Orphan keys load (the contract says: report them): the gate must be the one that catches
    them, and its unexpected rows contain the injected keys."""
    records = [r for r in faulty_bank["manifest"]["faults"] if r["fault"] == "orphan_key"]
    assert records
    for record in records:
        assert _caught_by_gate(record, faulty_bank), record


def test_gate_results_name_the_offending_values(faulty_bank):
    [orphans] = [o for o in faulty_bank["gate"].failures
                 if o.table_name == "raw.transactions" and o.expectation == "customer_id_in_customers"]
    assert orphans.severity == "warning" and orphans.unexpected_count and orphans.unexpected_count >= 5
