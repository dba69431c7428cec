"""Shared fixtures: the tiny synthetic bank, generated once per session, and a warehouse built
from it (raw loaded, dbt built). Tests that change data work on their own copies."""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path
from urllib.parse import urlparse

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATASETS = PROJECT_ROOT.parent / "shared" / "datasets"


def require_service(url: str, name: str) -> None:
    """Skip when a loopback service is unreachable, or fail when CI requires it (REQUIRE_SERVICES=1)."""
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 5432), timeout=2):
            return
    except OSError as error:
        message = f"{name} at {parsed.hostname}:{parsed.port} is unreachable ({error})"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(message + " and REQUIRE_SERVICES=1")
        pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    url = os.environ.get("CHURN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    require_service(url, "PostgreSQL")
    return url


@pytest.fixture(scope="session")
def churn_modelling_csv() -> Path:
    path = SHARED_DATASETS / "churn_modelling" / "Churn_Modelling.csv"
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared datasets folder is not next to the project)")
    return path


@pytest.fixture(scope="session")
def tiny_bank(tmp_path_factory) -> dict:
    """The tiny synthetic bank: source dir, truth dir and the generator's manifest."""
    from include.bank_simulator import generate

    root = tmp_path_factory.mktemp("tiny_bank")
    source, truth = root / "source", root / "truth"
    manifest = generate(source, truth, size="tiny", seed=42)
    return {"source_dir": source, "truth_dir": truth, "manifest": manifest or json.loads((source / "_manifest.json").read_text())}


@pytest.fixture(scope="session")
def tiny_source_dir(tiny_bank) -> Path:
    return tiny_bank["source_dir"]


def last_month_end(manifest: dict) -> str:
    for key in ("end_month_end", "last_month_end", "end_date", "as_of_date"):
        if manifest.get(key):
            return str(manifest[key])[:10]
    raise KeyError(f"the simulator manifest names no last month-end: {sorted(manifest)}")


def dbt_build(project_dir: Path, warehouse: Path, variables: dict, *args: str) -> None:
    from dbt.cli.main import dbtRunner

    os.environ["CHURN_WAREHOUSE"] = str(warehouse)
    result = dbtRunner().invoke(
        ["build", "--project-dir", str(project_dir), "--profiles-dir", str(project_dir),
         "--vars", json.dumps(variables), "--quiet", *args]
    )
    if not result.success:
        raise RuntimeError(f"dbt build failed: {result.exception or result.result}")


@pytest.fixture(scope="session")
def tiny_warehouse(tiny_bank, tmp_path_factory) -> Path:
    """Raw tables loaded by ingestion and every dbt model built for the last month-end.
    Read it; to change it, copy it first (see ``warehouse_copy``)."""
    from include.ingestion import ingest_files

    warehouse = tmp_path_factory.mktemp("tiny_warehouse") / "warehouse.duckdb"
    ingest_files(tiny_bank["source_dir"], warehouse)
    dbt_build(PROJECT_ROOT / "dbt_project", warehouse, {"as_of_date": last_month_end(tiny_bank["manifest"])})
    return warehouse


@pytest.fixture
def warehouse_copy(tiny_warehouse, tmp_path) -> Path:
    target = tmp_path / "warehouse.duckdb"
    shutil.copy(tiny_warehouse, target)
    return target


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """What a real SMTP server on loopback received."""

    def __init__(self) -> None:
        self.messages: list[dict] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        from email import message_from_bytes, policy

        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        body = message.get_body(preferencelist=("html", "plain"))
        self.messages.append(
            {
                "mail_from": envelope.mail_from,
                "rcpt_tos": list(envelope.rcpt_tos),
                "subject": str(message["Subject"]),
                "html": body.get_content() if body is not None else "",
            }
        )
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_mailbox():
    """A real SMTP server (aiosmtpd) on 127.0.0.1; yields (mailbox, Airflow connection URI)."""
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    uri = f"smtp://127.0.0.1:{port}?disable_tls=true&disable_ssl=true&retry_limit=0&timeout=10"
    try:
        yield mailbox, uri
    finally:
        controller.stop()
