"""The run's HTML report, rendered by a real headless Chromium: what a relationship manager sees."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from include.publish import PublishedTable, publish_snapshot
from include.report import write_report

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    message = "no Chromium on this machine (apt-get install chromium)"
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def report(tmp_path) -> Path:
    warehouse = tmp_path / "warehouse.duckdb"
    scores = pd.DataFrame(
        {
            "customer_id": [f"C{i:03d}" for i in range(100)],
            "as_of_date": pd.to_datetime("2025-12-31").date(),
            "churn_probability": [0.9, 0.3, 0.25, 0.15, 0.12, 0.07] + [0.01] * 94,
            "risk_level": ["red", "red", "red", "orange", "orange", "yellow"] + ["green"] * 94,
            "model_version": "v0001",
            "scored_at": pd.Timestamp("2026-01-01", tz="UTC"),
        }
    )
    alerts = scores.head(6).assign(
        alert_id=[f"A{i}" for i in range(6)], created_at=pd.Timestamp("2026-01-01", tz="UTC"),
        customer_name_masked="W*** X*******", recommended_action="rm_call_outflows",
        relationship_manager_id="RM007", reason_1="AUM fell 62% in 3 months", reason_2="<script>alert(1)</script>",
    )
    params = pd.DataFrame({"as_of_date": [pd.to_datetime("2025-12-31").date()] * 3, "risk_level": ["red", "orange", "yellow"],
                           "min_churn_probability": [0.2, 0.1, 0.05]})
    con = duckdb.connect(str(warehouse))
    con.execute("create schema warning")
    for name, frame in {"customer_risk_scores": scores, "churn_alerts": alerts, "risk_parameters": params}.items():
        con.register("f", frame)
        con.execute(f"create table warning.{name} as select * from f")
        con.unregister("f")
    con.close()
    published = tmp_path / "published.duckdb"
    publish_snapshot(
        warehouse, published,
        {n: PublishedTable(source=f"warning.{n}") for n in ("customer_risk_scores", "churn_alerts", "risk_parameters")},
        run_id="run-1", as_of_date="2025-12-31",
    )
    return write_report(published, tmp_path / "report.html", as_of_date="2025-12-31", run_id="run-1")


def render(browser: str, page: Path, *extra: str) -> subprocess.CompletedProcess:
    profile = page.parent / "chromium-profile"
    return subprocess.run(
        [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )


def test_report_renders_levels_alerts_and_histogram(report):
    browser = chromium()
    dom = render(browser, report, "--dump-dom").stdout
    cards = dict(re.findall(r'id="level-(\w+)".*?<b>(\d+)</b>', dom, flags=re.S))
    assert cards == {"red": "3", "orange": "2", "yellow": "1", "green": "94"}
    rows = re.findall(r"<tr><td>(C\d{3})</td>", dom)
    assert rows == ["C000", "C001", "C002", "C003", "C004", "C005"], "alerts, highest probability first"
    assert "AUM fell 62% in 3 months" in dom and "RM007" in dom
    assert "<script>alert(1)</script>" not in dom, "text from the data is escaped"
    assert dom.count("<rect") == 20, "the histogram's 20 bars are drawn"
    assert "100 customers scored" in dom


def test_report_screenshot_is_a_real_page(report):
    browser = chromium()
    shot = report.parent / "report.png"
    render(browser, report, f"--screenshot={shot}", "--window-size=1200,900")
    assert shot.exists() and shot.stat().st_size > 10_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
