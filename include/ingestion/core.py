"""The contract-enforcing load shared by every source (plan 2.1 "organise": clean, de-duplicate;
plan 3.3(1) data collection).

Each source (files, PostgreSQL, HTTP API, a mapped export) only has to present its rows as a
DuckDB relation with the contract's column names (any type; text is fine) plus two lineage
columns, ``_source`` (file, table or URL) and ``_row`` (line, key or page position). Everything
else happens here, inside DuckDB and set-based, so a 10 M-row batch costs a few scans:

1. keep the rows at or above the table's stored watermark (incremental);
2. TRY_CAST every column to its contract type and collect, per row, every contract violation
   (uncastable value, missing required value, value outside accepted_values/min/max, a date in
   the future) into ``_reason``;
3. among the remaining rows, a primary key seen more than once in the batch keeps its first
   occurrence (by source, then row) and quarantines the others;
4. rows whose key is already in ``raw`` are skipped when identical (a rerun adds nothing) and
   replace the stored row when they differ (an upsert by primary key);
5. quarantined rows go to ``raw.quarantine`` with reason, source and the raw values as JSON,
   except rows an earlier load already quarantined identically (a rerun adds nothing there either);
6. the watermark advances to the largest value among the rows loaded (never from a quarantined
   row, so one future-dated record cannot block the next months), and ``raw.load_log`` records

       rows_read = rows_loaded + rows_quarantined + rows_skipped_duplicate

   which is asserted before the transaction commits. On a first load rows_skipped_duplicate is 0,
   so read = loaded + quarantined.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from include.contract import Column, Table, load_contract

# Dates that may legitimately lie in the future: a product's contractual maturity.
FUTURE_ALLOWED_COLUMNS = frozenset({"maturity_date"})

RAW_SCHEMA = "raw"


class IngestionError(Exception):
    """A load could not run; the message names the table, the source and what is wrong."""


class SchemaDriftError(IngestionError):
    """A source lacks a column the contract requires (a missing or renamed required column)."""

    def __init__(self, table: str, source: str, column: str, renamed_to: str | None = None):
        self.table = table
        self.source = source
        self.column = column
        self.renamed_to = renamed_to
        hint = f" (column {renamed_to!r} looks like it was renamed from it)" if renamed_to else ""
        super().__init__(
            f"table {table!r}: source {source} has no column {column!r}, which the raw contract "
            f"requires{hint}; nothing was loaded for this table"
        )


class LoadFailed(IngestionError):
    """Raised after a multi-table load when one or more tables failed; carries every report."""

    def __init__(self, reports: list[LoadReport], errors: list[Exception]):
        self.reports = reports
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


@dataclass
class SchemaDrift:
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)  # contract column -> source column
    where: dict[str, list[str]] = field(default_factory=dict)  # column -> sources it concerns

    def __bool__(self) -> bool:
        return bool(self.missing or self.extra or self.renamed)

    def messages(self) -> list[str]:
        out = []
        for c in self.missing:
            guess = f" (renamed to {self.renamed[c]!r}?)" if c in self.renamed else ""
            out.append(f"missing column {c!r}{guess}" + _in(self.where.get(c)))
        for c in self.extra:
            out.append(f"extra column {c!r} (ignored)" + _in(self.where.get(c)))
        return out


def _in(sources: list[str] | None) -> str:
    if not sources:
        return ""
    shown = ", ".join(sources[:3]) + (f" and {len(sources) - 3} more" if len(sources) > 3 else "")
    return f" in {shown}"


@dataclass
class LoadReport:
    load_id: str
    table_name: str
    source: str
    source_kind: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_skipped_duplicate: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    status: str = "success"  # success | failed | no_source
    message: str = ""
    drift: SchemaDrift = field(default_factory=SchemaDrift)
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    watermark_before: str | None = None
    watermark_after: str | None = None
    orphans: dict[str, int] = field(default_factory=dict)  # "customer_id -> customers.customer_id": rows
    step_seconds: dict[str, float] = field(default_factory=dict)
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None

    def check_identity(self) -> None:
        total = self.rows_loaded + self.rows_quarantined + self.rows_skipped_duplicate
        if self.rows_read != total:
            raise AssertionError(
                f"load {self.load_id} of {self.table_name}: rows_read {self.rows_read} != loaded "
                f"{self.rows_loaded} + quarantined {self.rows_quarantined} + skipped duplicates "
                f"{self.rows_skipped_duplicate}"
            )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["drift_messages"] = self.drift.messages()
        for k in ("started_at", "finished_at"):
            d[k] = d[k].isoformat() if d[k] else None
        return d


# --------------------------------------------------------------------------------------------
# warehouse set-up


def qi(name: str) -> str:
    """Quote an identifier."""
    return '"' + name.replace('"', '""') + '"'


def ql(value: Any) -> str:
    """Quote a literal for generated SQL (values come from the contract or our own code)."""
    return "'" + str(value).replace("'", "''") + "'"


def raw_table(name: str) -> str:
    return f"{RAW_SCHEMA}.{qi(name)}"


def ensure_raw_schema(con: duckdb.DuckDBPyConnection, tables: Iterable[Table] | None = None) -> None:
    """Create the raw schema, its contract tables and the bookkeeping tables (idempotent)."""
    contract = load_contract()
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
    for table in tables or contract.tables.values():
        cols = ", ".join(f"{qi(c.name)} {c.type}" for c in table.columns)
        con.execute(f"CREATE TABLE IF NOT EXISTS {raw_table(table.name)} ({cols})")
        # The contract only grows (additive changes): a column added since the table was created
        # is added here, NULL for the rows loaded before.
        existing = {r[0].lower() for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
            [RAW_SCHEMA, table.name]).fetchall()}
        for c in table.columns:
            if c.name.lower() not in existing:
                con.execute(f"ALTER TABLE {raw_table(table.name)} ADD COLUMN {qi(c.name)} {c.type}")
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}.quarantine (
            load_id VARCHAR, table_name VARCHAR, source VARCHAR, source_row VARCHAR,
            reason VARCHAR, payload VARCHAR, quarantined_at TIMESTAMP)"""
    )
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}.load_log (
            load_id VARCHAR, table_name VARCHAR, source VARCHAR,
            rows_read BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT,
            started_at TIMESTAMP, finished_at TIMESTAMP, status VARCHAR, message VARCHAR,
            source_kind VARCHAR, rows_skipped_duplicate BIGINT, rows_inserted BIGINT,
            rows_updated BIGINT, watermark_before VARCHAR, watermark_after VARCHAR,
            schema_drift VARCHAR)"""
    )
    con.execute(
        f"""CREATE TABLE IF NOT EXISTS {RAW_SCHEMA}.watermarks (
            table_name VARCHAR, source VARCHAR, watermark_column VARCHAR, watermark_value VARCHAR,
            load_id VARCHAR, updated_at TIMESTAMP)"""
    )


def new_load_id(prefix: str = "load") -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    return f"{prefix}_{stamp}_{uuid.uuid4().hex[:8]}"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def get_watermark(con: duckdb.DuckDBPyConnection, table: str, source: str) -> str | None:
    row = con.execute(
        f"SELECT watermark_value FROM {RAW_SCHEMA}.watermarks WHERE table_name = ? AND source = ?",
        [table, source],
    ).fetchone()
    return row[0] if row else None


def _set_watermark(con, table: Table, source: str, value: str, load_id: str) -> None:
    con.execute(f"DELETE FROM {RAW_SCHEMA}.watermarks WHERE table_name = ? AND source = ?", [table.name, source])
    con.execute(
        f"INSERT INTO {RAW_SCHEMA}.watermarks VALUES (?, ?, ?, ?, ?, ?)",
        [table.name, source, table.watermark, value, load_id, utcnow()],
    )


def write_load_log(con: duckdb.DuckDBPyConnection, report: LoadReport) -> None:
    con.execute(
        f"INSERT INTO {RAW_SCHEMA}.load_log VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [
            report.load_id, report.table_name, report.source, report.rows_read, report.rows_loaded,
            report.rows_quarantined, report.started_at, report.finished_at, report.status,
            report.message, report.source_kind, report.rows_skipped_duplicate, report.rows_inserted,
            report.rows_updated, report.watermark_before, report.watermark_after,
            json.dumps({"missing": report.drift.missing, "extra": report.drift.extra,
                        "renamed": report.drift.renamed}) if report.drift else None,
        ],
    )


# --------------------------------------------------------------------------------------------
# schema drift


def _norm(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def compare_columns(table: Table, source_columns: Iterable[str]) -> tuple[list[str], list[str], dict[str, str]]:
    """Return (missing, extra, renamed) for one source's column list against the contract.

    Names compare case-insensitively (DuckDB does). A missing contract column and an extra source
    column that look alike (same letters ignoring case and punctuation, or a close spelling) are
    reported as a rename, so the message points at the likely cause; so is the pair when exactly one
    column is missing and one is extra. An absent ``source_optional`` column is not missing."""
    import difflib

    present = {c.lower(): c for c in source_columns if not c.startswith("_")}
    wanted = [c.name for c in table.columns]
    # A source_optional column may be absent by design (not every bank holds it): not drift.
    missing = [c.name for c in table.columns if c.name.lower() not in present and not c.source_optional]
    extra = [c for lc, c in present.items() if lc not in {w.lower() for w in wanted}]
    renamed: dict[str, str] = {}
    pool = list(extra)
    if len(missing) == 1 and len(extra) == 1:
        # One column gone and one unknown column in its place: most likely a rename.
        return missing, extra, {missing[0]: extra[0]}
    for m in missing:
        same = [e for e in pool if _norm(e) == _norm(m)]
        close = same or difflib.get_close_matches(m.lower(), [e.lower() for e in pool], n=1, cutoff=0.6)
        if close:
            match = next(e for e in pool if e.lower() == close[0].lower())
            renamed[m] = match
            pool.remove(match)
    return missing, extra, renamed


def merge_drift(drift: SchemaDrift, table: Table, source: str, source_columns: Iterable[str]) -> None:
    missing, extra, renamed = compare_columns(table, source_columns)
    for c in missing:
        if c not in drift.missing:
            drift.missing.append(c)
        drift.where.setdefault(c, []).append(source)
    for c in extra:
        if c not in drift.extra:
            drift.extra.append(c)
        drift.where.setdefault(c, []).append(source)
    drift.renamed.update(renamed)


def check_required(table: Table, drift: SchemaDrift) -> None:
    for col in table.required_columns:
        if col in drift.missing:
            where = drift.where.get(col) or ["the source"]
            raise SchemaDriftError(table.name, ", ".join(where[:3]), col, drift.renamed.get(col))


# --------------------------------------------------------------------------------------------
# the load


def _checks(col: Column, typed: str, raw: str, now_sql: str, src_type: str) -> list[tuple[str, str]]:
    """(condition, reason) pairs for one column; conditions are true for a violating row."""
    out = []
    if src_type.upper() == "BLOB" and col.type.upper() == "VARCHAR":
        out.append((f"{raw} IS NOT NULL AND {typed} IS NULL", f"{col.name}: not valid UTF-8 text (bad encoding)"))
    elif src_type.upper().replace(" ", "") != col.type.upper().replace(" ", ""):
        out.append((f"{raw} IS NOT NULL AND {typed} IS NULL", f"{col.name}: cannot cast to {col.type}"))
    if col.required:
        out.append((f"{raw} IS NULL", f"{col.name}: required value missing"))
    if col.type.upper() == "VARCHAR":
        # U+FFFD is what a decoder leaves for bytes it could not read: the original text is lost
        # upstream (an API or database fed with another encoding), so the row is held back.
        out.append((f"contains({typed}, '\ufffd')",
                    f"{col.name}: contains U+FFFD replacement characters (text decoded with a wrong encoding)"))
    if col.accepted_values is not None:
        values = ", ".join(f"CAST({ql(v)} AS {col.type})" for v in col.accepted_values)
        out.append((f"{typed} NOT IN ({values})", f"{col.name}: not in accepted values"))
    if col.min is not None:
        out.append((f"{typed} < CAST({ql(col.min)} AS {col.type})", f"{col.name}: below minimum {col.min}"))
    if col.max is not None:
        out.append((f"{typed} > CAST({ql(col.max)} AS {col.type})", f"{col.name}: above maximum {col.max}"))
    if col.type.upper() in ("DATE", "TIMESTAMP") and col.name not in FUTURE_ALLOWED_COLUMNS:
        out.append((f"{typed} > CAST({now_sql} AS {col.type})", f"{col.name}: in the future"))
    return out


def _count(con, sql: str, params: list | None = None) -> int:
    return int(con.execute(sql, params or []).fetchone()[0])


def load_relation(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    relation_sql: str,
    *,
    source_columns: dict[str, str],
    report: LoadReport,
    watermark_source: str,
    now: dt.datetime | None = None,
    pre_quarantined_sql: str | None = None,
    use_watermark: bool = True,
    incremental: bool = True,
    row_prefix: str = "",
    source_names: list[str] | None = None,
    trim_text: bool = True,
) -> LoadReport:
    """Validate ``relation_sql`` against the contract and load it into ``raw.<table>``.

    ``relation_sql`` yields the source's columns (``source_columns``: name -> DuckDB type, names
    as the contract spells them; contract columns absent from it load as NULL) plus ``_source``
    VARCHAR and ``_row`` (any type that sorts in source order; shown as ``row_prefix`` + ``_row`` in
    the quarantine, e.g. "line 17"). With ``source_names``, ``_source`` is instead a 1-based index
    into that list (an integer per row is much cheaper than a file path per row). ``pre_quarantined_sql`` optionally yields rows the reader
    itself rejected (``_source, _row, reason, payload``), e.g. CSV lines with a bad encoding.
    ``incremental=False`` reads past the stored watermark (a full refresh: corrected historical
    rows are upserted, identical ones skipped); the watermark still advances.
    Runs in one transaction with the load-log row; the caller owns the connection."""
    now = now or utcnow()
    now_sql = f"TIMESTAMP {ql(now.strftime('%Y-%m-%d %H:%M:%S'))}"
    target = raw_table(table.name)
    cols = table.columns
    lower = {k.lower(): (k, v) for k, v in source_columns.items()}

    raw_exprs, typed_exprs = [], []
    for c in cols:
        if c.name.lower() in lower:
            src_name, src_type = lower[c.name.lower()]
            ref = qi(src_name)
            if src_type.upper() == "VARCHAR":
                # Text exports pad values; a typed file's strings are taken as they are (cheaper).
                raw_e = f"NULLIF(trim({ref}), '')" if trim_text else f"NULLIF({ref}, '')"
            else:
                raw_e = ref
            if src_type.upper() == c.type.upper().replace(" ", ""):
                typed_e = raw_e
            elif c.type.upper() == "VARCHAR" and src_type.upper() == "BLOB":
                # Text stored as bytes: decode as UTF-8; bytes in another encoding fail and are quarantined.
                typed_e = f"TRY(decode({raw_e}))"
            elif c.type.upper() == "BOOLEAN" and src_type.upper() == "VARCHAR":
                # Exports write booleans as true/false, t/f, 1/0 or yes/no.
                typed_e = (f"CASE lower({raw_e}) WHEN 'yes' THEN true WHEN 'no' THEN false "
                           f"ELSE TRY_CAST({raw_e} AS BOOLEAN) END")
            else:
                typed_e = f"TRY_CAST({raw_e} AS {c.type})"
        else:
            raw_e, typed_e = "CAST(NULL AS VARCHAR)", f"CAST(NULL AS {c.type})"
        raw_exprs.append(raw_e)
        typed_exprs.append(typed_e)

    wm_before = get_watermark(con, table.name, watermark_source) if (use_watermark and table.watermark) else None
    report.watermark_before = wm_before
    where = "TRUE"
    if wm_before is not None and incremental:
        i = [c.name for c in cols].index(table.watermark)
        wm_col = cols[i]
        # Re-read the boundary value itself (>=): rows sharing the last timestamp that arrive late
        # are not lost; the primary-key comparison below skips the ones already loaded.
        where = (f"({typed_exprs[i]} IS NULL OR {typed_exprs[i]} >= CAST({ql(wm_before)} AS {wm_col.type}))")

    level1 = ", ".join(
        [f"{r} AS {qi('_raw_' + c.name)}" for r, c in zip(raw_exprs, cols, strict=True)]
        + [f"{t} AS {qi(c.name)}" for t, c in zip(typed_exprs, cols, strict=True)]
        + ["_source", "_row"]
    )
    checks = []
    for c in cols:
        src_type = lower[c.name.lower()][1] if c.name.lower() in lower else c.type
        checks += _checks(c, qi(c.name), qi("_raw_" + c.name), now_sql, src_type)
    reason = "NULLIF(concat_ws('; ', " + ", ".join(f"CASE WHEN {cond} THEN {ql(r)} END" for cond, r in checks) + "), '')"
    payload = "to_json(struct_pack(" + ", ".join(f"{qi(c.name)} := {qi('_raw_' + c.name)}" for c in cols) + "))"
    col_list = ", ".join(qi(c.name) for c in cols)
    row_label = f"{ql(row_prefix)} || CAST(b._row AS VARCHAR)"
    if source_names:
        names_list = "[" + ", ".join(ql(n) for n in source_names) + "]"
        src_label = f"list_extract({names_list}, CAST(b._source AS INTEGER))"
    else:
        src_label = "b._source"

    clock = [time.perf_counter()]

    def step(name: str) -> None:
        now_t = time.perf_counter()
        report.step_seconds[name] = round(report.step_seconds.get(name, 0.0) + now_t - clock[0], 3)
        clock[0] = now_t

    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DROP TABLE IF EXISTS _batch")
        con.execute(
            f"""CREATE TEMP TABLE _batch AS
            SELECT {col_list}, _reason, CASE WHEN _reason IS NOT NULL THEN {payload} END AS _payload,
                   _source, _row
            FROM (SELECT *, {reason} AS _reason FROM (SELECT {level1} FROM ({relation_sql}) AS _src WHERE {where}) AS l1) AS l2"""
        )
        n_rows = _count(con, "SELECT count(*) FROM _batch")
        step("read_cast_check")
        pk = [qi(k) for k in table.primary_key]
        pk_list = ", ".join(pk)
        # Duplicate keys within the batch: the first occurrence (by source, then row) is kept.
        con.execute("DROP TABLE IF EXISTS _dupkeys")
        con.execute(
            f"""CREATE TEMP TABLE _dupkeys AS SELECT {pk_list} FROM _batch WHERE _reason IS NULL
                GROUP BY ALL HAVING count(*) > 1"""
        )
        if _count(con, "SELECT count(*) FROM _dupkeys"):
            on = " AND ".join(f"b.{k} = d.{k}" for k in pk)
            row_order = "b._row"
            con.execute(
                f"""CREATE OR REPLACE TEMP TABLE _dups AS
                SELECT b.rowid AS rid, row_number() OVER (PARTITION BY {', '.join('b.' + k for k in pk)}
                       ORDER BY b._source, {row_order}) AS rn,
                       first_value({src_label} || ' ' || {row_label}) OVER (PARTITION BY {', '.join('b.' + k for k in pk)}
                       ORDER BY b._source, {row_order}) AS first_seen
                FROM _batch b JOIN _dupkeys d ON {on} WHERE b._reason IS NULL"""
            )
            dup_payload = "to_json(struct_pack(" + ", ".join(f"{qi(c.name)} := _batch.{qi(c.name)}" for c in cols) + "))"
            con.execute(
                f"""UPDATE _batch SET _reason = 'duplicate primary key in batch (first seen at ' || d.first_seen || ')',
                       _payload = {dup_payload}
                FROM _dups d WHERE _batch.rowid = d.rid AND d.rn > 1"""
            )

        step("duplicate_keys")
        # Compare with what raw already holds: identical rows are skipped, changed rows replace.
        has_existing = con.execute(f"SELECT 1 FROM {target} LIMIT 1").fetchone() is not None
        skipped_loaded = updated = 0
        con.execute("DROP TABLE IF EXISTS _existing")
        if has_existing:
            on = " AND ".join(f"b.{k} = r.{k}" for k in pk)
            same = " AND ".join(f"b.{qi(c.name)} IS NOT DISTINCT FROM r.{qi(c.name)}" for c in cols)
            con.execute(
                f"""CREATE TEMP TABLE _existing AS SELECT {', '.join('b.' + k for k in pk)}, ({same}) AS _same
                FROM _batch b JOIN {target} r ON {on} WHERE b._reason IS NULL"""
            )
            skipped_loaded = _count(con, "SELECT count(*) FROM _existing WHERE _same")
            updated = _count(con, "SELECT count(*) FROM _existing WHERE NOT _same")
            if updated:
                on_t = " AND ".join(f"{target}.{k} = e.{k}" for k in pk)
                con.execute(f"DELETE FROM {target} USING _existing e WHERE {on_t} AND NOT e._same")
            on_e = " AND ".join(f"e.{k} = b.{k}" for k in pk)
            con.execute(
                f"""INSERT INTO {target} ({col_list}) SELECT {col_list} FROM _batch b WHERE _reason IS NULL
                AND NOT EXISTS (SELECT 1 FROM _existing e WHERE {on_e} AND e._same)"""
            )
        else:
            con.execute(f"INSERT INTO {target} ({col_list}) SELECT {col_list} FROM _batch WHERE _reason IS NULL")
        valid = _count(con, "SELECT count(*) FROM _batch WHERE _reason IS NULL")
        loaded = valid - skipped_loaded
        step("compare_and_insert")

        # Quarantine; an identical row an earlier load already quarantined is a skipped duplicate.
        con.execute("DROP TABLE IF EXISTS _q")
        q_parts = [f"SELECT {src_label.replace('b._source', '_source')} AS _source, {row_label.replace('b._row', '_row')} AS _row, _reason AS reason, _payload AS payload FROM _batch WHERE _reason IS NOT NULL"]
        n_pre = 0
        if pre_quarantined_sql:
            con.execute(f"CREATE OR REPLACE TEMP TABLE _preq AS {pre_quarantined_sql}")
            n_pre = _count(con, "SELECT count(*) FROM _preq")
            q_parts.append("SELECT _source, _row, reason, payload FROM _preq")
        con.execute(f"CREATE TEMP TABLE _q AS {' UNION ALL '.join(q_parts)}")
        con.execute(
            f"""INSERT INTO {RAW_SCHEMA}.quarantine
            SELECT ?, ?, q._source, q._row, q.reason, q.payload, ? FROM _q q
            WHERE NOT EXISTS (SELECT 1 FROM {RAW_SCHEMA}.quarantine x WHERE x.table_name = ?
                AND x.source = q._source AND x.source_row = q._row
                AND x.payload IS NOT DISTINCT FROM q.payload AND x.reason = q.reason)""",
            [report.load_id, table.name, now, table.name],
        )
        quarantined = _count(con, f"SELECT count(*) FROM {RAW_SCHEMA}.quarantine WHERE load_id = ? AND table_name = ?",
                             [report.load_id, table.name])
        n_q = _count(con, "SELECT count(*) FROM _q")
        skipped_quarantined = n_q - quarantined
        reasons = con.execute(
            f"""SELECT reason, count(*) FROM {RAW_SCHEMA}.quarantine WHERE load_id = ? AND table_name = ?
            GROUP BY 1 ORDER BY 2 DESC""", [report.load_id, table.name]).fetchall()

        step("quarantine")
        # Orphans (a key with no parent row) are loaded and reported, not quarantined: the parent
        # may simply arrive later. The raw quality gate decides whether they block the run.
        for fk_col, ref in table.foreign_keys.items():
            parent, parent_col = ref.split(".")
            if parent == table.name or con.execute(f"SELECT 1 FROM {raw_table(parent)} LIMIT 1").fetchone() is None:
                continue
            n_orphans = _count(con, f"""SELECT count(*) FROM _batch b WHERE b._reason IS NULL AND b.{qi(fk_col)} IS NOT NULL
                AND NOT EXISTS (SELECT 1 FROM {raw_table(parent)} p WHERE p.{qi(parent_col)} = b.{qi(fk_col)})""")
            if n_orphans:
                report.orphans[f"{fk_col} -> {ref}"] = n_orphans
        step("orphans")
        report.rows_read = n_rows + n_pre
        report.rows_loaded = loaded
        report.rows_updated = updated
        report.rows_inserted = loaded - updated
        report.rows_quarantined = quarantined
        report.rows_skipped_duplicate = skipped_loaded + skipped_quarantined
        report.quarantine_reasons = {r: int(n) for r, n in reasons}

        if table.watermark and use_watermark and loaded:
            new_max = con.execute(
                f"SELECT CAST(max({qi(table.watermark)}) AS VARCHAR) FROM _batch WHERE _reason IS NULL"
            ).fetchone()[0]
            wm_type = table.column(table.watermark).type
            if wm_before is not None:
                new_max = con.execute(
                    f"SELECT CAST(greatest(CAST(? AS {wm_type}), CAST(? AS {wm_type})) AS VARCHAR)",
                    [wm_before, new_max]).fetchone()[0]
            _set_watermark(con, table, watermark_source, new_max, report.load_id)
            report.watermark_after = new_max
        else:
            report.watermark_after = wm_before

        report.check_identity()
        msgs = report.drift.messages()
        if report.rows_skipped_duplicate:
            msgs.append(f"{report.rows_skipped_duplicate} rows already loaded or quarantined by an earlier load (skipped)")
        for fk, n in report.orphans.items():
            msgs.append(f"{n} rows with an orphan key {fk} (loaded; reported for the raw quality gate)")
        if report.rows_quarantined:
            top = ", ".join(f"{n}x [{r}]" for r, n in list(report.quarantine_reasons.items())[:5])
            msgs.append(f"{report.rows_quarantined} rows quarantined ({top})")
        report.message = " | ".join(msgs)
        report.finished_at = utcnow()
        write_load_log(con, report)
        for t in ("_batch", "_dupkeys", "_dups", "_existing", "_q", "_preq"):
            con.execute(f"DROP TABLE IF EXISTS {t}")
        con.execute("COMMIT")
        step("commit")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return report


def record_failure(con: duckdb.DuckDBPyConnection, report: LoadReport, error: Exception) -> None:
    report.status = "failed"
    report.message = " | ".join([str(error), *report.drift.messages()])
    report.finished_at = utcnow()
    write_load_log(con, report)


@contextmanager
def table_load(con: duckdb.DuckDBPyConnection, report: LoadReport, errors: list[Exception]) -> Iterator[None]:
    """Load one table: a contract failure is recorded and collected so the other tables still load;
    anything unexpected (disk full, a DuckDB error) is recorded in the load log and raised."""
    try:
        yield
    except IngestionError as exc:
        record_failure(con, report, exc)
        errors.append(exc)
    except Exception as exc:
        record_failure(con, report, exc)
        raise


def record_no_source(con: duckdb.DuckDBPyConnection, report: LoadReport) -> None:
    report.status = "no_source"
    report.message = report.message or "the source offers no data for this table"
    report.finished_at = utcnow()
    write_load_log(con, report)


def open_warehouse(warehouse_path: str | Path, *, memory_limit: str | None = None, threads: int | None = None):
    from include.warehouse import connect

    con = connect(warehouse_path, memory_limit=memory_limit, threads=threads)
    ensure_raw_schema(con)
    return con


def select_tables(tables: Iterable[str] | None) -> list[Table]:
    contract = load_contract()
    if tables is None:
        return list(contract.tables.values())
    return [contract.table(t) for t in tables]
