"""Injected faults are exactly where _faults_manifest.json says, and nowhere else."""

from __future__ import annotations

import csv
import hashlib
import io
import json

import pandas as pd
import pyarrow.parquet as pq
import pytest

from include.bank_simulator import FAULTS_MANIFEST, generate
from include.bank_simulator.faults import EXPECTED
from include.contract import load_contract

CONTRACT = load_contract()


@pytest.fixture(scope="module", params=["csv", "parquet"])
def faulty(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"faults_{request.param}")
    manifest = generate(root / "source", root / "truth", size="tiny", seed=42, fmt=request.param, faults=True)
    faults = json.loads((root / "source" / FAULTS_MANIFEST).read_text())
    return {"fmt": request.param, "dir": root / "source", "manifest": manifest, "faults": faults}


def _csv_rows(path):
    """Rows of a CSV file as lists of raw bytes fields (bad encodings survive), by line number."""
    lines = path.read_bytes().split(b"\n")
    header = lines[0].decode().split(",")
    return [h.strip('"') for h in header], lines


def _field(line: bytes, index: int) -> bytes:
    text = line.decode("latin-1")  # byte-transparent, so mis-encoded fields can be compared
    return next(csv.reader(io.StringIO(text)))[index].encode("latin-1")


def _same(written, value) -> bool:
    """The written value is the injected one (typed columns may render it in their own format)."""
    if str(written) == str(value) or written == value:
        return True
    try:
        return pd.Timestamp(str(written)) == pd.Timestamp(str(value))
    except ValueError:
        pass
    try:
        return float(str(written)) == float(str(value))
    except ValueError:
        return False


def test_every_fault_class_is_injected_and_listed(faulty):
    classes = {f["fault"] for f in faulty["faults"]["faults"]}
    assert classes == set(EXPECTED)
    assert faulty["manifest"]["faults"]["injected"] is True
    assert set(faulty["manifest"]["faults"]["classes"]) == classes
    for f in faulty["faults"]["faults"]:
        assert (faulty["dir"] / f["file"]).exists()
        assert f["expected_handling"]
        assert f["count"] == (len(f["rows"]) if f["rows"] else 1)
        if f["rows"] and faulty["fmt"] == "csv":
            assert f["csv_lines"] == [r + 2 for r in f["rows"]]


def test_row_faults_are_at_the_listed_rows(faulty):
    for f in faulty["faults"]["faults"]:
        if not f["rows"] or f["fault"] == "duplicate_rows":
            continue
        path = faulty["dir"] / f["file"]
        pk = CONTRACT.tables[f["table"]].primary_key
        if faulty["fmt"] == "csv":
            header, lines = _csv_rows(path)
            col = header.index(f["column"])
            for line_no, value, key in zip(f["csv_lines"], f["values"], f["keys"], strict=True):
                field = _field(lines[line_no - 1], col)
                if f["fault"] == "null_required":
                    assert field == b"", (f, field)
                elif f["fault"] == "bad_encoding":
                    assert field == bytes.fromhex(value)
                    with pytest.raises(UnicodeDecodeError):
                        field.decode("utf-8")
                else:
                    assert _same(field.decode("utf-8"), value), (f["table"], f["fault"], field)
                for k in pk:
                    if k != f["column"]:
                        assert _field(lines[line_no - 1], header.index(k)).decode() == key[k]
        else:
            table = pq.read_table(path)
            got = table.column(f["column"]).to_pylist()
            for row, value, key in zip(f["rows"], f["values"], f["keys"], strict=True):
                if f["fault"] == "null_required":
                    assert got[row] is None
                elif f["fault"] == "bad_encoding":
                    assert got[row] == bytes.fromhex(value)
                else:
                    assert _same(got[row], value), (f, got[row])
                for k in pk:
                    if k != f["column"]:
                        assert str(table.column(k)[row].as_py()) == str(key[k])


def test_duplicates_repeat_the_listed_rows(faulty):
    dups = [f for f in faulty["faults"]["faults"] if f["fault"] == "duplicate_rows"]
    assert {f["table"] for f in dups} == {"customers", "transactions", "balance_snapshots"}
    for f in dups:
        path = faulty["dir"] / f["file"]
        if faulty["fmt"] == "csv":
            _, lines = _csv_rows(path)
            for row, src in zip(f["rows"], f["duplicate_of_rows"], strict=True):
                assert lines[row + 1] == lines[src + 1]
        else:
            rows = pq.read_table(path).to_pylist()
            for row, src in zip(f["rows"], f["duplicate_of_rows"], strict=True):
                assert rows[row] == rows[src]


def test_schema_drift_faults(faulty):
    by_class = {f["fault"]: f for f in faulty["faults"]["faults"]}

    def columns(rel):
        path = faulty["dir"] / rel
        if faulty["fmt"] == "csv":
            return _csv_rows(path)[0]
        return pq.read_schema(path).names

    dropped = by_class["dropped_column"]
    assert dropped["column"] not in columns(dropped["file"])
    renamed = by_class["renamed_column"]
    cols = columns(renamed["file"])
    assert renamed["column"] not in cols and renamed["renamed_to"] in cols
    extra = by_class["extra_column"]
    assert extra["column"] in columns(extra["file"])
    assert extra["column"] not in CONTRACT.tables[extra["table"]].column_names


def test_rows_in_file_add_up(faulty, bank):
    """Faulty files hold the clean run's rows plus the listed duplicates: nothing lost or invented."""
    clean = bank["manifest"]["counts"]
    for table, n in faulty["manifest"]["counts"].items():
        dups = sum(f["count"] for f in faulty["faults"]["faults"]
                   if f["table"] == table and f["fault"] == "duplicate_rows")
        assert n == clean[table] + dups, table
    for f in faulty["faults"]["faults"]:
        if f["rows"]:
            path = faulty["dir"] / f["file"]
            n_rows = (len(path.read_bytes().rstrip(b"\n").split(b"\n")) - 1 if faulty["fmt"] == "csv"
                      else pq.read_metadata(path).num_rows)
            assert max(f["rows"]) < n_rows


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_files_without_faults_are_identical_to_a_clean_run(faulty, bank):
    if faulty["fmt"] != "parquet":
        pytest.skip("the session's clean bank is Parquet")
    faulted = {f["file"] for f in faulty["faults"]["faults"]}
    compared = 0
    for path in sorted(bank["source_dir"].rglob("*.parquet")):
        rel = str(path.relative_to(bank["source_dir"]))
        if rel in faulted:
            assert _digest(path) != _digest(faulty["dir"] / rel)
        else:
            assert _digest(path) == _digest(faulty["dir"] / rel), rel
            compared += 1
    assert compared > 50
