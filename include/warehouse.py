"""Access to the DuckDB warehouse: one way to open it, one way to write a frame into a table."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd


def connect(
    path: str | Path,
    *,
    read_only: bool = False,
    memory_limit: str | None = None,
    threads: int | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse. Writers are serialised by the Airflow pool ``duckdb_warehouse`` (1 slot):
    a DuckDB file takes one writing process at a time."""
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    elif not path.exists():
        raise FileNotFoundError(f"DuckDB database {path} does not exist")
    if memory_limit is None or threads is None:
        # Every connection the platform opens is bounded by the configured limit (DuckDB's own
        # default, 80% of RAM, lets one large load starve the machine); it spills beyond it.
        from include.config import get_settings

        settings = get_settings()
        memory_limit = memory_limit or settings.duckdb_memory_limit
        threads = threads or settings.duckdb_threads
    config: dict[str, str | int] = {}
    if memory_limit:
        config["memory_limit"] = memory_limit
    if threads:
        config["threads"] = threads
    try:
        return duckdb.connect(str(path), read_only=read_only, config=config)
    except duckdb.ConnectionException as error:
        if "different configuration" not in str(error):
            raise
        # The file is already open in this process (dbt-duckdb keeps its connection after an
        # in-process dbt run, as under `airflow dags test`); DuckDB shares an instance only with a
        # connection of the same configuration, so join that one.
        return duckdb.connect(str(path))


@contextmanager
def connection(path: str | Path, **kwargs) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(path, **kwargs)
    try:
        yield con
    finally:
        con.close()


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None):
    """First value of a query. Reads the whole result: DuckDB 2.0 keeps a connection busy while a
    result is only partly fetched (``fetchone``), and refuses ``register`` on it."""
    rows = con.execute(sql, params or []).fetchall()
    return rows[0][0] if rows else None


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(scalar(
        con,
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ))


def replace_partition(
    con: duckdb.DuckDBPyConnection,
    frame: pd.DataFrame,
    *,
    schema: str,
    table: str,
    key_column: str,
    key_value,
) -> int:
    """Write ``frame`` as the rows of ``schema.table`` whose ``key_column`` equals ``key_value``.

    Reruns for the same key replace exactly that slice, so a rerun of a run is idempotent. The
    table is created from the frame's schema the first time."""
    con.execute(f'create schema if not exists "{schema}"')
    con.register("_incoming_frame", frame)
    try:
        con.execute("begin transaction")
        if table_exists(con, schema, table):
            con.execute(f'delete from "{schema}"."{table}" where "{key_column}" = ?', [key_value])
            con.execute(f'insert into "{schema}"."{table}" by name select * from _incoming_frame')
        else:
            con.execute(f'create table "{schema}"."{table}" as select * from _incoming_frame')
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    finally:
        con.unregister("_incoming_frame")
    return len(frame)
