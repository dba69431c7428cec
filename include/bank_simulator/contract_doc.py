"""Render docs/data_contract.md from include/contract/raw_contract.yml (one source of truth).

    python -m include.bank_simulator.contract_doc            # rewrite docs/data_contract.md
    python -m include.bank_simulator.contract_doc --check    # exit 1 if the page is out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from include.contract import CONTRACT_PATH, Contract, load_contract

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "data_contract.md"

INTRO = """# The raw data contract

What every source must deliver into the DuckDB `raw` schema, table by table: the synthetic bank
(`include/bank_simulator`), a bank's own files, its PostgreSQL database, its HTTP API, or a CSV
export mapped through a declarative mapping file. It answers source plan 2.1 (what is
collected: basic information, consumption behaviour, satisfaction, feedback, market
environment) and 3.2 (database design: customer, transaction and service tables).

The machine-readable contract is `include/contract/raw_contract.yml`, loaded by
`include.contract.load_contract()`; ingestion, the dbt staging models, the data-quality suites
and the tests all read it. This page is generated from it
(`python -m include.bank_simulator.contract_doc`; a test fails when a column is missing here).

## Conventions

- **Types** are DuckDB logical types. Ingestion casts with `TRY_CAST`; a value that does not
  cast, a NULL in a *required* column, or a value outside the domain (*accepted values*, *min*,
  *max*) sends the row to `raw.quarantine` with the reason and the source (file and line, or
  table and key). Nothing is dropped silently.
- **Primary key**: identifies a row; loading the same batch twice adds nothing.
- **Watermark**: the column used for incremental loads (rows at or below the stored watermark
  are skipped).
- **Foreign keys** are checked by the data-quality gates (orphans are reported, not dropped).
- **PII** columns (`customers.name`, `phone`, `email`) are masked wherever BI users or alert
  recipients read data.
- Money is `DECIMAL(18,2)` in CNY; rates and returns are fractions (0.015 = 1.5%).
- Identifiers are stable strings: customers `C0000001`, products `P` + customer number +
  two-digit product type + two-digit generation (`P00000010300` is customer 1's first
  wealth-management product), transactions `T` + 11 digits, service interactions `S` + 11
  digits, relationship managers `RM` + 6 digits, branches `B` + 4 digits.

## Source-dir layout

A source dir holds one entry per table, either a single file `<dir>/<table>.parquet` (or `.csv`)
or a folder `<dir>/<table>/` of files. The simulator partitions the three large tables by month:
`<dir>/transactions/month=YYYY-MM/part-0.parquet`, and the same for `balance_snapshots` and
`digital_activity`. The partition folder name is not a column. `<dir>/_manifest.json` describes
the generation (size, seed, months, first and last month-end, row counts and files per table);
with injected faults, `<dir>/_faults_manifest.json` lists every fault (docs/simulator.md).
The simulator's truth (true churn probabilities) is written to a separate folder and is never
part of a source dir.

Parquet files carry the contract types directly (strings, `DATE`, `TIMESTAMP` without time
zone, `DECIMAL(18,2)`, `INTEGER`, `DOUBLE`, `BOOLEAN`). CSV files have a header line, ISO dates
(`2024-03-31`) and timestamps (`2024-03-31 14:05:00.000000`), `.` as decimal point, empty
fields for NULL, UTF-8 text.

## Tables
"""


def _domain(col) -> str:
    parts = []
    if col.accepted_values is not None:
        parts.append("one of " + ", ".join(f"`{v}`" for v in col.accepted_values))
    if col.min is not None:
        parts.append(f"≥ {col.min}")
    if col.max is not None:
        parts.append(f"≤ {col.max}")
    return "; ".join(parts)


def render(contract: Contract) -> str:
    out = [INTRO]
    for name, t in contract.tables.items():
        out.append(f"### `{name}`\n")
        out.append(f"{t.description}\n")
        facts = [f"- Primary key: {', '.join(f'`{c}`' for c in t.primary_key)}"]
        if t.watermark:
            facts.append(f"- Watermark (incremental loads): `{t.watermark}`")
        if t.partition:
            facts.append(f"- Partition / freshness column: `{t.partition}`")
        for column, target in t.foreign_keys.items():
            facts.append(f"- Foreign key: `{column}` → `{target}`")
        if t.pii_columns:
            facts.append(f"- PII (masked for BI and alerts): {', '.join(f'`{c}`' for c in t.pii_columns)}")
        out.append("\n".join(facts) + "\n")
        out.append("| Column | Type | Required | Domain | Description |")
        out.append("|---|---|---|---|---|")
        for c in t.columns:
            desc = c.description.replace("|", "\\|")
            if c.pii:
                desc = ("PII. " + desc).strip()
            out.append(f"| `{c.name}` | {c.type} | {'yes' if c.required else ''} | {_domain(c)} | {desc} |")
        out.append("")
    out.append(f"_Generated from `{CONTRACT_PATH.relative_to(DOC_PATH.parents[1])}`._\n")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="fail if docs/data_contract.md is out of date")
    args = ap.parse_args(argv)
    text = render(load_contract())
    if args.check:
        current = DOC_PATH.read_text(encoding="utf-8") if DOC_PATH.exists() else ""
        if current != text:
            print(f"{DOC_PATH} is out of date; run python -m include.bank_simulator.contract_doc", file=sys.stderr)
            return 1
        return 0
    DOC_PATH.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
