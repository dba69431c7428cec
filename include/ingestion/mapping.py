"""A bank's own CSV export, mapped onto the raw contract by a declarative mapping file.

A mapping file (YAML, see include/mappings/churn_modelling.yml and docs/ingestion.md) says:

- ``source``: the export's path (relative paths resolve against the project root) and encoding;
- ``as_of_date``: the date the export describes, for exports without dates (a snapshot);
- ``tables``: for each contract table it can fill, one or more row sets. A row set has an
  optional ``where`` (a SQL condition on the source columns) and ``columns``: contract column ->
  ``{source: <column>}``, optionally with ``map: {source value: contract value}`` (values not
  in the map are kept, so the contract quarantines them), or ``{value: <constant>}``, or
  ``{expr: <DuckDB SQL expression>}``. ``{as_of_date}`` in ``where``/``expr`` is replaced by the
  as-of date. A table with several row sets (one source row -> several products) is their union.

Every source value is read as text and every produced row goes through the same contract
enforcement as any other source, so a bad value is quarantined with the export's line number.
Contract tables the mapping does not mention stay empty; source columns it does not use are
reported. Another bank's export needs only a new mapping file.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import yaml

from include.config import PROJECT_ROOT
from include.contract import load_contract
from include.ingestion.core import (
    IngestionError,
    LoadFailed,
    LoadReport,
    SchemaDriftError,
    load_relation,
    new_load_id,
    open_warehouse,
    qi,
    ql,
    select_tables,
    table_load,
    utcnow,
)
from include.ingestion.files import stage_csv_file


class MappingError(IngestionError):
    """The mapping file itself is wrong (unknown table or column, bad expression)."""


@dataclass
class RowSet:
    columns: dict[str, dict[str, Any]]
    where: str | None = None


@dataclass
class Mapping:
    path: Path
    name: str
    source_path: Path
    encoding: str
    as_of_date: dt.date | None
    tables: dict[str, list[RowSet]]
    label: str | None = None
    assumptions: list[str] = field(default_factory=list)

    def source_columns_used(self, names: list[str]) -> set[str]:
        """Which of the export's columns the mapping reads (by name or inside an expression)."""
        texts = []
        for row_sets in self.tables.values():
            for rs in row_sets:
                texts.append(rs.where or "")
                for spec in rs.columns.values():
                    texts.append(str(spec.get("source", "")) + " " + str(spec.get("expr", "")))
        blob = " ".join(texts).lower()
        return {n for n in names if re.search(r"(?<![a-z0-9_])" + re.escape(n.lower()) + r"(?![a-z0-9_])", blob)}


def load_mapping(mapping_file: str | Path, *, source_path: str | Path | None = None) -> Mapping:
    """Parse and check a mapping file against the contract."""
    path = Path(mapping_file)
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or "tables" not in doc or "source" not in doc:
        raise MappingError(f"mapping {path}: expected top-level keys 'source' and 'tables'")
    contract = load_contract()
    src = Path(source_path) if source_path else Path(doc["source"]["path"])
    if not src.is_absolute():
        src = (PROJECT_ROOT / src).resolve()
    as_of = doc.get("as_of_date")
    tables: dict[str, list[RowSet]] = {}
    for tname, spec in doc["tables"].items():
        table = contract.tables.get(tname)
        if table is None:
            raise MappingError(f"mapping {path}: {tname!r} is not a contract table ({', '.join(contract.tables)})")
        row_sets = spec if isinstance(spec, list) else [spec]
        parsed = []
        for rs in row_sets:
            cols = {}
            for cname, cspec in rs["columns"].items():
                if cname not in table.column_names:
                    raise MappingError(f"mapping {path}: table {tname!r} has no contract column {cname!r}")
                if not isinstance(cspec, dict):
                    cspec = {"source": cspec}
                if not ({"source", "value", "expr"} & set(cspec)):
                    raise MappingError(f"mapping {path}: {tname}.{cname} needs one of source, value or expr")
                cols[cname] = cspec
            parsed.append(RowSet(columns=cols, where=rs.get("where")))
        tables[tname] = parsed
    return Mapping(
        path=path, name=doc.get("name", path.stem), source_path=src,
        encoding=doc["source"].get("encoding", "utf-8"),
        as_of_date=dt.date.fromisoformat(str(as_of)) if as_of else None,
        tables=tables, label=doc.get("label"), assumptions=list(doc.get("assumptions") or []),
    )


def _substitute(text: str, mapping: Mapping) -> str:
    if "{as_of_date}" in text and mapping.as_of_date is None:
        raise MappingError(f"mapping {mapping.path}: uses {{as_of_date}} but defines no as_of_date")
    return text.replace("{as_of_date}", mapping.as_of_date.isoformat() if mapping.as_of_date else "")


def _column_sql(spec: dict[str, Any], mapping: Mapping) -> str:
    if "value" in spec:
        return "NULL" if spec["value"] is None else ql(_substitute(str(spec["value"]), mapping))
    if "expr" in spec:
        return f"({_substitute(str(spec['expr']), mapping)})"
    ref = qi(spec["source"])
    if "map" in spec:
        cases = " ".join(f"WHEN {ql(k)} THEN {'NULL' if v is None else ql(v)}" for k, v in spec["map"].items())
        return f"CASE trim({ref}) {cases} ELSE {ref} END"
    return ref


def ingest_mapped(
    mapping_file: str | Path,
    warehouse_path: str | Path,
    *,
    source_path: str | Path | None = None,
    now: dt.datetime | None = None,
    memory_limit: str | None = None,
    threads: int | None = None,
    raise_on_failure: bool = True,
) -> list[LoadReport]:
    """Load a bank's CSV export through its mapping file into ``raw``; one report per contract
    table the mapping fills. ``mapping_file`` is a path or a name of include/mappings/."""
    mapping = load_mapping(resolve_mapping(mapping_file), source_path=source_path)
    if not mapping.source_path.is_file():
        raise IngestionError(f"mapping {mapping.path}: source file {mapping.source_path} does not exist")
    con = open_warehouse(warehouse_path, memory_limit=memory_limit, threads=threads)
    load_id = new_load_id("mapped")
    reports: list[LoadReport] = []
    errors: list[Exception] = []
    temp_tables: list[str] = []
    source = str(mapping.source_path)
    try:
        relation, names, rejects = stage_csv_file(con, mapping.source_path, "_mapped", mapping.encoding, temp_tables)
        present = {n.lower() for n in names}
        used = mapping.source_columns_used(names)
        unused = [n for n in names if n not in used]
        for i, table in enumerate(select_tables(list(mapping.tables))):
            report = LoadReport(load_id, table.name, source=source, source_kind="mapping", started_at=utcnow())
            reports.append(report)
            with table_load(con, report, errors):
                parts = []
                for rs in mapping.tables[table.name]:
                    for cname, spec in rs.columns.items():
                        if "source" in spec and spec["source"].lower() not in present:
                            raise SchemaDriftError(table.name, f"{source} (mapping {mapping.path.name}, column {cname})",
                                                   spec["source"])
                    exprs = [f"{_column_sql(rs.columns[c.name], mapping)} AS {qi(c.name)}"
                             for c in table.columns if c.name in rs.columns]
                    where = f" WHERE {_substitute(rs.where, mapping)}" if rs.where else ""
                    parts.append(f"SELECT {', '.join(exprs)}, _source, _row FROM ({relation}) AS _export{where}")
                report.drift.extra = unused
                produced = {c for rs in mapping.tables[table.name] for c in rs.columns}
                rel = " UNION ALL BY NAME ".join(f"({p})" for p in parts)
                # Every row set's values are cast to text first: the contract decides on types.
                text = f"SELECT * REPLACE ({', '.join(f'CAST({qi(c)} AS VARCHAR) AS {qi(c)}' for c in produced)}) FROM ({rel})"
                try:
                    con.execute(f"DESCRIBE {text}")
                except duckdb.Error as exc:
                    raise MappingError(
                        f"mapping {mapping.path}: table {table.name!r} does not compile against {source}: "
                        f"{str(exc).splitlines()[0]}") from exc
                try:
                    load_relation(
                        con, table, text, source_columns=dict.fromkeys(produced, "VARCHAR"), report=report,
                        watermark_source=f"mapping:{mapping.name}:{source}", now=now, row_prefix="line ",
                        # A line DuckDB could not read is one export record: quarantined once, with the first table.
                        pre_quarantined_sql=rejects if i == 0 else None,
                        use_watermark=False,
                    )
                except duckdb.Error as exc:
                    raise MappingError(
                        f"mapping {mapping.path}: table {table.name!r} failed on a source value: "
                        f"{str(exc).splitlines()[0]} (expressions should not fail on bad values: use the "
                        f"TRY_ forms, e.g. TRY_CAST, try_strptime, and let the contract quarantine the row)"
                    ) from exc
                note = [f"mapping {mapping.path.name}"]
                if mapping.as_of_date:
                    note.append(f"as_of_date {mapping.as_of_date} assumed")
                report.message = " | ".join([*note, *([report.message] if report.message else [])])
                con.execute("UPDATE raw.load_log SET message = ? WHERE load_id = ? AND table_name = ?",
                            [report.message, load_id, table.name])
    finally:
        for t in temp_tables:
            con.execute(f"DROP TABLE IF EXISTS {t}")
        con.close()
    if errors and raise_on_failure:
        raise LoadFailed(reports, errors)
    return reports


MAPPINGS_DIR = PROJECT_ROOT / "include" / "mappings"
# Freshness checks of the raw gate that watch a continuous feed (the latest day is there, the
# month's days are covered). A one-snapshot export describes one day: they cannot apply to it.
FEED_CHECKS = ("partition_reaches_as_of_date", "partition_complete")


def resolve_mapping(name_or_path: str | Path) -> Path:
    """A mapping file from a path (absolute or relative to the project root) or a bare name of
    include/mappings/ (``churn_modelling`` -> include/mappings/churn_modelling.yml)."""
    candidates = [Path(name_or_path)]
    if not candidates[0].is_absolute():
        candidates.append(PROJECT_ROOT / candidates[0])
    name = str(name_or_path)
    if "/" not in name and not name.endswith((".yml", ".yaml")):
        candidates += [MAPPINGS_DIR / f"{name}.yml", MAPPINGS_DIR / f"{name}.yaml"]
    for c in candidates:
        if c.is_file():
            return c.resolve()
    known = ", ".join(sorted(p.stem for p in MAPPINGS_DIR.glob("*.y*ml"))) or "none"
    raise MappingError(f"no mapping file {name_or_path!r} (a path, or a name in {MAPPINGS_DIR}: {known})")


def mapping_as_of_date(mapping_file: str | Path) -> dt.date | None:
    """The as-of date a mapping assumes (downstream runs use it as the run's as_of_date)."""
    return load_mapping(resolve_mapping(mapping_file)).as_of_date


def gate_exemptions(mapping_file: str | Path) -> dict[tuple[str, str], str]:
    """Raw data-quality checks that cannot apply to a one-snapshot export, with the reason:
    ``{(raw table, check family or expectation name): reason}`` for
    :func:`include.quality.run_gate` (``not_applicable``).

    A snapshot (a mapping with an ``as_of_date``) is not a feed: the tables the mapping does not
    fill stay empty, so their freshness checks are moot; the tables it fills hold the one day it
    describes, so "reaches the as-of date" holds but "covers the month's days" cannot. Every
    other check (schema, keys, required values, domains, orphans, volume, distribution, and that
    each filled table has rows for the as-of date) still runs. A mapping without an as_of_date
    (a recurring export) gets no exemption."""
    mapping = load_mapping(resolve_mapping(mapping_file))
    if mapping.as_of_date is None:
        return {}
    out: dict[tuple[str, str], str] = {}
    for table in load_contract().tables:
        if table not in mapping.tables:
            out[(f"raw.{table}", "freshness")] = (
                f"the export (mapping {mapping.name}) does not carry {table}: the table stays empty and the "
                "indicators built on it are null")
        else:
            for check in FEED_CHECKS:
                out[(f"raw.{table}", check)] = (
                    f"a one-snapshot export (mapping {mapping.name}, as of {mapping.as_of_date}) is not a daily feed")
    return out

