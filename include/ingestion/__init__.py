"""Ingestion into the DuckDB ``raw`` schema, driven by the raw data contract (plan 2.1, 3.3(1)).

Sources: files (CSV/Parquet; :func:`ingest_files`), PostgreSQL (:func:`ingest_postgres`), an HTTP
JSON API with pagination (:func:`ingest_api`) and a bank's own export through a declarative
mapping file (:func:`ingest_mapped`). All of them hand their rows to one contract-enforcing load
(:mod:`include.ingestion.core`); see docs/ingestion.md.
"""

from include.ingestion.core import (
    IngestionError,
    LoadFailed,
    LoadReport,
    SchemaDrift,
    SchemaDriftError,
    ensure_raw_schema,
)
from include.ingestion.files import ingest_files


def __getattr__(name: str):
    # The PostgreSQL, API and mapping sources import their clients only when used.
    if name == "ingest_postgres":
        from include.ingestion.postgres import ingest_postgres

        return ingest_postgres
    if name == "ingest_api":
        from include.ingestion.api import ingest_api

        return ingest_api
    if name == "ingest_mapped":
        from include.ingestion.mapping import ingest_mapped

        return ingest_mapped
    raise AttributeError(name)


__all__ = [
    "IngestionError",
    "LoadFailed",
    "LoadReport",
    "SchemaDrift",
    "SchemaDriftError",
    "ensure_raw_schema",
    "ingest_api",
    "ingest_files",
    "ingest_mapped",
    "ingest_postgres",
]
