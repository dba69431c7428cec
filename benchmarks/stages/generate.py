"""Generation: transaction rows per second of the synthetic bank at a size, against a raw-write floor.

``python -m benchmarks.stages.generate --size demo|large --out result.json [--dest DIR]``

* figure: transaction rows written per second of wall time by ``include.bank_simulator.generate``
  (everything included: the latent process, all ten tables, the truth, the manifests);
* baseline: the raw-write floor -- numpy draws the same number of transaction rows with the same
  columns and types (uniform ids, timestamps, amounts, categorical codes) and pyarrow writes them
  month by month with the same Parquet settings; no behaviour at all;
* ratio = figure / baseline (1.0 would mean the bank's behaviour costs nothing over writing);
* target: at least 2,000,000 transaction rows per second (issue 3), peak memory under 4 GB.

The generated data stays in ``data/source/<size>`` and ``data/truth/<size>`` (or ``--dest``), for the
later stages to reuse. Run heavy sizes under ``flock /tmp/churn_heavy.lock``.
"""

from __future__ import annotations

import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.stages.common import progress_for, stage_parser, write_result

TARGET_ROWS_PER_S = 2_000_000
TARGET_PEAK_MB = 4096


progress = progress_for("generate")


def raw_write_floor(rows: int, months: int, work: Path, seed: int = 0) -> float:
    """Seconds for numpy + pyarrow to write ``rows`` random transaction-shaped rows, by month."""
    from include.bank_simulator import arrow_utils as au
    from include.bank_simulator.generator import write_file
    from include.contract import load_contract

    spec = load_contract().tables["transactions"]
    rng = np.random.default_rng(seed)
    per_month = np.full(months, rows // months)
    per_month[: rows % months] += 1
    start = np.datetime64("2024-01-01", "us").astype(np.int64)
    t0 = time.perf_counter()
    first = 0
    for m, r in enumerate(per_month):
        r = int(r)
        cust = rng.integers(1, 1_000_000, r)
        table = au.build_table(spec, {
            "transaction_id": au.fixed_ids("T", np.arange(first + 1, first + r + 1), 11),
            "customer_id": au.fixed_ids("C", cust, 7),
            "product_id": au.fixed_ids("P", cust * 10_000 + rng.integers(0, 8, r) * 100, 11),
            "transaction_ts": au.timestamps_us(start + rng.integers(0, 30 * 86_400_000_000, r)),
            "amount": au.decimal_from_cents(rng.integers(1, 10_000_000, r)),
            "direction": au.take_strings(["out", "in"], rng.integers(0, 2, r, dtype=np.int8)),
            "transaction_type": au.take_strings([f"type_{i}" for i in range(12)], rng.integers(0, 12, r, dtype=np.int8)),
            "counterparty_bank": au.take_strings([f"bank_{i}" for i in range(12)], rng.integers(0, 12, r, dtype=np.int8)),
            "channel": au.take_strings([f"channel_{i}" for i in range(5)], rng.integers(0, 5, r, dtype=np.int8)),
        })
        write_file(table, work / f"month={m:02d}" / "part-0.parquet", "parquet")
        first += r
    return time.perf_counter() - t0


def run(size: str, dest: Path | None = None) -> dict:
    from include.bank_simulator import generate
    from include.bank_simulator.arrow_utils import keep_freed_memory_in_heap
    from include.config import get_settings

    settings = get_settings()
    allocator_tuned = keep_freed_memory_in_heap()
    source = Path(dest) if dest else settings.data_dir / "source" / size
    truth = (Path(dest).parent / f"{Path(dest).name}_truth") if dest else settings.data_dir / "truth" / size
    progress(f"generating size {size} into {source} (truth: {truth})")
    load_before = os.getloadavg()[0]
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    manifest = generate(source, truth, size=size, seed=settings.seed)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    load_after = os.getloadavg()[0]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = manifest["counts"]["transactions"]
    figure = rows / wall
    progress(f"{rows:,} transactions ({sum(manifest['counts'].values()):,} rows in all tables) in {wall:.1f} s "
             f"= {figure:,.0f} rows/s; cpu {cpu:.1f} s; peak {peak_mb:,.0f} MB")

    work = Path(tempfile.mkdtemp(prefix="generate_floor_", dir=source.parent))
    try:
        progress(f"raw-write floor: numpy + pyarrow writing {rows:,} random rows in {manifest['months']} files")
        floor_s = raw_write_floor(rows, manifest["months"], work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    baseline = rows / floor_s
    progress(f"raw-write floor: {floor_s:.1f} s = {baseline:,.0f} rows/s")
    return {
        "figure": round(figure),
        "unit": "transaction rows/s (all tables and the truth generated)",
        "baseline": round(baseline),
        "baseline_unit": "rows/s, numpy random rows written with pyarrow (raw-write floor)",
        "ratio": round(figure / baseline, 3),
        "target": f">= {TARGET_ROWS_PER_S:,} transaction rows/s, peak < {TARGET_PEAK_MB} MB",
        "target_met": bool(figure >= TARGET_ROWS_PER_S and peak_mb < TARGET_PEAK_MB),
        "details": {
            "size": size,
            "customers": manifest["customers"],
            "months": manifest["months"],
            "wall_s": round(wall, 2),
            "cpu_s": round(cpu, 2),
            "peak_mb_inside": round(peak_mb),
            "rows_by_table": manifest["counts"],
            "all_rows": sum(manifest["counts"].values()),
            "all_rows_per_s": round(sum(manifest["counts"].values()) / wall),
            "raw_write_floor_s": round(floor_s, 2),
            # The machine is shared: with other jobs running, wall time overstates the cost. CPU
            # seconds do not depend on the load; rows per CPU second x 2 is what two free cores give.
            "transaction_rows_per_cpu_s": round(rows / cpu),
            "load_average_1min_before_after": [round(load_before, 2), round(load_after, 2)],
            "monthly_churn_rate": manifest["monthly_churn_rate"],
            "oracle_roc_auc": manifest["truth"]["oracle_roc_auc"],
            "source_dir": str(source),
            "main_thread_cpu_s_by_phase": manifest.get("timings_s", {}),
            "writer_threads_cpu_s": manifest.get("writer_cpu_s", {}),
            "allocator_keeps_freed_memory": allocator_tuned,
        },
    }


def main(argv: list[str] | None = None) -> int:
    ap = stage_parser(__doc__.splitlines()[0])
    ap.add_argument("--dest", default=None, help="source dir to write (default data/source/<size>)")
    args = ap.parse_args(argv)
    result = run(args.size, Path(args.dest) if args.dest else None)
    write_result(args.out, result)
    progress(f"figure {result['figure']:,} rows/s, baseline {result['baseline']:,} rows/s, ratio {result['ratio']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
