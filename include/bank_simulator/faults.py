"""Data-quality faults injected on request (``generate(..., faults=True)``), with a manifest.

Every fault is injected into clean simulator output at rows chosen at random (seeded), never two
faults on the same row of a file, and recorded in ``_faults_manifest.json`` with the table, file,
fault class, column, 0-based row numbers in that file, CSV line numbers (header = line 1), the
primary-key values of the affected rows, the injected values and the handling the contract
expects. Fault classes are documented in docs/simulator.md ("Faults").

Columns that receive unparseable values are written as strings (in Parquet too) so that the bad
values survive exactly as a bank's export would carry them; their good values keep the contract's
text form (ISO dates and timestamps, plain decimals).
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from include.contract import Contract

# Placeholders that the CSV writer swaps for raw (non-UTF-8) bytes: see generator.write_file.
RAW_BYTES_KEY = b"bank_simulator.raw_bytes"

# Expected handling by the platform, per fault class.
EXPECTED = {
    "duplicate_rows": "quarantine (or drop) the extra copies: the primary key repeats",
    "null_required": "quarantine: a required column is NULL",
    "negative_value": "quarantine: value below the contract minimum",
    "future_timestamp": "quarantine: timestamp/date after the extraction (the data end)",
    "out_of_domain": "quarantine: value not in the contract's accepted values or range",
    "orphan_key": "report: foreign key has no parent row (data-quality gate)",
    "unparseable_number": "quarantine: value does not cast to the contract type",
    "unparseable_date": "quarantine: value does not cast to the contract type",
    "bad_encoding": "quarantine or report: bytes are not valid UTF-8 (GB18030-encoded text)",
    "dropped_column": "report schema drift: a contract column is missing from the file",
    "renamed_column": "report schema drift: a contract column is missing and an unknown one appears",
    "extra_column": "report schema drift: a column not in the contract",
}


@dataclass(frozen=True)
class Fault:
    fault: str
    column: str | None
    count: int
    value: object = None  # what to inject (a list cycles over rows)
    new_name: str | None = None


def _plan(n_customers: int, data_end: str) -> dict[str, list[Fault]]:
    orphan = [f"C{n_customers + 1 + i:07d}" for i in range(5)]
    return {
        "customers": [
            Fault("null_required", "city", 4),
            Fault("unparseable_date", "birth_date", 3, ["1985-02-31", "31/12/1979", "unknown"]),
            Fault("bad_encoding", "name", 3, ["王秀英", "李明", "张伟"]),
            Fault("out_of_domain", "segment", 2, ["platinum"]),
            Fault("duplicate_rows", None, 3),
            Fault("dropped_column", "education", 1),
        ],
        "transactions": [
            Fault("duplicate_rows", None, 20),
            Fault("null_required", "amount", 5),
            Fault("unparseable_number", "amount", 5, ["12,345.6O", "N/A", "1.2.3", "¥300", "--"]),
            Fault("negative_value", "amount", 4, ["-350.00", "-12.50", "-9999.99", "-0.01"]),
            Fault("future_timestamp", "transaction_ts", 5,
                  ["2031-01-15 10:00:00", "2030-06-30 23:59:59", "2099-12-31 00:00:00"]),
            Fault("orphan_key", "customer_id", 5, orphan),
            Fault("out_of_domain", "channel", 4, ["fax", "teller_robot"]),
        ],
        "balance_snapshots": [
            Fault("negative_value", "current_balance", 5, ["-1200.00", "-5.00", "-88000.50"]),
            Fault("duplicate_rows", None, 5),
            Fault("null_required", "aum_month_avg", 3),
        ],
        "digital_activity": [
            Fault("unparseable_date", "activity_date", 3, ["2024-13-01", "2024/03/xx", "--"]),
            Fault("negative_value", "mobile_logins", 3, [-1, -3]),
        ],
        "service_interactions": [
            Fault("out_of_domain", "severity", 3, [9, 0]),
            Fault("renamed_column", "satisfaction_score", 1, new_name="satisfaction"),
        ],
        "products": [
            Fault("orphan_key", "customer_id", 3, orphan),
            Fault("extra_column", "legacy_branch_code", 1, "LB"),
            Fault("unparseable_date", "open_date", 2, ["20190230", "n/a"]),
        ],
        "market_environment": [
            Fault("null_required", "benchmark_deposit_rate", 2),
        ],
        "rm_assignments": [
            Fault("future_timestamp", "assigned_date", 2, ["2031-05-01", "2099-01-01"]),
        ],
        "churn_events": [
            Fault("out_of_domain", "churn_type", 2, ["moved_abroad"]),
        ],
    }


# Faults go into one partition of the partitioned tables: the third month (or the last, if fewer).
PARTITION_INDEX = 2


class FaultInjector:
    def __init__(self, *, seed: int, fmt: str, contract: Contract, n_customers: int, data_end_day: int,
                 n_months: int):
        self.seed = seed
        self.fmt = fmt
        self.contract = contract
        self.plan = _plan(n_customers, str(np.datetime64(data_end_day, "D")))
        self.data_end = str(np.datetime64(data_end_day, "D"))
        self.target_partition = min(PARTITION_INDEX, n_months - 1)
        self.records: list[dict] = []
        self._seen_partition: dict[str, int] = {}

    def apply(self, table: str, relpath: str, data: pa.Table) -> pa.Table:
        """Return ``data`` with this file's faults injected (unchanged if the file gets none)."""
        if table not in self.plan:
            return data
        if "month=" in relpath:
            i = self._seen_partition.get(table, 0)
            self._seen_partition[table] = i + 1
            if i != self.target_partition:
                return data
        return self._inject(table, relpath, data)

    def _inject(self, table: str, relpath: str, data: pa.Table) -> pa.Table:
        spec = self.contract.tables[table]
        faults = self.plan[table]
        rng = np.random.default_rng([self.seed, 7919, zlib.crc32(table.encode())])
        n = data.num_rows
        row_faults = [f for f in faults if f.fault not in ("dropped_column", "renamed_column", "extra_column")]
        need = sum(f.count for f in row_faults)
        if need > n:
            raise ValueError(f"cannot inject {need} faults into {relpath}: it has only {n} rows")
        picks = rng.choice(n, size=need, replace=False)
        cols = {name: data[name].combine_chunks() for name in data.column_names}
        for name, arr in cols.items():
            if pa.types.is_dictionary(arr.type):
                cols[name] = arr.dictionary_decode()
        raw_bytes: dict[str, str] = {}
        pk = list(spec.primary_key)
        pos = 0
        records = []
        for f in row_faults:
            if f.fault == "duplicate_rows":
                continue
            rows = np.sort(picks[pos: pos + f.count])
            pos += f.count
            values = f.value if isinstance(f.value, list) else [f.value]
            injected = [values[i % len(values)] for i in range(len(rows))] if f.value is not None else [None] * len(rows)
            col = cols[f.column]
            mask = np.zeros(n, dtype=bool)
            mask[rows] = True
            mask_arr = pa.array(mask)
            keys_before = _keys(cols, pk, rows)
            if f.fault == "null_required":
                col = pc.if_else(mask_arr, pa.scalar(None, col.type), col)
            elif f.fault == "bad_encoding":
                encoded = [str(v).encode("gb18030") for v in injected]
                if self.fmt == "parquet":
                    col = pc.replace_with_mask(col.cast(pa.binary()), mask_arr, pa.array(encoded, pa.binary()))
                else:
                    tokens = [f"\x00RAW{len(raw_bytes) + i}\x00" for i in range(len(encoded))]
                    raw_bytes.update({t: e.hex() for t, e in zip(tokens, encoded, strict=True)})
                    col = pc.replace_with_mask(_as_text(col), mask_arr, pa.array(tokens, pa.string()))
                injected = [e.hex() for e in encoded]
            else:
                if f.fault in ("unparseable_number", "unparseable_date"):
                    col = _as_text(col)
                try:
                    repl = pa.array(injected).cast(col.type)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
                    col = _as_text(col)
                    repl = pa.array([str(v) for v in injected], pa.string())
                col = pc.replace_with_mask(col, mask_arr, repl)
            cols[f.column] = col
            rec = self._record(table, relpath, f, rows, _keys(cols, pk, rows), injected)
            if f.column in pk:
                rec["original_keys"] = keys_before
            records.append(rec)
        out = pa.table(cols)
        # duplicates: exact copies of clean rows appended at the end of the file
        for f in row_faults:
            if f.fault != "duplicate_rows":
                continue
            src = np.sort(picks[pos: pos + f.count])
            pos += f.count
            dup = out.take(pa.array(src))
            rows = np.arange(out.num_rows, out.num_rows + len(src))
            out = pa.concat_tables([out, dup])
            rec = self._record(table, relpath, f, rows, _keys({c: out[c] for c in out.column_names}, pk, src), None)
            rec["duplicate_of_rows"] = src.tolist()
            records.append(rec)
        for f in faults:
            if f.fault == "dropped_column":
                out = out.drop_columns([f.column])
            elif f.fault == "renamed_column":
                out = out.rename_columns([f.new_name if c == f.column else c for c in out.column_names])
            elif f.fault == "extra_column":
                out = out.append_column(f.column, pa.array([f"{f.value}{i % 97:02d}" for i in range(out.num_rows)]))
            else:
                continue
            records.append({
                "table": table, "file": relpath, "fault": f.fault, "column": f.column,
                **({"renamed_to": f.new_name} if f.new_name else {}),
                "rows": [], "csv_lines": [], "keys": [], "values": [], "count": 1,
                "rows_in_file": out.num_rows, "expected_handling": EXPECTED[f.fault],
            })
        if raw_bytes:
            meta = dict(out.schema.metadata or {})
            meta[RAW_BYTES_KEY] = json.dumps(raw_bytes).encode()
            out = out.replace_schema_metadata(meta)
        self.records.extend(records)
        return out

    def _record(self, table, relpath, f: Fault, rows: np.ndarray, keys: list[dict], injected) -> dict:
        rows = [int(r) for r in rows]
        return {
            "table": table,
            "file": relpath,
            "fault": f.fault,
            "column": f.column,
            "rows": rows,
            "csv_lines": [r + 2 for r in rows] if self.fmt == "csv" else [],
            "keys": keys,
            "values": [None if v is None else (v if isinstance(v, int | float) else str(v)) for v in injected]
            if injected is not None else [],
            "count": len(rows),
            "expected_handling": EXPECTED[f.fault],
        }

    def manifest(self, out_dir: Path) -> dict:
        by_class: dict[str, int] = {}
        for r in self.records:
            by_class[r["fault"]] = by_class.get(r["fault"], 0) + r["count"]
        return {
            "format": self.fmt,
            "seed": self.seed,
            "data_end": self.data_end,
            "row_numbers": "0-based row index within the file; csv_lines are 1-based with the header on line 1",
            "faults": self.records,
            "totals_by_class": dict(sorted(by_class.items())),
            "rows_with_row_faults": sum(r["count"] for r in self.records if r["rows"]),
        }


def _as_text(col: pa.Array) -> pa.Array:
    if pa.types.is_string(col.type):
        return col
    if pa.types.is_timestamp(col.type):
        return pc.strftime(col, format="%Y-%m-%d %H:%M:%S")
    return col.cast(pa.string())


def _keys(cols: dict, pk: list[str], rows: np.ndarray) -> list[dict]:
    idx = pa.array(np.asarray(rows, dtype=np.int64))
    taken = {k: cols[k].take(idx).to_pylist() for k in pk}
    out = []
    for i in range(len(rows)):
        out.append({k: _jsonable(taken[k][i]) for k in pk})
    return out


def _jsonable(v):
    if v is None or isinstance(v, str | int | float | bool):
        return v
    return str(v)
