"""Command line: python -m include.bank_simulator --size tiny --out DIR --truth-out DIR ..."""

from __future__ import annotations

import argparse
import json
import sys
import time

from include.bank_simulator import SIZES, generate
from include.bank_simulator.arrow_utils import keep_freed_memory_in_heap


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m include.bank_simulator",
                                 description="Generate the synthetic bank (source data) and its churn truth.")
    ap.add_argument("--size", choices=list(SIZES), default="tiny")
    ap.add_argument("--out", required=True, help="source dir to write the bank's tables into")
    ap.add_argument("--truth-out", required=True, help="separate dir for the truth (never read by the pipeline)")
    ap.add_argument("--customers", type=int, default=None, help="override the size's number of customers")
    ap.add_argument("--months", type=int, default=None, help="override the number of month-ends (from 2024-01)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--format", dest="fmt", choices=["parquet", "csv"], default="parquet")
    ap.add_argument("--faults", action="store_true", help="inject documented data-quality faults")
    ap.add_argument("--retention-actions", default=None,
                    help="retention actions (.parquet/.csv) to feed back: treated customers' hazard drops")
    args = ap.parse_args(argv)
    keep_freed_memory_in_heap()
    started = time.perf_counter()
    manifest = generate(args.out, args.truth_out, size=args.size, customers=args.customers, months=args.months,
                        seed=args.seed, fmt=args.fmt, faults=args.faults, retention_actions=args.retention_actions)
    elapsed = time.perf_counter() - started
    tx = manifest["counts"]["transactions"]
    print(json.dumps({
        "out": args.out, "customers": manifest["customers"], "months": manifest["months"],
        "counts": manifest["counts"], "monthly_churn_rate": manifest["monthly_churn_rate"],
        "oracle_roc_auc": manifest["truth"]["oracle_roc_auc"], "faults": manifest["faults"],
        "seconds": round(elapsed, 2), "transaction_rows_per_s": round(tx / elapsed) if elapsed else None,
    }, indent=2), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
