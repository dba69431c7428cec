"""Loads from files: Parquet, CSV, a glob; idempotent reruns; watermark increments; upserts;
quarantine with reasons and line numbers; schema drift."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from include.ingestion import LoadFailed, SchemaDriftError, ingest_files
from tests.ingestion.helpers import assert_identity, make_source, query, scalar, source_count

LOADED_TABLES = ["customers", "products", "balance_snapshots", "transactions", "digital_activity",
                 "market_environment", "churn_events"]


def _by_table(reports):
    return {r.table_name: r for r in reports}


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_source_dir_loads_every_table_completely(tmp_path, fmt):
    source = make_source(tmp_path / "source", fmt=fmt)
    warehouse = tmp_path / "w.duckdb"
    reports = _by_table(ingest_files(source, warehouse))
    for name in LOADED_TABLES:
        expected = source_count(source / name if (source / name).is_dir() else source / f"{name}.{fmt}")
        assert reports[name].status == "success"
        assert reports[name].rows_read == expected
        assert reports[name].rows_loaded == expected
        assert reports[name].rows_quarantined == 0
        assert scalar(warehouse, f"SELECT count(*) FROM raw.{name}") == expected
    assert reports["service_interactions"].status == "no_source"
    # The contract's types, not the file's.
    types = dict(query(warehouse, "SELECT column_name, data_type FROM information_schema.columns "
                                  "WHERE table_schema = 'raw' AND table_name = 'transactions'"))
    assert types["transaction_ts"] == "TIMESTAMP" and types["amount"] == "DECIMAL(18,2)"
    assert_identity(warehouse)


def test_csv_and_parquet_give_identical_raw_tables(tmp_path):
    wp, wc = tmp_path / "p.duckdb", tmp_path / "c.duckdb"
    ingest_files(make_source(tmp_path / "p", fmt="parquet"), wp)
    ingest_files(make_source(tmp_path / "c", fmt="csv"), wc)
    con = duckdb.connect()
    con.execute(f"ATTACH '{wp}' AS p (READ_ONLY)")
    con.execute(f"ATTACH '{wc}' AS c (READ_ONLY)")
    for name in LOADED_TABLES:
        diff = con.execute(f"SELECT count(*) FROM ((FROM p.raw.{name} EXCEPT ALL FROM c.raw.{name}) "
                           f"UNION ALL (FROM c.raw.{name} EXCEPT ALL FROM p.raw.{name}))").fetchone()[0]
        assert diff == 0, name


def test_glob_and_single_file(handmade_source, warehouse):
    reports = ingest_files(str(handmade_source / "transactions" / "month=2024-0[12]" / "*.parquet"), warehouse)
    assert [r.table_name for r in reports if r.status == "success"] == ["transactions"]
    expected = source_count(handmade_source / "transactions" / "month=2024-01") + source_count(
        handmade_source / "transactions" / "month=2024-02")
    assert scalar(warehouse, "SELECT count(*) FROM raw.transactions") == expected
    # A file named after no table is attributed by tables=[...].
    odd = handmade_source.parent / "export_2024.parquet"
    shutil.copy(handmade_source / "customers.parquet", odd)
    ingest_files(odd, warehouse, tables=["customers"])
    assert scalar(warehouse, "SELECT count(*) FROM raw.customers") == source_count(odd)
    with pytest.raises(Exception, match="cannot tell which raw table"):
        ingest_files(odd, warehouse)


def test_rerun_of_the_same_batch_adds_nothing(handmade_source, warehouse):
    first = _by_table(ingest_files(handmade_source, warehouse))
    counts = {n: scalar(warehouse, f"SELECT count(*) FROM raw.{n}") for n in LOADED_TABLES}
    second = _by_table(ingest_files(handmade_source, warehouse))
    for n in LOADED_TABLES:
        assert scalar(warehouse, f"SELECT count(*) FROM raw.{n}") == counts[n]
        assert second[n].rows_loaded == 0
        assert second[n].rows_skipped_duplicate == second[n].rows_read
    # Tables without watermark are read again in full and skipped as identical.
    assert second["customers"].rows_read == first["customers"].rows_read
    # Watermarked tables only re-read the boundary (rows at the stored watermark).
    assert 0 < second["transactions"].rows_read < first["transactions"].rows_read
    assert second["transactions"].watermark_after == first["transactions"].watermark_after
    assert scalar(warehouse, "SELECT count(*) FROM raw.quarantine") == 0
    assert_identity(warehouse)


def test_watermark_increment_loads_only_the_new_month(tmp_path):
    source = make_source(tmp_path / "source", months=["2024-01-31", "2024-02-29"])
    warehouse = tmp_path / "w.duckdb"
    first = _by_table(ingest_files(source, warehouse))
    wm = first["transactions"].watermark_after
    assert wm == scalar(warehouse, "SELECT CAST(max(transaction_ts) AS VARCHAR) FROM raw.transactions")
    # The next month arrives.
    full = make_source(tmp_path / "full", months=["2024-01-31", "2024-02-29", "2024-03-31"])
    for name in ("transactions", "balance_snapshots", "digital_activity"):
        shutil.copytree(full / name / "month=2024-03", source / name / "month=2024-03")
    new_tx = source_count(source / "transactions" / "month=2024-03")
    at_boundary = scalar(warehouse, "SELECT count(*) FROM raw.transactions WHERE transaction_ts = CAST(? AS TIMESTAMP)", [wm])
    second = _by_table(ingest_files(source, warehouse, tables=["transactions", "balance_snapshots"]))
    tx = second["transactions"]
    assert tx.rows_loaded == new_tx
    assert tx.rows_skipped_duplicate == at_boundary
    assert tx.rows_read == new_tx + at_boundary
    assert tx.watermark_before == wm and tx.watermark_after > wm
    bs = second["balance_snapshots"]
    assert bs.rows_loaded == source_count(source / "balance_snapshots" / "month=2024-03")
    assert scalar(warehouse, "SELECT max(month_end) FROM raw.balance_snapshots").isoformat() == "2024-03-31"
    assert_identity(warehouse)


def test_table_without_watermark_is_upserted_by_primary_key(handmade_source, warehouse):
    ingest_files(handmade_source, warehouse, tables=["customers"])
    con = duckdb.connect()
    frame = con.execute(f"SELECT * FROM read_parquet('{handmade_source}/customers.parquet')").fetchall()
    cols = [d[0] for d in con.description]
    con.execute(f"COPY (SELECT * REPLACE (CASE WHEN customer_id = 'C00001' THEN 'mass' ELSE segment END AS segment) "
                f"FROM read_parquet('{handmade_source}/customers.parquet') UNION ALL "
                f"SELECT * REPLACE ('C09999' AS customer_id) FROM read_parquet('{handmade_source}/customers.parquet') "
                f"WHERE customer_id = 'C00002') TO '{handmade_source}/customers.parquet' (FORMAT parquet)")
    report = ingest_files(handmade_source, warehouse, tables=["customers"])[0]
    assert (report.rows_updated, report.rows_inserted) == (1, 1)
    assert report.rows_skipped_duplicate == len(frame) - 1
    assert scalar(warehouse, "SELECT segment FROM raw.customers WHERE customer_id = 'C00001'") == "mass"
    assert scalar(warehouse, "SELECT count(*) FROM raw.customers") == len(frame) + 1
    assert "segment" in cols
    assert_identity(warehouse)


BAD_CUSTOMERS = """customer_id,name,gender,birth_date,occupation,education,city,city_tier,phone,email,onboarding_date,segment,relationship_manager_id,branch_id
C1,Ann,F,1980-01-01,salaried,bachelor,Paris,1,1,a@x,2010-01-01,mass,RM1,B1
C2,Bob,M,1981-13-01,salaried,bachelor,Paris,1,1,b@x,2010-01-01,mass,RM1,B1
C3,Cy,X,1982-01-01,salaried,bachelor,Paris,9,1,c@x,2010-01-01,mass,RM1,B1
C4,Dee,F,1983-01-01,salaried,bachelor,,1,1,d@x,2010-01-01,mass,RM1,B1
C1,Ann,F,1980-01-01,salaried,bachelor,Paris,1,1,a@x,2010-01-01,mass,RM1,B1
C5,Eve,F,1984-01-01,salaried,"two
lines",Paris,1,1,e@x,2099-01-01,mass,RM1,B1
,Nobody,F,1984-01-01,salaried,bachelor,Paris,1,1,e@x,2010-01-01,mass,RM1,B1
"""


def test_quarantine_names_reason_file_and_line(tmp_path, warehouse):
    source = tmp_path / "source"
    source.mkdir()
    path = source / "customers.csv"
    path.write_bytes(BAD_CUSTOMERS.encode() + "C6,Fran\xe7ois,M,1985-01-01,x,y,Lyon,1,1,f@x,2010-01-01,mass,RM1,B1\n".encode("latin-1")
                     + b"C7,Gil,M,1985-01-01,x,y,Lyon,1,1,g@x,2010-01-01,affluent,RM1,B1,surplus\n"
                     + b"C8,Hal,M,1985-01-01,x,y,Lyon,1,1,h@x,2010-01-01,private_banking,RM1,B1\n")
    report = ingest_files(source, warehouse, tables=["customers"])[0]
    rows = {(r[0], r[1]) for r in query(warehouse, "SELECT source_row, reason FROM raw.quarantine WHERE source = ?", [str(path)])}
    assert ("line 3", "birth_date: cannot cast to DATE") in rows
    assert ("line 4", "gender: not in accepted values; city_tier: above maximum 4") in rows
    assert ("line 5", "city: required value missing") in rows
    assert ("line 6", "duplicate primary key in batch (first seen at " + str(path) + " line 2)") in rows
    assert ("line 7", "onboarding_date: in the future") in rows  # a quoted field spans two lines: one record
    assert ("line 8", "customer_id: required value missing") in rows
    reasons = dict(rows)
    assert reasons["line 9"].startswith("unreadable CSV record: INVALID ENCODING")
    assert reasons["line 10"].startswith("unreadable CSV record: TOO MANY COLUMNS")
    assert len(rows) == 8
    assert report.rows_read == 10 and report.rows_loaded == 2 and report.rows_quarantined == 8
    assert sorted(r[0] for r in query(warehouse, "SELECT customer_id FROM raw.customers")) == ["C1", "C8"]
    payload = json.loads(scalar(warehouse, "SELECT payload FROM raw.quarantine WHERE source_row = 'line 3'"))
    assert payload["birth_date"] == "1981-13-01" and payload["customer_id"] == "C2"
    assert "8 rows quarantined" in report.message
    assert_identity(warehouse)
    # A rerun quarantines nothing twice.
    again = ingest_files(source, warehouse, tables=["customers"])[0]
    assert again.rows_quarantined == 0 and again.rows_skipped_duplicate == again.rows_read == 10
    assert scalar(warehouse, "SELECT count(*) FROM raw.quarantine") == 8
    assert_identity(warehouse)


def test_future_timestamps_and_domain_in_parquet(handmade_source, warehouse):
    con = duckdb.connect()
    f = handmade_source / "transactions" / "month=2024-01" / "part-0.parquet"
    con.execute(f"""COPY (SELECT * REPLACE (
            CASE WHEN transaction_id = 'T202401-000001' THEN TIMESTAMP '2099-01-01' ELSE transaction_ts END AS transaction_ts,
            CASE WHEN transaction_id = 'T202401-000002' THEN -5 ELSE amount END AS amount)
        FROM read_parquet('{f}', hive_partitioning = false)) TO '{f}.tmp' (FORMAT parquet)""")
    Path(f"{f}.tmp").replace(f)
    report = ingest_files(handmade_source, warehouse, tables=["transactions"])[0]
    position = dict(con.execute(f"SELECT transaction_id, file_row_number + 1 FROM read_parquet('{f}', file_row_number = true) "
                                "WHERE transaction_id IN ('T202401-000001', 'T202401-000002')").fetchall())
    got = set(query(warehouse, "SELECT source, source_row, reason FROM raw.quarantine"))
    assert got == {(str(f), f"row {position['T202401-000001']}", "transaction_ts: in the future"),
                   (str(f), f"row {position['T202401-000002']}", "amount: below minimum 0")}
    # A future-dated row never moves the watermark.
    assert report.watermark_after < "2025"
    assert_identity(warehouse)


def test_schema_drift_extra_renamed_and_missing_required(handmade_source, warehouse):
    con = duckdb.connect()
    feb = handmade_source / "transactions" / "month=2024-02" / "part-0.parquet"
    con.execute(f"COPY (SELECT * EXCLUDE (counterparty_bank), 'x' AS branch_note FROM read_parquet('{feb}', hive_partitioning = false)) TO '{feb}.t' (FORMAT parquet)")
    Path(f"{feb}.t").replace(feb)
    report = ingest_files(handmade_source, warehouse, tables=["transactions"])[0]
    assert report.status == "success"
    assert "counterparty_bank" in report.drift.missing and "branch_note" in report.drift.extra
    assert "missing column 'counterparty_bank'" in report.message and str(feb) in report.message
    assert "extra column 'branch_note' (ignored)" in report.message
    logged = scalar(warehouse, "SELECT message FROM raw.load_log WHERE table_name = 'transactions'")
    assert "counterparty_bank" in logged and "branch_note" in logged

    # A renamed required column fails the table, names table, file and column; others still load.
    mar = handmade_source / "transactions" / "month=2024-03" / "part-0.parquet"
    con.execute(f"COPY (SELECT * RENAME (transaction_ts AS txn_ts) FROM read_parquet('{mar}', hive_partitioning = false)) TO '{mar}.t' (FORMAT parquet)")
    Path(f"{mar}.t").replace(mar)
    w2 = warehouse.parent / "w2.duckdb"
    with pytest.raises(LoadFailed) as info:
        ingest_files(handmade_source, w2, tables=["transactions", "customers"])
    err = info.value.errors[0]
    assert isinstance(err, SchemaDriftError)
    assert (err.table, err.column, err.renamed_to) == ("transactions", "transaction_ts", "txn_ts")
    assert str(mar) in str(err) and "'transaction_ts'" in str(err) and "'transactions'" in str(err)
    reports = _by_table(info.value.reports)
    assert reports["transactions"].status == "failed" and reports["customers"].status == "success"
    assert reports["transactions"].drift.renamed["transaction_ts"] == "txn_ts"
    assert scalar(w2, "SELECT count(*) FROM raw.transactions") == 0
    assert scalar(w2, "SELECT status FROM raw.load_log WHERE table_name = 'transactions'") == "failed"
    assert "txn_ts" in scalar(w2, "SELECT message FROM raw.load_log WHERE table_name = 'transactions'")


def test_orphan_keys_are_loaded_and_reported(handmade_source, warehouse):
    f = handmade_source / "churn_events.parquet"
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM read_parquet('{f}') UNION ALL SELECT 'C99999', DATE '2024-03-01', 'assets_drained') "
                f"TO '{f}.t' (FORMAT parquet)")
    Path(f"{f}.t").replace(f)
    reports = _by_table(ingest_files(handmade_source, warehouse, tables=["customers", "churn_events"]))
    assert reports["churn_events"].orphans == {"customer_id -> customers.customer_id": 1}
    assert "1 rows with an orphan key customer_id -> customers.customer_id" in reports["churn_events"].message
    assert scalar(warehouse, "SELECT count(*) FROM raw.churn_events WHERE customer_id = 'C99999'") == 1


def test_a_table_folder_may_mix_csv_and_parquet(handmade_source, warehouse):
    folder = handmade_source / "transactions" / "month=2024-03"
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM read_parquet('{folder}/part-0.parquet', hive_partitioning = false)) "
                f"TO '{folder}/part-0.csv' (FORMAT csv, HEADER true)")
    (folder / "part-0.parquet").unlink()
    with open(folder / "part-0.csv", "a", encoding="utf-8") as fh:
        fh.write("T202403-999999,C00001,C00001-CA,2024-03-05 10:00:00,12.5,in,salary,,teleport\n")
    report = ingest_files(handmade_source, warehouse, tables=["transactions"])[0]
    expected = source_count(handmade_source / "transactions")
    assert report.rows_read == expected and report.rows_quarantined == 1
    row = query(warehouse, "SELECT source, source_row, reason FROM raw.quarantine")[0]
    # The appended record is the CSV's last: its line is the record count plus the header.
    assert row == (str(folder / "part-0.csv"), f"line {source_count(folder / 'part-0.csv') + 1}", "channel: not in accepted values")
    assert_identity(warehouse)


def test_full_refresh_takes_corrected_rows_below_the_watermark(handmade_source, warehouse):
    ingest_files(handmade_source, warehouse, tables=["transactions"])
    f = handmade_source / "transactions" / "month=2024-01" / "part-0.parquet"
    con = duckdb.connect()
    con.execute(f"""COPY (SELECT * REPLACE (CASE WHEN transaction_id = 'T202401-000004' THEN 4444.44 ELSE amount END AS amount)
        FROM read_parquet('{f}', hive_partitioning = false)) TO '{f}.t' (FORMAT parquet)""")
    Path(f"{f}.t").replace(f)
    incremental = ingest_files(handmade_source, warehouse, tables=["transactions"])[0]
    assert incremental.rows_updated == 0  # January is below the watermark: not read again
    full = ingest_files(handmade_source, warehouse, tables=["transactions"], full_refresh=True)[0]
    assert full.rows_read == source_count(handmade_source / "transactions")
    assert (full.rows_updated, full.rows_inserted) == (1, 0)
    assert full.rows_skipped_duplicate == full.rows_read - 1
    assert float(scalar(warehouse, "SELECT amount FROM raw.transactions WHERE transaction_id = 'T202401-000004'")) == 4444.44
    assert full.watermark_after == incremental.watermark_after
    assert_identity(warehouse)


def test_many_parquet_files_take_the_single_scan_path(handmade_source, warehouse, monkeypatch):
    import include.ingestion.files as files

    monkeypatch.setattr(files, "MAX_TAGGED_SCANS", 1)
    f = handmade_source / "transactions" / "month=2024-02" / "part-0.parquet"
    con = duckdb.connect()
    con.execute(f"""COPY (SELECT * REPLACE (CASE WHEN transaction_id = 'T202402-000007' THEN 'sideways' ELSE direction END AS direction)
        FROM read_parquet('{f}', hive_partitioning = false)) TO '{f}.t' (FORMAT parquet)""")
    Path(f"{f}.t").replace(f)
    position = con.execute(f"SELECT file_row_number + 1 FROM read_parquet('{f}', file_row_number = true) "
                           "WHERE transaction_id = 'T202402-000007'").fetchone()[0]
    report = ingest_files(handmade_source, warehouse, tables=["transactions"])[0]
    assert report.rows_read == source_count(handmade_source / "transactions")
    assert query(warehouse, "SELECT source, source_row, reason FROM raw.quarantine") == [
        (str(f), f"row {position}", "direction: not in accepted values")]


def test_a_raw_table_from_an_older_contract_gains_the_new_columns(handmade_source, warehouse):
    con = duckdb.connect(str(warehouse))
    con.execute("CREATE SCHEMA raw")
    con.execute("CREATE TABLE raw.churn_events (customer_id VARCHAR, churn_date DATE)")  # before churn_type existed
    con.execute("INSERT INTO raw.churn_events VALUES ('C00000', DATE '2023-05-01')")
    con.close()
    report = ingest_files(handmade_source, warehouse, tables=["churn_events"])[0]
    assert report.rows_inserted == source_count(handmade_source / "churn_events.parquet")
    assert query(warehouse, "SELECT churn_type FROM raw.churn_events WHERE customer_id = 'C00000'") == [(None,)]
    assert scalar(warehouse, "SELECT count(*) FROM raw.churn_events WHERE churn_type = 'account_closure'") == report.rows_inserted
