"""PostgreSQL: a source database holding the contract's tables (plan 3.3(1) "databases").

The DuckDB postgres extension cannot be installed offline, so data moves through Python, in
bulk: ``COPY (SELECT ...) TO STDOUT (FORMAT csv)`` streams rows from the server; they are written
to a temporary CSV file of at most ``batch_rows`` rows, which DuckDB reads into a text staging
table, then the file is deleted. Memory stays bounded whatever the table size (DuckDB spills the
staging table to disk when it must), and the contract checks then run once, set-based, like for
files. Only the increment is asked for: ``WHERE <watermark> >= <stored watermark>`` runs on the
server.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from include.contract import Table
from include.ingestion.core import (
    IngestionError,
    LoadFailed,
    LoadReport,
    check_required,
    get_watermark,
    load_relation,
    merge_drift,
    new_load_id,
    open_warehouse,
    qi,
    ql,
    record_no_source,
    select_tables,
    table_load,
    utcnow,
)


def connection_uri(conn_id_or_uri: str) -> str:
    """A libpq URI: given as is, or built from an Airflow connection id."""
    if "://" in conn_id_or_uri:
        return conn_id_or_uri
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(conn_id_or_uri)
    auth = ""
    if conn.login:
        auth = quote(conn.login, safe="")
        if conn.password:
            auth += ":" + quote(conn.password, safe="")
        auth += "@"
    port = f":{conn.port}" if conn.port else ""
    return f"postgresql://{auth}{conn.host or 'localhost'}{port}/{conn.schema or 'postgres'}"


def display_uri(uri: str) -> str:
    """The URI without its password, for load logs and messages."""
    parts = urlsplit(uri)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def ingest_postgres(
    conn_id_or_uri: str,
    warehouse_path: str | Path,
    *,
    schema: str = "public",
    tables: list[str] | None = None,
    batch_rows: int = 1_000_000,
    now: dt.datetime | None = None,
    memory_limit: str | None = None,
    threads: int | None = None,
    raise_on_failure: bool = True,
    full_refresh: bool = False,
) -> list[LoadReport]:
    """Load the contract tables from ``schema`` of a PostgreSQL database into ``raw``.

    ``conn_id_or_uri`` is an Airflow connection id (the deployment's way) or a
    ``postgresql://`` URI (tests, scripts). Source rows are identified in the quarantine by table
    and primary key."""
    import psycopg
    from psycopg import sql

    uri = connection_uri(conn_id_or_uri)
    shown = display_uri(uri)
    con = open_warehouse(warehouse_path, memory_limit=memory_limit, threads=threads)
    load_id = new_load_id("postgres")
    reports: list[LoadReport] = []
    errors: list[Exception] = []
    try:
        with psycopg.connect(uri) as pg:
            for table in select_tables(tables):
                source = f"{shown}#{schema}.{table.name}"
                report = LoadReport(load_id, table.name, source=source, source_kind="postgres", started_at=utcnow())
                reports.append(report)
                columns = [r[0] for r in pg.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
                    "ORDER BY ordinal_position", [schema, table.name]).fetchall()]
                if not columns:
                    report.message = f"no table {schema}.{table.name} in {shown}"
                    record_no_source(con, report)
                    continue
                try:
                    with table_load(con, report, errors):
                        merge_drift(report.drift, table, f"{schema}.{table.name}", columns)
                        check_required(table, report.drift)
                        _load_table(pg, sql, con, table, schema, columns, report, source, batch_rows, now, full_refresh)
                finally:
                    con.execute("DROP TABLE IF EXISTS _pg_stage")
    except psycopg.OperationalError as exc:
        raise IngestionError(f"cannot connect to the PostgreSQL source {shown}: {exc}") from exc
    finally:
        con.close()
    if errors and raise_on_failure:
        raise LoadFailed(reports, errors)
    return reports


def _load_table(pg, sql, con, table: Table, schema: str, columns: list[str], report: LoadReport,
                source: str, batch_rows: int, now, full_refresh: bool) -> None:
    wanted = {c.name.lower() for c in table.columns}
    present = [c for c in columns if c.lower() in wanted]
    pk = list(table.primary_key)
    # The quarantine names a source row by its key, as the bank's DBA would look it up.
    key_expr = sql.SQL(" || ', ' || ").join(
        sql.SQL("{} || '=' || coalesce({}::text, 'NULL')").format(sql.Literal(k), sql.Identifier(k)) for k in pk
    )
    select = sql.SQL("SELECT {cols}, {key} AS _row FROM {tbl}").format(
        cols=sql.SQL(", ").join(sql.Identifier(c) for c in present),
        key=key_expr,
        tbl=sql.Identifier(schema, table.name),
    )
    if table.watermark and not full_refresh:
        wm = get_watermark(con, table.name, source)
        if wm is not None and table.watermark in present:
            # NULLs are read too, so that they are quarantined rather than silently ignored.
            select += sql.SQL(" WHERE {w} >= {v} OR {w} IS NULL").format(
                w=sql.Identifier(table.watermark), v=sql.Literal(wm))
    copy_sql = sql.SQL("COPY ({}) TO STDOUT (FORMAT csv)").format(select)
    names = [*present, "_row"]
    col_spec = "{" + ", ".join(f"{ql(n)}: 'VARCHAR'" for n in names) + "}"
    con.execute("DROP TABLE IF EXISTS _pg_stage")
    con.execute(f"CREATE TEMP TABLE _pg_stage ({', '.join(qi(n) + ' VARCHAR' for n in names)})")
    fd, tmp = tempfile.mkstemp(prefix="churn_pg_", suffix=".csv")
    os.close(fd)
    try:
        def flush() -> None:
            con.execute(
                f"""INSERT INTO _pg_stage SELECT * FROM read_csv({ql(tmp)}, header = false, columns = {col_spec},
                    delim = ',', quote = '"', escape = '"', allow_quoted_nulls = false, auto_detect = false)"""
            )

        with pg.cursor() as cur, cur.copy(copy_sql) as copy:
            rows = 0
            out = open(tmp, "wb")  # noqa: SIM115 - rotated below
            try:
                # The server sends one COPY message per row, so every chunk ends on a row boundary.
                for chunk in copy:
                    out.write(chunk)
                    rows += 1
                    if rows >= batch_rows:
                        out.close()
                        flush()
                        out = open(tmp, "wb")  # noqa: SIM115
                        rows = 0
            finally:
                out.close()
            if rows:
                flush()
    finally:
        Path(tmp).unlink(missing_ok=True)
    relation = f"SELECT * EXCLUDE (_row), {ql(source)} AS _source, _row FROM _pg_stage"
    load_relation(con, table, relation, source_columns=dict.fromkeys(present, "VARCHAR"), report=report,
                  watermark_source=source, now=now, incremental=not full_refresh)
