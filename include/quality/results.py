"""Where gate results live: ``quality.data_quality_results`` and ``quality.table_volumes``; PII masking."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import duckdb

from include.contract import load_contract

RESULTS_DDL = """
create schema if not exists quality;
create table if not exists quality.data_quality_results (
    run_id            varchar   not null,
    as_of_date        date      not null,
    layer             varchar   not null,
    suite             varchar   not null,
    table_name        varchar   not null,
    expectation       varchar   not null,
    expectation_type  varchar   not null,
    check_family      varchar,
    severity          varchar   not null,
    success           boolean   not null,
    observed_value    varchar,
    unexpected_count  bigint,
    unexpected_sample varchar,
    exception_message varchar,
    data_docs_path    varchar,
    validated_at      timestamp not null
);
create table if not exists quality.table_volumes (
    run_id      varchar   not null,
    as_of_date  date      not null,
    table_name  varchar   not null,
    row_count   bigint    not null,
    measured_at timestamp not null,
    batch_days  integer   not null default 1
);
alter table quality.table_volumes add column if not exists batch_days integer default 1;
"""

RESULT_COLUMNS = (
    "run_id", "as_of_date", "layer", "suite", "table_name", "expectation", "expectation_type",
    "check_family", "severity", "success", "observed_value", "unexpected_count", "unexpected_sample",
    "exception_message", "data_docs_path", "validated_at",
)


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(RESULTS_DDL)


def pii_columns() -> frozenset[str]:
    """Column names that are PII anywhere in the contract; masked in samples whatever the table."""
    return frozenset(c for cols in load_contract().pii_columns.values() for c in cols)


def mask(value: Any) -> str | None:
    """A stable stand-in for a PII value: lets an owner see that two samples are the same value
    without ever showing it."""
    if value is None:
        return None
    digest = hashlib.sha256(str(value).encode("utf-8")).hexdigest()[:10]
    return f"masked:{digest}"


def mask_sample(sample: Iterable[Any], *, column: str | None, pii: frozenset[str]) -> list[Any]:
    """Mask a sample of unexpected values (scalars for ``column``) or rows (dicts)."""
    out: list[Any] = []
    for item in sample:
        if isinstance(item, dict):
            out.append({k: (mask(v) if k.lower() in pii else v) for k, v in item.items()})
        elif column is not None and column.lower() in pii:
            out.append(mask(item))
        else:
            out.append(item)
    return out


def to_json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, default=_json_default, ensure_ascii=False)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


def store(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], *, run_id: str,
          suites: list[str]) -> None:
    """Replace this run's rows for these suites (a retried task does not duplicate results)."""
    ensure_tables(con)
    con.execute("begin transaction")
    try:
        for suite in suites:
            con.execute("delete from quality.data_quality_results where run_id = ? and suite = ?", [run_id, suite])
        placeholders = ", ".join("?" for _ in RESULT_COLUMNS)
        if rows:
            con.executemany(
                f"insert into quality.data_quality_results ({', '.join(RESULT_COLUMNS)}) values ({placeholders})",
                [[r[c] for c in RESULT_COLUMNS] for r in rows],
            )
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise


def store_volumes(con: duckdb.DuckDBPyConnection, counts: dict[str, int], *, run_id: str,
                  as_of_date: date, measured_at: datetime, batch_days: dict[str, int] | None = None) -> None:
    """Row counts of the validated batches; ``batch_days`` is the days a month-to-date batch covers."""
    ensure_tables(con)
    con.execute("begin transaction")
    try:
        for table, n in counts.items():
            con.execute("delete from quality.table_volumes where run_id = ? and table_name = ? and as_of_date = ?",
                        [run_id, table, as_of_date])
            con.execute("insert into quality.table_volumes (run_id, as_of_date, table_name, row_count, "
                        "measured_at, batch_days) values (?, ?, ?, ?, ?, ?)",
                        [run_id, as_of_date, table, n, measured_at, (batch_days or {}).get(table, 1)])
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
