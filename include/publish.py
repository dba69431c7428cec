"""The published snapshot BI tools read: a DuckDB file swapped in atomically.

The snapshot is built beside the live file and moved over it with one ``os.replace``: a reader
sees the old snapshot or the new one, never a half-written one, and an open reader keeps its
file. A run that fails before publishing leaves the last good snapshot in place.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from include.contract import load_contract
from include.warehouse import connect, scalar


class PublishError(RuntimeError):
    pass


@dataclass(frozen=True)
class PublishedTable:
    """A table of the snapshot: a warehouse table (``schema.table``, optionally a column list and a
    filter) or a frame. An optional source that the warehouse lacks is left out of the snapshot."""

    source: str | None = None
    columns: str = "*"
    where: str | None = None
    frame: pd.DataFrame | None = None
    required: bool = True


def _pii_names() -> set[str]:
    return {column for columns in load_contract().pii_columns.values() for column in columns}


def publish_snapshot(
    warehouse_path: Path,
    published_path: Path,
    tables: Mapping[str, PublishedTable],
    *,
    run_id: str,
    as_of_date: str,
) -> dict[str, int]:
    """Build every table in a new file, check it, and swap it in. Returns row counts per table."""
    published_path.parent.mkdir(parents=True, exist_ok=True)
    staging_path = published_path.with_name(f".{published_path.name}.{os.getpid()}.building")
    staging_path.unlink(missing_ok=True)
    counts: dict[str, int] = {}
    pii = _pii_names()
    # Read through a connection to the warehouse and write into the attached new file: the
    # warehouse may already be open in this process, which rules out attaching it a second time.
    con = connect(warehouse_path, read_only=True)
    try:
        con.execute(f"attach '{staging_path}' as snap (read_write)")
        existing = {
            f"{schema}.{table}"
            for schema, table in con.execute(
                "select schema_name, table_name from duckdb_tables() where database_name = current_database()"
            ).fetchall()
        }
        for name, spec in tables.items():
            if spec.frame is not None:
                con.register("_frame", spec.frame)
                con.execute(f'create table snap.main."{name}" as select * from _frame')
                con.unregister("_frame")
            elif spec.source in existing:
                where = f" where {spec.where}" if spec.where else ""
                con.execute(f'create table snap.main."{name}" as select {spec.columns} from {spec.source}{where}')
            elif spec.required:
                raise PublishError(f"cannot publish {name!r}: the warehouse has no table {spec.source}")
            else:
                continue
            columns = [row[0] for row in con.execute(f'describe snap.main."{name}"').fetchall()]
            leaked = pii.intersection(columns)
            if leaked:
                raise PublishError(f"refusing to publish {name!r}: it carries PII columns in clear {sorted(leaked)}")
            counts[name] = scalar(con, f'select count(*) from snap.main."{name}"')
        manifest = pd.DataFrame(
            {
                "run_id": [run_id],
                "as_of_date": [pd.Timestamp(as_of_date).date()],
                "published_at": [pd.Timestamp.now(tz="UTC")],
                "table_row_counts": [json.dumps(counts, sort_keys=True)],
            }
        )
        con.register("_manifest", manifest)
        con.execute("create table snap.main.publication as select * from _manifest")
        con.unregister("_manifest")
        con.execute("detach snap")
    except Exception:
        con.close()
        staging_path.unlink(missing_ok=True)
        raise
    con.close()
    os.replace(staging_path, published_path)
    return counts
