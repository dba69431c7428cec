"""Fixtures for the ingestion tests."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from tests.ingestion.helpers import make_source


@pytest.fixture
def handmade_source(tmp_path) -> Path:
    return make_source(tmp_path / "source")


@pytest.fixture
def warehouse(tmp_path) -> Path:
    return tmp_path / "warehouse.duckdb"


@pytest.fixture
def pg_schema(postgres_url):
    """A fresh schema in the test database, dropped afterwards."""
    import psycopg

    schema = f"churn_ingest_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    yield schema
    with psycopg.connect(postgres_url, autocommit=True) as pg:
        pg.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
