"""Files: CSV and Parquet, a source directory, one file or a glob (plan 3.3(1)).

A source directory holds one table as ``<dir>/<table>.parquet|.csv`` or as a folder
``<dir>/<table>/**`` of files (e.g. ``transactions/month=2024-01/part-0.parquet``). A file or a
glob outside that layout is attributed to a table by its file name or by the nearest folder named
after a contract table, or by ``tables=[name]`` when exactly one table is asked for.

Parquet is read by DuckDB with its own types (``filename``/``file_row_number`` give the source
row); CSV is read with every column as text (``all_varchar``) so that a bad value is quarantined
rather than failing the file, and with ``store_rejects`` so that a line DuckDB cannot parse (bad
encoding, wrong number of fields) is quarantined with its line number instead of stopping the load.
"""

from __future__ import annotations

import datetime as dt
import glob as globmod
from pathlib import Path

import duckdb

from include.contract import Table, load_contract
from include.ingestion.core import (
    IngestionError,
    LoadFailed,
    LoadReport,
    check_required,
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

FILE_SUFFIXES = (".parquet", ".csv")
# Up to this many Parquet files, each gets its own scan tagged with its index (cheapest per row).
MAX_TAGGED_SCANS = 400


def _data_files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in FILE_SUFFIXES and not any(part.startswith(("_", ".")) for part in p.relative_to(folder).parts)
    )


def _table_of(path: Path, names: set[str]) -> str | None:
    if path.stem in names:
        return path.stem
    for parent in path.parents:
        if parent.name in names:
            return parent.name
    return None


def discover(source: str | Path, tables: list[str] | None = None) -> dict[str, list[Path]]:
    """Map contract table -> data files for a source directory, a file or a glob."""
    names = set(load_contract().tables)
    wanted = set(tables) if tables else names
    source_str = str(source)
    found: dict[str, list[Path]] = {}
    path = Path(source_str)
    if path.is_dir():
        for name in sorted(wanted):
            files = [path / f"{name}{ext}" for ext in FILE_SUFFIXES if (path / f"{name}{ext}").is_file()]
            if (path / name).is_dir():
                files += _data_files(path / name)
            if files:
                found[name] = files
        return found
    matches = [Path(p) for p in sorted(globmod.glob(source_str, recursive=True))] if not path.is_file() else [path]
    matches = [p for p in matches if p.is_file() and p.suffix.lower() in FILE_SUFFIXES]
    if not matches:
        raise IngestionError(f"no CSV or Parquet file matches {source_str}")
    for p in matches:
        name = _table_of(p.resolve(), names)
        if name is None and tables and len(tables) == 1:
            name = tables[0]
        if name is None:
            raise IngestionError(
                f"cannot tell which raw table {p} belongs to: name the file or its folder after a "
                f"contract table, or pass tables=[<table>]"
            )
        if name in wanted:
            found.setdefault(name, []).append(p)
    return found


def _parquet_relation(con: duckdb.DuckDBPyConnection, table: Table, files: list[Path], report: LoadReport):
    file_list = "[" + ", ".join(ql(str(f)) for f in files) + "]"
    per_file = con.execute(
        f"SELECT file_name, list(name) FROM parquet_schema({file_list}) WHERE num_children IS NULL GROUP BY 1"
    ).fetchall()
    for file_name, names in per_file:
        merge_drift(report.drift, table, file_name, names)
    check_required(table, report.drift)
    # One scan per file, tagged with the file's index: an integer per row instead of a path.
    scans = [f"read_parquet({ql(str(f))}, file_row_number = true, hive_partitioning = false)" for f in files]
    types: dict[str, str] = {}
    for name, dtype, *_ in con.execute(
            f"DESCRIBE SELECT * FROM read_parquet({file_list}, union_by_name = true, hive_partitioning = false)").fetchall():
        types[name] = dtype
    if len(files) > MAX_TAGGED_SCANS:
        # Too many files for one scan each: one scan, the path per row (slower, still set-based).
        relation = (f"SELECT * EXCLUDE (filename, file_row_number), list_position({file_list}, filename) AS _source, "
                    f"file_row_number + 1 AS _row FROM read_parquet({file_list}, union_by_name = true, filename = true, "
                    f"file_row_number = true, hive_partitioning = false)")
        return relation, types
    relation = " UNION ALL BY NAME ".join(
        f"(SELECT * EXCLUDE (file_row_number), {i} AS _source, file_row_number + 1 AS _row FROM {scan})"
        for i, scan in enumerate(scans, start=1)
    )
    return relation, types


def stage_csv_file(con: duckdb.DuckDBPyConnection, path: Path, name: str, encoding: str,
                   temp_tables: list[str]) -> tuple[str, list[str], str | None]:
    """Read one CSV file as text into a temp table. Returns (relation with ``_source`` and
    ``_row`` = line number, the file's column names, SQL of the lines DuckDB rejected or None)."""
    stage, rej, scans = f"{name}_stage", f"{name}_rej", f"{name}_scan"
    temp_tables.extend([stage, rej, scans, f"{rej}_pos"])
    con.execute(f"DROP TABLE IF EXISTS {rej}")
    con.execute(f"DROP TABLE IF EXISTS {scans}")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {stage} AS SELECT *, row_number() OVER () AS _k
        FROM read_csv({ql(str(path))}, all_varchar = true, header = true, encoding = {ql(encoding)},
                      store_rejects = true, rejects_table = {ql(rej)}, rejects_scan = {ql(scans)},
                      allow_quoted_nulls = false, hive_partitioning = false)"""
    )
    names = [r[0] for r in con.execute(f"DESCRIBE {stage}").fetchall() if r[0] != "_k"]
    n_rej = con.execute(f"SELECT count(*) FROM {rej}").fetchone()[0]
    rejects = None
    if n_rej:
        # DuckDB numbers lines by record (header = line 1). The k-th accepted record sits after
        # every rejected line that fewer than k accepted records precede.
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE {rej}_pos AS
            SELECT a, sum(n) OVER (ORDER BY a) AS before FROM (
                SELECT a, count(*) AS n FROM (
                    SELECT line - row_number() OVER (ORDER BY line) - 1 AS a
                    FROM (SELECT DISTINCT line FROM {rej})) GROUP BY a)"""
        )
        row_expr, src = "s._k + 1 + coalesce(p.before, 0)", f"{stage} s ASOF LEFT JOIN {rej}_pos p ON s._k > p.a"
        rejects = (
            f"""SELECT {ql(str(path))} AS _source, 'line ' || CAST(line AS VARCHAR) AS _row,
                   'unreadable CSV record: ' || error_type || ' (' || error_message || ')' AS reason,
                   to_json(struct_pack(csv_line := csv_line)) AS payload
            FROM (SELECT line, any_value(error_type) AS error_type, any_value(error_message) AS error_message,
                         any_value(csv_line) AS csv_line FROM {rej} GROUP BY line)"""
        )
    else:
        row_expr, src = "s._k + 1", f"{stage} s"
    relation = f"SELECT s.* EXCLUDE (_k), {ql(str(path))} AS _source, {row_expr} AS _row FROM {src}"
    return relation, names, rejects


def _csv_relation(con: duckdb.DuckDBPyConnection, table: Table, files: list[Path], report: LoadReport,
                  encoding: str, temp_tables: list[str]):
    """Stage each CSV file as text with its line numbers; collect the lines DuckDB rejected."""
    parts, rejects = [], []
    all_types: dict[str, str] = {}
    for i, f in enumerate(files):
        relation, names, rej = stage_csv_file(con, f, f"_csv_{i}", encoding, temp_tables)
        merge_drift(report.drift, table, str(f), names)
        all_types.update(dict.fromkeys(names, "VARCHAR"))
        parts.append(relation)
        if rej:
            rejects.append(rej)
    check_required(table, report.drift)
    relation = " UNION ALL BY NAME ".join(f"({p})" for p in parts)
    return relation, all_types, (" UNION ALL ".join(rejects) if rejects else None)


def ingest_files(
    source_dir: str | Path,
    warehouse_path: str | Path,
    *,
    tables: list[str] | None = None,
    now: dt.datetime | None = None,
    csv_encoding: str = "utf-8",
    memory_limit: str | None = None,
    threads: int | None = None,
    raise_on_failure: bool = True,
    full_refresh: bool = False,
) -> list[LoadReport]:
    """Load the contract tables found under ``source_dir`` (a directory, a file or a glob) into
    ``raw``. One LoadReport per table asked for (status ``no_source`` when the source has none).

    A table whose source lacks a required column is not loaded (its load_log row says why); the
    other tables still load, and :class:`LoadFailed` is raised at the end unless
    ``raise_on_failure`` is false. ``full_refresh`` reads every row again, ignoring the stored
    watermarks (to take corrected historical rows); identical rows are still skipped."""
    found = discover(source_dir, tables)
    source_key = str(Path(source_dir).resolve()) if Path(source_dir).exists() else str(source_dir)
    con = open_warehouse(warehouse_path, memory_limit=memory_limit, threads=threads)
    load_id = new_load_id("files")
    reports: list[LoadReport] = []
    errors: list[Exception] = []
    try:
        for table in select_tables(tables):
            files = found.get(table.name, [])
            report = LoadReport(load_id, table.name, source=source_key, source_kind="files", started_at=utcnow())
            reports.append(report)
            if not files:
                record_no_source(con, report)
                continue
            if len(files) == 1:
                report.source = str(files[0])
            temp_tables: list[str] = []
            try:
                with table_load(con, report, errors):
                    parquet = [f for f in files if f.suffix.lower() == ".parquet"]
                    csv = [f for f in files if f.suffix.lower() == ".csv"]
                    pre_q = None
                    if parquet and csv:
                        # Mixed formats for one table: compare as text, label each row with its kind.
                        rel_p, types_p = _parquet_relation(con, table, parquet, report)
                        rel_c, types_c, pre_q = _csv_relation(con, table, csv, report, csv_encoding, temp_tables)
                        types = dict.fromkeys([*types_p, *types_c], "VARCHAR")
                        names_p = "[" + ", ".join(ql(str(f)) for f in parquet) + "]"
                        as_text = ", ".join(f"CAST({qi(k)} AS VARCHAR) AS {qi(k)}" for k in types_p)
                        relation = (
                            f"(SELECT * REPLACE ({as_text}, list_extract({names_p}, _source) AS _source, "
                            f"'row ' || CAST(_row AS VARCHAR) AS _row) FROM ({rel_p})) "
                            f"UNION ALL BY NAME (SELECT * REPLACE ('line ' || CAST(_row AS VARCHAR) AS _row) FROM ({rel_c}))"
                        )
                        prefix, names, trim = "", None, True
                    elif parquet:
                        relation, types = _parquet_relation(con, table, parquet, report)
                        prefix, names, trim = "row ", [str(f) for f in parquet], False
                    else:
                        relation, types, pre_q = _csv_relation(con, table, csv, report, csv_encoding, temp_tables)
                        prefix, names, trim = "line ", None, True
                    load_relation(
                        con, table, relation, source_columns=types, report=report, watermark_source=source_key,
                        now=now, pre_quarantined_sql=pre_q, row_prefix=prefix, source_names=names, trim_text=trim,
                        incremental=not full_refresh,
                    )
            finally:
                for t in temp_tables:
                    con.execute(f"DROP TABLE IF EXISTS {t}")
    finally:
        con.close()
    if errors and raise_on_failure:
        raise LoadFailed(reports, errors)
    return reports
