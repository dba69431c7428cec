"""Helpers for the simulator tests: read a source dir's table the way a reader of the layout would."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from include.bank_simulator import PARTITIONED


def table_files(source_dir: Path, name: str, fmt: str = "parquet") -> list[Path]:
    if name in PARTITIONED:
        return sorted((source_dir / name).glob(f"month=*/part-0.{fmt}"))
    return [source_dir / f"{name}.{fmt}"]


def read_parquet_table(source_dir: Path, name: str) -> pa.Table:
    files = table_files(source_dir, name)
    return pa.concat_tables([pq.read_table(f) for f in files])


@pytest.fixture(scope="session")
def bank(tiny_bank) -> dict:
    """The session's tiny bank (tests/conftest.py) with a DuckDB connection over its tables."""
    con = duckdb.connect()
    src = tiny_bank["source_dir"]
    for name in tiny_bank["manifest"]["tables"]:
        files = [str(f) for f in table_files(src, name)]
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet({files!r})")
    con.execute(f"CREATE VIEW truth AS SELECT * FROM read_parquet('{tiny_bank['truth_dir'] / 'churn_truth.parquet'}')")
    con.execute(f"CREATE VIEW traits AS SELECT * FROM read_parquet('{tiny_bank['truth_dir'] / 'customer_traits.parquet'}')")
    return {**tiny_bank, "con": con}
