"""What every stage shares: its progress lines, its command line, its result file, and the
stacking of a small panel up to the size a stage measures.

A stage is run by the harness as ``python -m benchmarks.stages.<key> --size S --out result.json``
(benchmarks/README.md); these helpers keep that contract in one place.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

SIZES = ("tiny", "demo", "large")


def progress_for(key: str) -> Callable[[str], None]:
    """A progress printer: one line per step on stderr, prefixed with the stage key (the harness
    streams stderr live)."""

    def progress(text: str) -> None:
        print(f"{key}: {text}", file=sys.stderr, flush=True)

    return progress


def stage_parser(description: str) -> argparse.ArgumentParser:
    """The arguments every stage takes (``--size``, ``--out``); a stage adds its own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--size", choices=SIZES, default="demo")
    parser.add_argument("--out", type=Path, required=True, help="JSON result file")
    return parser


def write_result(out: Path, result: dict) -> None:
    """Write the stage's result for the harness (figure, unit, baseline, ratio, target, details)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, default=str, ensure_ascii=False) + "\n")


def stack_under_new_ids(panel: pd.DataFrame, rows: int) -> tuple[pd.DataFrame, int]:
    """``panel`` repeated under new customer ids (``<id>~<copy>``) until it has ``rows`` rows, and
    how many copies that took (1: it was large enough). Stages say so in their details."""
    if len(panel) >= rows:
        return panel.iloc[:rows].reset_index(drop=True), 1
    copies = int(np.ceil(rows / len(panel)))
    parts = []
    for copy in range(copies):
        part = panel.copy()
        part["customer_id"] = part["customer_id"].astype(str) + f"~{copy}"
        parts.append(part)
    return pd.concat(parts, ignore_index=True).iloc[:rows].reset_index(drop=True), copies
