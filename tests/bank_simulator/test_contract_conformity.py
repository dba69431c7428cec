"""Every simulator table matches the raw contract: columns, types, keys, required values, domains."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from include.bank_simulator import SIZES, generate
from include.bank_simulator.arrow_utils import arrow_type
from include.contract import load_contract
from tests.bank_simulator.conftest import read_parquet_table, table_files

CONTRACT = load_contract()
TABLES = list(CONTRACT.tables)
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_every_contract_table_is_written_with_manifest(bank):
    manifest = bank["manifest"]
    assert set(manifest["tables"]) == set(TABLES)
    assert manifest["customers"] == SIZES["tiny"][0] and manifest["months"] == SIZES["tiny"][1]
    assert manifest["start_month_end"] == "2024-01-31" and manifest["end_month_end"] == "2025-12-31"
    for name in TABLES:
        for f in table_files(bank["source_dir"], name):
            assert f.exists(), f"{name}: missing {f}"
        assert manifest["counts"][name] == read_parquet_table(bank["source_dir"], name).num_rows
    for name in ("transactions", "balance_snapshots", "digital_activity"):
        months = sorted(p.name for p in (bank["source_dir"] / name).iterdir())
        assert months == [f"month={d[:7]}" for d in manifest["month_ends"]]


@pytest.mark.parametrize("name", TABLES)
def test_columns_and_types_follow_the_contract(bank, name):
    table = read_parquet_table(bank["source_dir"], name)
    spec = CONTRACT.tables[name]
    assert table.column_names == spec.core_column_names
    for col in (c for c in spec.columns if not c.source_optional):
        assert table.schema.field(col.name).type == arrow_type(col.type), f"{name}.{col.name}"


@pytest.mark.parametrize("name", [t for t in TABLES if t != "retention_actions"])
def test_keys_required_values_and_domains(bank, name):
    con = bank["con"]
    spec = CONTRACT.tables[name]
    n = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
    assert n > 0, f"{name} is empty"
    pk = ", ".join(spec.primary_key)
    distinct = con.execute(f"SELECT count(*) FROM (SELECT DISTINCT {pk} FROM {name})").fetchone()[0]
    assert distinct == n, f"{name}: primary key ({pk}) not unique"
    for col in (c for c in spec.columns if not c.source_optional):
        if col.required:
            nulls = con.execute(f"SELECT count(*) FROM {name} WHERE {col.name} IS NULL").fetchone()[0]
            assert nulls == 0, f"{name}.{col.name}: {nulls} NULLs in a required column"
        if col.accepted_values is not None:
            values = {r[0] for r in con.execute(f"SELECT DISTINCT {col.name} FROM {name} WHERE {col.name} IS NOT NULL").fetchall()}
            assert values <= set(col.accepted_values), f"{name}.{col.name}: {values - set(col.accepted_values)}"
        for bound, op in ((col.min, "<"), (col.max, ">")):
            if bound is None:
                continue
            literal = f"'{bound}'" if isinstance(bound, str | dt.date) else str(bound)
            bad = con.execute(f"SELECT count(*) FROM {name} WHERE {col.name} {op} {literal}").fetchone()[0]
            assert bad == 0, f"{name}.{col.name}: {bad} values {op} {bound}"
    for column, target in spec.foreign_keys.items():
        parent, parent_col = target.split(".")
        orphans = con.execute(
            f"SELECT count(*) FROM {name} c ANTI JOIN {parent} p ON c.{column} = p.{parent_col}").fetchone()[0]
        assert orphans == 0, f"{name}.{column}: {orphans} orphans against {target}"


def test_ids_are_stable_and_well_formed(bank):
    con = bank["con"]
    ids = [r[0] for r in con.execute("SELECT customer_id FROM customers ORDER BY customer_id").fetchall()]
    assert ids == [f"C{i:07d}" for i in range(1, len(ids) + 1)]
    bad = con.execute(r"SELECT count(*) FROM transactions WHERE NOT regexp_full_match(transaction_id, 'T\d{11}')").fetchone()[0]
    assert bad == 0


def test_no_timestamps_after_the_data_end(bank):
    con = bank["con"]
    end = bank["manifest"]["end_month_end"]
    for table, col in (("transactions", "transaction_ts"), ("service_interactions", "interaction_ts"),
                       ("service_interactions", "resolved_ts"), ("digital_activity", "activity_date"),
                       ("products", "open_date"), ("products", "close_date"), ("churn_events", "churn_date")):
        late = con.execute(f"SELECT count(*) FROM {table} WHERE {col} >= DATE '{end}' + 1").fetchone()[0]
        assert late == 0, f"{table}.{col} has {late} values after {end}"


def test_retention_actions_is_empty_but_has_the_contract_columns(bank):
    table = read_parquet_table(bank["source_dir"], "retention_actions")
    assert table.num_rows == 0
    assert table.column_names == CONTRACT.tables["retention_actions"].core_column_names


def test_csv_output_casts_to_the_contract_types(tmp_path):
    """Every CSV value casts (TRY_CAST) to its contract type: nothing would be quarantined."""
    src = tmp_path / "csv"
    manifest = generate(src, tmp_path / "truth", customers=300, months=4, fmt="csv", seed=3)
    con = duckdb.connect()
    for name, spec in CONTRACT.tables.items():
        files = [str(f) for f in table_files(src, name, "csv")]
        header = files[0]
        rel = f"read_csv({files!r}, all_varchar=true, header=true, hive_partitioning=false)"
        got = [r[0] for r in con.execute(f"SELECT column_name FROM (DESCRIBE SELECT * FROM {rel})").fetchall()]
        assert got == spec.core_column_names, header
        assert con.execute(f"SELECT count(*) FROM {rel}").fetchone()[0] == manifest["counts"][name]
        for col in (c for c in spec.columns if not c.source_optional):
            failed = con.execute(
                f"SELECT count(*) FROM {rel} WHERE {col.name} IS NOT NULL AND {col.name} <> '' "
                f"AND TRY_CAST({col.name} AS {col.type}) IS NULL").fetchone()[0]
            assert failed == 0, f"{name}.{col.name}: {failed} values do not cast to {col.type}"


def test_data_contract_doc_lists_every_table_and_column():
    doc = (PROJECT_ROOT / "docs" / "data_contract.md").read_text(encoding="utf-8")
    for name, spec in CONTRACT.tables.items():
        assert re.search(rf"^#+ .*`?{name}`?", doc, flags=re.M), f"docs/data_contract.md has no section for {name}"
        for col in spec.columns:
            assert f"`{col.name}`" in doc, f"docs/data_contract.md does not document {name}.{col.name}"


def test_arrow_type_mapping_rejects_unknown_types():
    assert arrow_type("DECIMAL(18,2)") == pa.decimal128(18, 2)
    with pytest.raises(ValueError, match="no Arrow mapping"):
        arrow_type("GEOMETRY")


def test_data_contract_doc_is_in_sync_with_the_yaml():
    from include.bank_simulator.contract_doc import DOC_PATH, render

    assert DOC_PATH.read_text(encoding="utf-8") == render(load_contract()), (
        "docs/data_contract.md is out of date: run python -m include.bank_simulator.contract_doc")


def test_contract_yaml_has_no_stray_keys():
    """An unquoted comma in a YAML flow mapping silently turns the rest of a description into a key."""
    import yaml

    from include.contract import CONTRACT_PATH

    known = {"name", "type", "required", "pii", "accepted_values", "min", "max", "description", "source_optional"}
    document = yaml.safe_load(CONTRACT_PATH.read_text(encoding="utf-8"))
    for table, spec in document["tables"].items():
        for column in spec["columns"]:
            assert set(column) <= known, f"{table}.{column['name']}: unexpected keys {set(column) - known}"
