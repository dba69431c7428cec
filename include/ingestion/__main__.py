"""Command line for a data engineer trying a source by hand (the pipeline calls the functions).

    python -m include.ingestion files   --source data/source/tiny        --warehouse /tmp/w.duckdb
    python -m include.ingestion postgres --conn postgresql://u@host/db --schema bank --warehouse /tmp/w.duckdb
    python -m include.ingestion api      --conn http://127.0.0.1:8765     --warehouse /tmp/w.duckdb
    python -m include.ingestion mapped   --mapping include/mappings/churn_modelling.yml --warehouse /tmp/w.duckdb

Prints one JSON line per table (the LoadReport); exits 1 if a table failed.
"""

from __future__ import annotations

import argparse
import json
import sys

from include.ingestion.core import LoadFailed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m include.ingestion", description="Load a source into the raw schema.")
    sub = parser.add_subparsers(dest="kind", required=True)
    for kind in ("files", "postgres", "api", "mapped"):
        p = sub.add_parser(kind)
        p.add_argument("--warehouse", required=True)
        p.add_argument("--tables", help="comma-separated contract tables (default: all)")
        if kind == "files":
            p.add_argument("--source", required=True, help="a source dir, a file or a glob")
        elif kind in ("postgres", "api"):
            p.add_argument("--conn", required=True, help="an Airflow connection id or a URI/URL")
            if kind == "postgres":
                p.add_argument("--schema", default="public")
            else:
                p.add_argument("--page-size", type=int, default=5000)
        else:
            p.add_argument("--mapping", required=True)
            p.add_argument("--source", help="override the mapping's source path")
    args = parser.parse_args(argv)
    tables = args.tables.split(",") if getattr(args, "tables", None) else None
    try:
        if args.kind == "files":
            from include.ingestion import ingest_files

            reports = ingest_files(args.source, args.warehouse, tables=tables)
        elif args.kind == "postgres":
            from include.ingestion.postgres import ingest_postgres

            reports = ingest_postgres(args.conn, args.warehouse, schema=args.schema, tables=tables)
        elif args.kind == "api":
            from include.ingestion.api import ingest_api

            reports = ingest_api(args.conn, args.warehouse, tables=tables, page_size=args.page_size)
        else:
            from include.ingestion.mapping import ingest_mapped

            reports = ingest_mapped(args.mapping, args.warehouse, source_path=args.source)
        status = 0
    except LoadFailed as failed:
        reports, status = failed.reports, 1
    for r in reports:
        print(json.dumps(r.to_dict(), default=str))
    if status:
        print("one or more tables failed: see their message above and raw.load_log", file=sys.stderr)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
