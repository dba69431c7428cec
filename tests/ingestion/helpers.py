"""Helpers for the ingestion tests: a small hand-made, contract-clean source dir (so each test
knows exactly which rows it breaks), warehouse reads, and loading a source dir into PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import duckdb

from include.contract import load_contract

MONTH_ENDS = ["2024-01-31", "2024-02-29", "2024-03-31"]


def make_source(root: Path, *, customers: int = 40, months: list[str] | None = None, fmt: str = "parquet") -> Path:
    """A contract-clean source dir in the simulator's layout: customers/products/churn_events/
    market_environment as one file each, transactions, balance_snapshots and digital_activity
    partitioned by month."""
    months = months or MONTH_ENDS
    root.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    ext = "parquet" if fmt == "parquet" else "csv"
    opts = "(FORMAT parquet)" if fmt == "parquet" else "(FORMAT csv, HEADER true)"
    con.execute(f"CREATE TABLE ids AS SELECT i, printf('C%05d', i) AS customer_id FROM range({customers}) t(i)")
    tables = {
        "customers": """SELECT customer_id, 'Name ' || i AS name, CASE WHEN i % 2 = 0 THEN 'F' ELSE 'M' END AS gender,
            DATE '1960-01-01' + INTERVAL (i * 97) DAY AS birth_date, 'salaried' AS occupation, 'bachelor' AS education,
            CASE WHEN i % 3 = 0 THEN 'Shanghai' ELSE 'Chengdu' END AS city, 1 + i % 4 AS city_tier,
            '1380000' || i AS phone, 'c' || i || '@example.com' AS email,
            DATE '2015-01-01' + INTERVAL (i * 13) DAY AS onboarding_date,
            ['mass', 'affluent', 'private_banking'][1 + i % 3] AS segment, 'RM' || (i % 5) AS relationship_manager_id,
            'BR' || (i % 3) AS branch_id FROM ids""",
        "products": """SELECT customer_id || '-CA' AS product_id, customer_id, 'current_account' AS product_type,
            DATE '2015-01-01' + INTERVAL (i * 13) DAY AS open_date, CAST(NULL AS DATE) AS close_date,
            CAST(NULL AS DATE) AS maturity_date FROM ids""",
        "market_environment": f"""SELECT CAST(m AS DATE) AS month_end, city, 0.015 AS benchmark_deposit_rate,
            0.004 AS competitor_rate_spread, 0.01 AS equity_index_return, 0.5 AS regional_competition_index
            FROM unnest({months}) t(m), (VALUES ('Shanghai'), ('Chengdu')) c(city)""",
        "churn_events": f"""SELECT customer_id, CAST('{months[-1]}' AS DATE) - INTERVAL 3 DAY AS churn_date,
            'account_closure' AS churn_type FROM ids WHERE i % 10 = 9""",
    }
    for name, sql in tables.items():
        con.execute(f"COPY ({sql}) TO '{root}/{name}.{ext}' {opts}")
    for m in months:
        ym = m[:7]
        parts = {
            "transactions": f"""SELECT printf('T{ym.replace('-', '')}-%06d', k) AS transaction_id, customer_id,
                customer_id || '-CA' AS product_id,
                CAST(DATE '{ym}-01' AS TIMESTAMP) + INTERVAL (k * 3571 % (27 * 86400)) SECOND AS transaction_ts,
                CAST(10 + (k * 37) % 5000 AS DECIMAL(18,2)) AS amount, CASE WHEN k % 3 = 0 THEN 'in' ELSE 'out' END AS direction,
                CASE WHEN k % 3 = 0 THEN 'salary' ELSE 'payment' END AS transaction_type, CAST(NULL AS VARCHAR) AS counterparty_bank,
                ['branch', 'atm', 'mobile', 'online', 'pos'][1 + k % 5] AS channel
                FROM (SELECT *, i * 5 + j AS k FROM ids, range(5) r(j))""",
            "balance_snapshots": f"""SELECT customer_id, DATE '{m}' AS month_end,
                CAST(1000 + i * 10 AS DECIMAL(18,2)) AS current_balance, CAST(0 AS DECIMAL(18,2)) AS time_deposit_balance,
                CAST(0 AS DECIMAL(18,2)) AS wealth_management_balance, CAST(0 AS DECIMAL(18,2)) AS fund_balance,
                CAST(0 AS DECIMAL(18,2)) AS insurance_balance, CAST(0 AS DECIMAL(18,2)) AS loan_balance,
                CAST(1000 + i * 10 AS DECIMAL(18,2)) AS aum_month_avg FROM ids""",
            "digital_activity": f"""SELECT customer_id, DATE '{ym}-01' + INTERVAL (i % 20) DAY AS activity_date,
                1 + i % 3 AS mobile_logins, i % 2 AS online_logins FROM ids""",
        }
        for name, sql in parts.items():
            folder = root / name / f"month={ym}"
            folder.mkdir(parents=True, exist_ok=True)
            con.execute(f"COPY ({sql}) TO '{folder}/part-0.{ext}' {opts}")
    con.close()
    return root


def query(warehouse: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def scalar(warehouse: Path, sql: str, params: list | None = None):
    return query(warehouse, sql, params)[0][0]


def source_count(path: Path | str) -> int:
    """Row count of a source table, counted by DuckDB independently of the ingestion code."""
    path = Path(path)
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.suffix in (".parquet", ".csv"))
    total = 0
    con = duckdb.connect()
    for f in files:
        reader = "read_parquet" if f.suffix == ".parquet" else "read_csv"
        total += con.execute(f"SELECT count(*) FROM {reader}('{f}')").fetchone()[0]
    con.close()
    return total


def assert_identity(warehouse: Path) -> None:
    """read = loaded + quarantined + skipped duplicates for every load, and the quarantine holds
    exactly the rows the load log says it quarantined."""
    bad = query(warehouse, """SELECT load_id, table_name, rows_read, rows_loaded, rows_quarantined, rows_skipped_duplicate
        FROM raw.load_log WHERE rows_read <> rows_loaded + rows_quarantined + rows_skipped_duplicate""")
    assert bad == []
    mismatch = query(warehouse, """SELECT l.load_id, l.table_name, l.rows_quarantined, count(q.load_id)
        FROM raw.load_log l LEFT JOIN raw.quarantine q USING (load_id, table_name)
        GROUP BY ALL HAVING l.rows_quarantined <> count(q.load_id)""")
    assert mismatch == []


# --- PostgreSQL ---------------------------------------------------------------------------

PG_TYPES = {"VARCHAR": "text", "DATE": "date", "TIMESTAMP": "timestamp", "INTEGER": "integer",
            "DOUBLE": "double precision", "BOOLEAN": "boolean", "DECIMAL(18,2)": "numeric(18,2)"}


def load_into_postgres(uri: str, schema: str, source_dir: Path, *, as_text: bool = False) -> dict[str, int]:
    """Create ``schema`` and copy every table of a source dir into it (typed like the contract,
    or all text for fault-injected data that typed columns would refuse). Returns row counts."""
    import psycopg
    from psycopg import sql

    from include.ingestion.files import discover

    counts = {}
    duck = duckdb.connect()
    with psycopg.connect(uri, autocommit=True) as pg:
        pg.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        for name, files in discover(source_dir).items():
            listing = "[" + ", ".join(f"'{f}'" for f in files) + "]"
            reader = (f"read_parquet({listing}, union_by_name = true, hive_partitioning = false)"
                      if files[0].suffix == ".parquet" else f"read_csv({listing}, union_by_name = true, all_varchar = true)")
            described = duck.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
            # A database holds text in its own encoding: bytes that are not UTF-8 arrive decoded
            # with replacement characters, as a bank's extraction would deliver them.
            select = ", ".join(
                f"coalesce(TRY(decode(\"{c}\")), CASE WHEN \"{c}\" IS NOT NULL THEN '\ufffd\ufffd' END) AS \"{c}\""
                if t == "BLOB" else f'"{c}"' for c, t, *_ in described)
            reader = f"(SELECT {select} FROM {reader})"
            rel = duck.sql(f"SELECT * FROM {reader}")
            contract = load_contract().tables[name]
            ctypes = {c.name: c.type for c in contract.columns}
            cols = rel.columns
            ddl = sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL("text" if as_text else PG_TYPES.get(ctypes.get(c, "VARCHAR"), "text")))
                for c in cols)
            pg.execute(sql.SQL("CREATE TABLE {} ({})").format(sql.Identifier(schema, name), ddl))
            tmp = source_dir.parent / f"_pg_{name}.csv"
            duck.execute(f"COPY (SELECT * FROM {reader}) TO '{tmp}' (FORMAT csv, HEADER false)")
            with pg.cursor() as cur, cur.copy(sql.SQL("COPY {} FROM STDIN (FORMAT csv)").format(sql.Identifier(schema, name))) as cp:
                with open(tmp, "rb") as fh:
                    while chunk := fh.read(1 << 20):
                        cp.write(chunk)
            tmp.unlink()
            counts[name] = pg.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, name))).fetchone()[0]
    duck.close()
    return counts


