"""generate(): run the latent process and write a source dir, the truth, and the manifests."""

from __future__ import annotations

import json
import shutil
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from include.bank_simulator import arrow_utils as au
from include.bank_simulator.params import DEFAULT_PARAMS, SIZES, START_MONTH, ProcessParams
from include.bank_simulator.process import BankSimulation, Deferred, month_calendar
from include.contract import Contract, load_contract

PARTITIONED = ("transactions", "balance_snapshots", "digital_activity")
MANIFEST = "_manifest.json"
FAULTS_MANIFEST = "_faults_manifest.json"
GENERATOR_VERSION = 1
# Columns worth a Parquet dictionary (few distinct values); ids and free text are not.
_DICT_COLUMNS = {
    "direction", "transaction_type", "counterparty_bank", "channel", "kind", "complaint_category",
    "product_type", "gender", "occupation", "education", "city", "segment", "churn_type", "branch_id",
    "relationship_manager_id", "month_end", "activity_date", "action_type", "outcome",
}


def table_path(out_dir: Path, table: str, fmt: str, month: str | None = None) -> Path:
    if month is None:
        return out_dir / f"{table}.{fmt}"
    return out_dir / table / f"month={month}" / f"part-0.{fmt}"


class _Sink:
    """Writes tables as they are produced, on background threads (Arrow and numpy release the
    GIL), building deferred tables' Arrow columns there too, so generation and writing overlap.

    Transactions get their own writer thread; every other table and the truth share a second
    one. A table always goes to the same thread, so its files are written in order.
    """

    def __init__(self, out_dir: Path, fmt: str, faults=None):
        self.out_dir = out_dir
        self.fmt = fmt
        self.faults = faults
        self.files: dict[str, list[str]] = {}
        self.rows: dict[str, int] = {}
        self.pools = {"transactions": ThreadPoolExecutor(max_workers=1), "other": ThreadPoolExecutor(max_workers=1)}
        self.pending: dict[str, list[Future]] = {k: [] for k in self.pools}
        self.cpu: dict[str, float] = {}  # writer-thread CPU seconds, by step and table

    def submit(self, fn, *args, lane: str = "other") -> None:
        # One job in flight per lane: it overlaps with the generation of the next month, memory
        # stays bounded, and the generator waits when the disk is behind.
        pending = self.pending[lane]
        while len(pending) >= 1:
            pending.pop(0).result()
        pending.append(self.pools[lane].submit(fn, *args))

    def __call__(self, table: str, month: str | None, data) -> None:
        path = table_path(self.out_dir, table, self.fmt, month)
        rel = str(path.relative_to(self.out_dir))
        self.files.setdefault(table, []).append(rel)
        self.submit(self._write, table, rel, data, path, lane="transactions" if table == "transactions" else "other")

    def _write(self, table: str, rel: str, data, path: Path) -> None:
        started = time.thread_time()
        if isinstance(data, Deferred):
            data = data.build()
        if self.faults is not None:
            data = self.faults.apply(table, rel, data)
        self.rows[table] = self.rows.get(table, 0) + data.num_rows
        built = time.thread_time()
        write_file(data, path, self.fmt)
        done = time.thread_time()
        self.cpu[f"build_{table}"] = round(self.cpu.get(f"build_{table}", 0.0) + built - started, 3)
        self.cpu[f"write_{table}"] = round(self.cpu.get(f"write_{table}", 0.0) + done - built, 3)

    def close(self) -> None:
        for pending in self.pending.values():
            for f in pending:
                f.result()
            pending.clear()
        for pool in self.pools.values():
            pool.shutdown()


class _TruthSink:
    """Writes churn_truth.parquet month by month (on the sink's writer thread) and accumulates the
    oracle ROC-AUC as score histograms of positives and negatives."""

    BINS = 1 << 20
    SCHEMA = pa.schema([
        pa.field("customer_id", pa.string()),
        pa.field("as_of_date", pa.date32()),
        pa.field("churn_probability_true", pa.float64()),
        pa.field("churned_within_horizon", pa.bool_()),
    ])

    def __init__(self, truth_dir: Path, sink: _Sink):
        self.path = truth_dir / "churn_truth.parquet"
        self.sink = sink
        self.writer: pq.ParquetWriter | None = None
        self.pos = np.zeros(self.BINS, np.int64)
        self.neg = np.zeros(self.BINS, np.int64)
        self.sum_p = 0.0
        self.rows = 0

    def __call__(self, t, as_of, cust, prob, label, labeled) -> None:
        self.sink.submit(self._write, as_of, cust, prob, label, labeled)

    def _write(self, as_of, cust, prob, label, labeled) -> None:
        started = time.thread_time()
        try:
            self._write_month(as_of, cust, prob, label, labeled)
        finally:
            self.sink.cpu["truth"] = round(self.sink.cpu.get("truth", 0.0) + time.thread_time() - started, 3)

    def _write_month(self, as_of, cust, prob, label, labeled) -> None:
        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, self.SCHEMA, compression="snappy")
        n = len(cust)
        self.writer.write_table(pa.table({
            "customer_id": au.fixed_ids("C", cust.astype(np.int64) + 1, 7),
            "as_of_date": au.dates(np.full(n, as_of)),
            "churn_probability_true": pa.array(prob),
            "churned_within_horizon": pa.array(label, mask=np.full(n, not labeled)),
        }, schema=self.SCHEMA))
        if labeled:
            b = score_bins(prob, self.BINS)
            self.pos += np.bincount(b[label], minlength=self.BINS)
            self.neg += np.bincount(b[~label], minlength=self.BINS)
            self.sum_p += float(prob.sum())
            self.rows += n

    def close(self) -> dict:
        if self.writer is not None:
            self.writer.close()
        n_pos, n_neg = int(self.pos.sum()), int(self.neg.sum())
        auc = None
        if n_pos and n_neg:
            below = np.cumsum(self.neg) - self.neg
            auc = float((self.pos * (below + 0.5 * self.neg)).sum() / (n_pos * n_neg))
        return {
            "oracle_roc_auc": round(auc, 4) if auc is not None else None,
            "labeled_rows": self.rows,
            "positive_rate": round(n_pos / self.rows, 5) if self.rows else None,
            "mean_churn_probability_true": round(self.sum_p / self.rows, 5) if self.rows else None,
        }


def score_bins(prob: np.ndarray, bins: int) -> np.ndarray:
    """Fine bins on the logit scale: ties within a bin count half, so the AUC error is negligible."""
    p = np.clip(prob, 1e-7, 1 - 1e-7)
    logit = np.log(p) - np.log1p(-p)
    return np.clip(((logit + 16.2) / 32.4 * bins).astype(np.int64), 0, bins - 1)


def write_file(data: pa.Table, path: Path, fmt: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        dict_cols = [c for c in data.column_names
                     if c in _DICT_COLUMNS or pa.types.is_dictionary(data.schema.field(c).type)]
        # Statistics only on the time and amount columns (what readers prune on); ids and labels
        # would cost more to summarise than they save. The Arrow schema is not stored, so every
        # reader sees the plain contract types (no dictionary or categorical surprises).
        stats = [c for c in data.column_names
                 if pa.types.is_temporal(data.schema.field(c).type) or c in ("amount", "month_end")]
        pq.write_table(data, path, compression="lz4", use_dictionary=dict_cols or False,
                       write_statistics=stats or False, store_decimal_as_integer=True, store_schema=False,
                       row_group_size=1 << 20)
    elif fmt == "csv":
        data = _undictionary(data)
        if data.schema.metadata and b"bank_simulator.raw_bytes" in data.schema.metadata:
            _write_csv_with_raw_bytes(data, path)
        else:
            pacsv.write_csv(data, path)
    else:
        raise ValueError(f"unknown format {fmt!r}; use parquet or csv")


def _undictionary(data: pa.Table) -> pa.Table:
    cols = [c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c for c in data.columns]
    return pa.table(cols, names=data.column_names).replace_schema_metadata(data.schema.metadata)


def _write_csv_with_raw_bytes(data: pa.Table, path: Path) -> None:
    """CSV with a few placeholders swapped for raw, non-UTF-8 bytes (a mis-encoded bank export)."""
    import io

    from include.bank_simulator.faults import RAW_BYTES_KEY

    swaps = json.loads(data.schema.metadata[RAW_BYTES_KEY])
    buf = io.BytesIO()
    pacsv.write_csv(data.replace_schema_metadata(None), buf)
    raw = buf.getvalue()
    for token, hex_bytes in swaps.items():
        raw = raw.replace(token.encode("utf-8"), bytes.fromhex(hex_bytes))
    path.write_bytes(raw)


def _treatment_matrix(actions: pa.Table | None, n: int, horizon: int, p: ProcessParams) -> tuple[np.ndarray | None, dict]:
    """Hazard multipliers from fed-back retention actions (control-group rows get none)."""
    if actions is None or actions.num_rows == 0:
        return None, {"actions": 0, "treated_customers": 0}
    ids = actions["customer_id"].to_pylist()
    act_date = actions["action_date"].cast(pa.date32()).to_numpy(zero_copy_only=False)
    control = actions["control_group"].to_numpy(zero_copy_only=False).astype(bool)
    treat = np.ones((n, horizon), dtype=np.float64)
    ms, me = month_calendar(horizon)
    used, unknown = 0, 0
    for cid, day, ctl in zip(ids, act_date, control, strict=True):
        if ctl or day is None or np.isnat(day):
            continue
        try:
            i = int(str(cid)[1:]) - 1
        except ValueError:
            unknown += 1
            continue
        if not (0 <= i < n):
            unknown += 1
            continue
        t0 = int(np.searchsorted(ms, day.astype("datetime64[D]").astype(np.int64), side="right") - 1)
        if t0 < 0:
            continue
        treat[i, t0: t0 + p.treatment_months] = p.treatment_effect
        used += 1
    return treat, {"actions": actions.num_rows, "treated_actions": used, "unknown_customers": unknown,
                   "treated_customers": int((treat < 1).any(axis=1).sum()),
                   "effect": f"hazard x {p.treatment_effect} for {p.treatment_months} months from the action month"}


def _read_actions(retention_actions: Any) -> pa.Table | None:
    if retention_actions is None:
        return None
    if isinstance(retention_actions, pa.Table):
        return retention_actions
    if isinstance(retention_actions, str | Path):
        path = Path(retention_actions)
        return pq.read_table(path) if path.suffix == ".parquet" else pacsv.read_csv(path)
    return pa.Table.from_pandas(retention_actions, preserve_index=False)


def _retention_table(contract: Contract, actions: pa.Table | None, churn_day: np.ndarray, data_end: int,
                     horizon_days: int) -> pa.Table:
    table = contract.tables["retention_actions"]
    if actions is None or actions.num_rows == 0:
        return pa.Table.from_batches([], schema=au.schema_for(table))
    cols = {}
    for c in table.columns:
        if c.name in actions.column_names:
            cols[c.name] = actions[c.name].combine_chunks().cast(au.arrow_type(c.type))
        else:
            cols[c.name] = pa.nulls(actions.num_rows, au.arrow_type(c.type))
    # Outcome measured like the platform does: churned within the horizon after the action.
    ids = actions["customer_id"].to_pylist()
    when = cols["action_date"].to_numpy(zero_copy_only=False)
    base = cols["as_of_date"].to_numpy(zero_copy_only=False)
    outcome, outcome_day = [], []
    for cid, a, b in zip(ids, when, base, strict=True):
        start = a if a is not None and not np.isnat(a) else b
        start = int(start.astype("datetime64[D]").astype(np.int64))
        try:
            i = int(str(cid)[1:]) - 1
            cd = int(churn_day[i]) if 0 <= i < len(churn_day) else -1
        except ValueError:
            cd = -1
        if cd >= 0 and start < cd <= start + horizon_days:
            outcome.append("churned")
            outcome_day.append(cd)
        elif start + horizon_days <= data_end:
            outcome.append("retained")
            outcome_day.append(start + horizon_days)
        else:
            outcome.append("pending")
            outcome_day.append(None)
    cols["outcome"] = pa.array(outcome, pa.string())
    cols["outcome_date"] = pa.array([None if d is None else d for d in outcome_day], pa.int32()).cast(pa.date32())
    return au.build_table(table, cols)


def generate(out_dir, truth_dir, *, size: str = "tiny", customers: int | None = None,
             months: int | None = None, seed: int = 42, fmt: str = "parquet", faults: bool = False,
             retention_actions: Any = None, horizon_days: int = 90,
             params: ProcessParams = DEFAULT_PARAMS) -> dict:
    """Generate the synthetic bank into ``out_dir`` (a source dir) and its truth into ``truth_dir``.

    ``retention_actions``: optional retention actions recorded by the warning operations (an
    Arrow table, a pandas DataFrame, or a .parquet/.csv path, with at least customer_id,
    action_date and control_group). Treated customers get a known hazard reduction
    (``params.treatment_effect`` for ``params.treatment_months`` months; docs/simulator.md).
    Returns the manifest (also written to ``out_dir/_manifest.json``) plus a ``truth`` summary.
    """
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; choose one of {', '.join(SIZES)}")
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"unknown format {fmt!r}; use parquet or csv")
    n_default, m_default = SIZES[size]
    n = int(customers) if customers is not None else n_default
    m = int(months) if months is not None else m_default
    out_dir, truth_dir = Path(out_dir), Path(truth_dir)
    if out_dir.resolve() == truth_dir.resolve():
        raise ValueError("the truth must be written apart from the source data (truth_dir == out_dir)")
    contract = load_contract()
    _clean(out_dir, contract)
    out_dir.mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(parents=True, exist_ok=True)

    actions = _read_actions(retention_actions)
    treatment, feedback = _treatment_matrix(actions, n, m + 8, params)

    injector = None
    if faults:
        from include.bank_simulator.faults import FaultInjector

        injector = FaultInjector(seed=seed, fmt=fmt, contract=contract, n_customers=n,
                                 data_end_day=int(month_calendar(m)[1][-1]), n_months=m)
    sink = _Sink(out_dir, fmt, injector)
    truth_sink = _TruthSink(truth_dir, sink)
    sim = BankSimulation(n, m, seed, params, contract, horizon_days=horizon_days, treatment=treatment)
    try:
        result = sim.run(sink, truth_sink)
        ms, me = month_calendar(m)
        data_end = int(me[-1])
        sink("retention_actions", None, _retention_table(contract, actions, result.churn_day, data_end, horizon_days))
    finally:
        sink.close()

    finishing = time.perf_counter()
    truth = _write_truth(truth_dir, result, truth_sink.close(), horizon_days)
    counts = {name: sink.rows.get(name, 0) for name in contract.tables}
    manifest = {
        "generator": "include.bank_simulator",
        "generator_version": GENERATOR_VERSION,
        "size": size,
        "seed": seed,
        "customers": n,
        "months": m,
        "start_month_end": str(np.datetime64(int(me[0]), "D")),
        "end_month_end": str(np.datetime64(data_end, "D")),
        "month_ends": [str(np.datetime64(int(x), "D")) for x in me],
        "format": fmt,
        "label_horizon_days": horizon_days,
        "tables": {
            name: {
                "layout": "partitioned" if name in PARTITIONED else "file",
                "path": name if name in PARTITIONED else f"{name}.{fmt}",
                "rows": counts[name],
                "files": sink.files.get(name, []),
            }
            for name in contract.tables
        },
        "counts": counts,
        "monthly_churn_rate": {
            "mean": round(float(np.mean(result.monthly_churn_rate)), 5),
            "min": round(float(np.min(result.monthly_churn_rate)), 5),
            "max": round(float(np.max(result.monthly_churn_rate)), 5),
        },
        "retention_feedback": feedback,
        "faults": {"injected": bool(faults)},
    }
    if injector is not None:
        fm = injector.manifest(out_dir)
        (out_dir / FAULTS_MANIFEST).write_text(json.dumps(fm, indent=2, sort_keys=False) + "\n")
        manifest["faults"] = {"injected": True, "manifest": FAULTS_MANIFEST,
                              "count": len(fm["faults"]),
                              "classes": sorted({f["fault"] for f in fm["faults"]})}
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    # Timings are returned, never written: the written manifest is the same bytes for the same seed.
    return {**manifest, "truth": truth, "timings_s": {**result.timings, "truth_and_manifest": round(
        time.perf_counter() - finishing, 3)}, "writer_cpu_s": dict(sorted(sink.cpu.items()))}


def _clean(out_dir: Path, contract: Contract) -> None:
    """Remove a previous generation's files (only the simulator's own paths)."""
    if not out_dir.exists():
        return
    for name in contract.tables:
        for p in (out_dir / name, out_dir / f"{name}.parquet", out_dir / f"{name}.csv"):
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
    for p in (out_dir / MANIFEST, out_dir / FAULTS_MANIFEST):
        if p.exists():
            p.unlink()


def _write_truth(truth_dir: Path, result, streamed: dict, horizon_days: int) -> dict:
    churn_day = result.churn_day
    pop = result.population
    traits = pa.table({
        "customer_id": au.fixed_ids("C", np.arange(1, pop.n + 1), 7),
        "value": pa.array(np.round(pop.value, 2)),
        "rate_sensitivity": pa.array(pop.rate_sens),
        "service_sensitivity": pa.array(pop.service_sens),
        "digital_adoption": pa.array(pop.digital),
        "loyalty": pa.array(pop.loyalty),
        "churn_date": au.dates(np.maximum(churn_day, 0), mask=churn_day < 0),
        "churn_cause": au.take_strings(["disengagement", "sudden_life_event"], np.maximum(result.churn_cause, 0),
                                       mask=result.churn_cause < 0).dictionary_decode(),
    })
    pq.write_table(traits, truth_dir / "customer_traits.parquet", compression="snappy")
    churners = int((churn_day >= 0).sum())
    summary = {
        **streamed,
        "churners": churners,
        "sudden_churn_share": round(float((result.churn_cause == 1).sum() / max(churners, 1)), 4),
        "monthly_churn_rate": [round(x, 5) for x in result.monthly_churn_rate],
        "label_horizon_days": horizon_days,
        "files": ["churn_truth.parquet", "customer_traits.parquet"],
    }
    (truth_dir / "truth_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


__all__ = ["generate", "table_path", "PARTITIONED", "SIZES", "START_MONTH"]
