"""Great Expectations on DuckDB through duckdb-engine, with every metric computed inside DuckDB.

Why this module exists (the only place that adapts Great Expectations to DuckDB):

great-expectations 1.24.1's ``SqlAlchemyExecutionEngine.execute_query`` runs a query inside
``with self.get_connection() as connection`` and returns the *unread* result; the caller calls
``fetchall()`` after the ``with`` block, i.e. after the connection went back to the pool.
Returning a connection to the pool ends its transaction: SQLAlchemy rolls back the transaction
it began, and the pool resets it (another rollback). duckdb-engine's cursor is not a cursor of
its own: ``CursorWrapper.execute`` runs the statement on the shared ``DuckDBPyConnection``, whose
pending (streamed) result is discarded by the next statement on that connection - here the
``ROLLBACK``. So every result GX reads is empty and ``resolve_metric_bundle`` fails on
``res[0]`` with ``IndexError: list index out of range``. ``pool_reset_on_return=None`` or a
``StaticPool`` do not help: SQLAlchemy's own rollback of the autobegun transaction on
``Connection.close()`` still runs on the same DuckDB connection.

A second, smaller gap: duckdb-engine 0.17.0 reflects columns with PostgreSQL catalog queries
(``pg_catalog.pg_collation``) that DuckDB 2.0 does not answer, so ``Inspector.get_columns`` raises
and GX falls back to ``SELECT * FROM <table> LIMIT 1`` *without the schema*, which fails for any
table outside ``main``. Every column expectation depends on that metadata (``table.columns``), so
the engine below answers ``get_columns`` from DuckDB's own catalog (``information_schema``).

A third point is about sharing a process: DuckDB refuses a second handle on a file that this
process already has open with a different configuration (read-only flag, memory limit, or the
``custom_user_agent`` duckdb-engine always adds). dbt-duckdb keeps its handle open after a build,
so a gate running in the same process as dbt (``airflow dags test``, a benchmark) could not
connect. Engines here therefore open DuckDB through :func:`open_duckdb`, which asks for the
configured handle (read-only, limits) and, when the file is already open in this process, shares
that instance instead.

The remedy for the first is the one GX already applies to SQLite, SQL Server, BigQuery and Databricks
(``_PERSISTED_CONNECTION_DIALECTS``): keep one SQLAlchemy connection open for the life of the
execution engine, so nothing runs on the DuckDB connection between a query and its fetch. It is
scoped to a DuckDB-specific execution engine and a fluent data source type ``duckdb`` (like GX's
own ``sqlite`` type) instead of patching GX globally. The SQL GX generates still runs in DuckDB:
a metric bundle is one aggregate query, and only its one-row answer (or at most GX's sample of
unexpected rows) crosses into Python, so validating a 100 M-row table never loads it.
"""

from __future__ import annotations

from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar, Literal

import duckdb
import sqlalchemy as sa
from duckdb_engine import ConnectionWrapper
from great_expectations.compatibility import sqlalchemy
from great_expectations.datasource.fluent.sql_datasource import SQLDatasource
from great_expectations.execution_engine import SqlAlchemyExecutionEngine


class _CatalogInspector:
    """SQLAlchemy inspector whose column reflection reads DuckDB's ``information_schema``."""

    def __init__(self, engine: sqlalchemy.Engine, inspector: Any) -> None:
        self._engine = engine
        self._inspector = inspector

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inspector, name)

    def get_columns(self, table_name: str, schema: str | None = None, **_: Any) -> list[dict[str, Any]]:
        # A connection of its own, read inside the block: the execution engine's persisted
        # connection may hold a result its caller has not fetched yet.
        with self._engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "select column_name, data_type, is_nullable from information_schema.columns "
                    "where table_name = :table and table_schema = coalesce(:schema, current_schema()) "
                    "order by ordinal_position"
                ),
                {"table": str(table_name), "schema": schema},
            ).fetchall()
        if not rows:
            raise sa.exc.NoSuchTableError(f"{schema}.{table_name}" if schema else str(table_name))
        dialect = self._engine.dialect
        return [
            {
                "name": name,
                "type": _sqlalchemy_type(dialect, data_type),
                "nullable": nullable == "YES",
                "default": None,
            }
            for name, data_type, nullable in rows
        ]

    def get_pk_constraint(self, table_name: str, schema: str | None = None, **_: Any) -> dict[str, Any]:
        return {"constrained_columns": [], "name": None}


def _sqlalchemy_type(dialect: sqlalchemy.Dialect, duckdb_type: str) -> Any:
    """SQLAlchemy type for a DuckDB type name, as duckdb-engine's dialect maps it (NullType if unknown)."""
    base, _, args = duckdb_type.partition("(")
    type_class = dialect.ischema_names.get(base.strip().lower())
    if type_class is None:
        return sa.types.NullType()
    numbers = [int(a) for a in args.rstrip(")").split(",") if a.strip().isdigit()]
    try:
        return type_class(*numbers)
    except TypeError:
        return type_class()


def open_duckdb(path: str | Path, *, read_only: bool = False, config: dict[str, Any] | None = None):
    """A DuckDB connection with ``read_only`` and ``config`` when possible; if this process already
    holds the file with another configuration, a connection to that same instance."""
    try:
        return duckdb.connect(str(path), read_only=read_only, config=dict(config or {}))
    except duckdb.ConnectionException as error:
        if "different configuration" not in str(error):
            raise
        return duckdb.connect(str(path))


def _create_engine(connection_string: str, kwargs: dict[str, Any]) -> sqlalchemy.Engine:
    kwargs = dict(kwargs)
    connect_args = dict(kwargs.pop("connect_args", {}) or {})
    path = sa.engine.make_url(connection_string).database

    def creator():
        return ConnectionWrapper(open_duckdb(path, read_only=bool(connect_args.get("read_only")),
                                             config=connect_args.get("config")))

    return sa.create_engine(connection_string, creator=creator, **kwargs)


class DuckDBExecutionEngine(SqlAlchemyExecutionEngine):
    """A ``SqlAlchemyExecutionEngine`` that keeps one connection open until :meth:`close`."""

    def _setup_engine(self, kwargs, connection_string=None, credentials=None, url=None) -> None:
        if connection_string is None:
            raise ValueError("the DuckDB execution engine needs a connection string (duckdb:///<path>)")
        self.engine = _create_engine(connection_string, dict(kwargs))

    def get_inspector(self) -> Any:
        if self._inspector is None:
            self._inspector = _CatalogInspector(self.engine, sa.inspect(self.engine))
        return self._inspector

    @contextmanager
    def get_connection(self) -> Generator[sqlalchemy.Connection, None, None]:
        # Same behaviour as GX's persisted-connection dialects: the connection is not returned
        # to the pool after each query, so no ROLLBACK runs before the caller fetches the result.
        if self._connection is None or self._connection.closed:
            self._connection = self.engine.connect()
        try:
            yield self._connection
        except Exception:
            # DuckDB aborts the transaction on any error; without a rollback every later metric
            # on this kept connection would fail with "Current transaction is aborted".
            if self._connection.in_transaction():
                self._connection.rollback()
            raise

    def close(self) -> None:
        # Releases the DuckDB file: a writer in the same process needs the read-only handle gone.
        if self._connection is not None and not self._connection.closed:
            self._connection.close()
        self._connection = None
        self.engine.dispose()


class DuckDBDatasource(SQLDatasource):
    """Fluent data source ``context.data_sources.add_duckdb(name, connection_string=...)``."""

    type: Literal["duckdb"] = "duckdb"  # type: ignore[assignment]

    _excluded_engine_kwargs: ClassVar[tuple[str, ...]] = ()

    @property
    def execution_engine_type(self) -> type[SqlAlchemyExecutionEngine]:
        return DuckDBExecutionEngine

    def _create_engine(self) -> sqlalchemy.Engine:
        model_dict = self.dict(exclude=self._get_exec_engine_excludes(), config_provider=self._config_provider)
        return _create_engine(str(model_dict["connection_string"]), dict(model_dict.get("kwargs") or {}))

    def close(self) -> None:
        """Close every DuckDB connection this data source opened (engine and execution engine)."""
        if self._execution_engine is not None:
            self._execution_engine.close()
            self._execution_engine = None
            self._cached_execution_engine_kwargs = {}
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def duckdb_url(path: str | Path) -> str:
    """SQLAlchemy URL of a DuckDB file for duckdb-engine."""
    return f"duckdb:///{Path(path).resolve()}"


def engine_kwargs(*, read_only: bool = True, memory_limit: str | None = None,
                  threads: int | None = None) -> dict[str, Any]:
    """``create_engine`` keyword arguments: a read-only handle, so a gate can never change data."""
    config: dict[str, Any] = {}
    if memory_limit:
        config["memory_limit"] = memory_limit
    if threads:
        config["threads"] = threads
    return {"connect_args": {"read_only": read_only, "config": config}}
