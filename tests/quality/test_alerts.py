"""Owner alerts: exactly the owners of failing tables get a real e-mail (SMTP on loopback) and
webhook call (HTTP on loopback) with the failures, observed values, counts, masked samples, run,
as_of_date and report location."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from include.notifications import NotificationError, post_webhook, send_email
from include.quality import ExpectationOutcome, GateResult, load_owners, notify_owners
from include.quality.results import mask, mask_sample, pii_columns
from tests.conftest import PROJECT_ROOT

OWNERS = PROJECT_ROOT / "expectations" / "owners.yml"


def _outcome(table, name, severity, success, **kw):
    return ExpectationOutcome(suite=table, table_name=table, expectation=name, expectation_type="x",
                              check="c", severity=severity, success=success, **kw)


@pytest.fixture
def gate_result(tmp_path) -> GateResult:
    docs = tmp_path / "quality" / "run_7" / "raw" / "index.html"
    docs.parent.mkdir(parents=True)
    docs.write_text("<html></html>")
    return GateResult(
        layer="raw", run_id="run_7", as_of_date=date(2025, 12, 31), data_docs_index=docs,
        validated_at=datetime(2026, 1, 1), expectations_dir=OWNERS.parent,
        outcomes=[
            _outcome("raw.transactions", "customer_id_in_customers", "warning", False,
                     observed_value=3, unexpected_count=3, unexpected_sample=[{"customer_id": "GHOST-1"}]),
            _outcome("raw.transactions", "amount_in_range", "warning", True),
            _outcome("raw.customers", "customer_id_unique", "critical", True),
            _outcome("marts.customer_indicators", "primary_key_unique", "critical", False,
                     observed_value={"unexpected_count": 2}, unexpected_count=2,
                     unexpected_sample=[["C00001", "2025-12-31"]]),
        ],
    )


def test_owner_resolution_exact_wildcard_default():
    owners = load_owners(OWNERS)
    assert owners.owner_of("raw.transactions").email == "payments-data@bank.example"
    assert owners.owner_of("marts.scoring_panel").key == "analytics_engineering"
    assert owners.owner_of("raw.some_new_table").key == "data_platform"
    for table in ("raw.customers", "raw.rm_assignments", "raw.products", "raw.balance_snapshots",
                  "raw.transactions", "raw.service_interactions", "raw.digital_activity",
                  "raw.market_environment", "raw.churn_events", "raw.retention_actions"):
        assert owners.owner_of(table).key != "data_platform", f"{table} has no named owner"


def test_undefined_owner_is_rejected(tmp_path):
    path = tmp_path / "owners.yml"
    path.write_text("owners: {a: {name: A, email: a@x.example}}\ntables: {raw.customers: b}\n")
    with pytest.raises(ValueError, match="not defined"):
        load_owners(path)


def test_only_owners_of_failing_tables_are_alerted(gate_result, smtp_server, webhook_server):
    base_url, received = webhook_server
    sent = notify_owners(gate_result, smtp_conn_id="smtp_default",
                         webhooks={"analytics_engineering": f"{base_url}/hooks/analytics"},
                         base_report_url="https://reports.bank.example/quality",
                         report_root=gate_result.data_docs_index.parents[2])
    assert sorted(r["owner"] for r in sent) == ["analytics_engineering", "cards_and_payments"]
    by_rcpt = {tuple(m["rcpt_tos"]): m for m in smtp_server.messages}
    assert set(by_rcpt) == {("payments-data@bank.example",), ("analytics-engineering@bank.example",)}
    payments = by_rcpt[("payments-data@bank.example",)]
    assert payments["mail_from"] == "churn-warning@bank.example"  # the connection's from_email
    assert "WARNING" in payments["subject"] and "raw.transactions" in payments["subject"]
    assert "2025-12-31" in payments["subject"] and "run_7" in payments["subject"]
    assert "customer_id_in_customers" in payments["html"] and "GHOST-1" in payments["html"]
    assert "amount_in_range" not in payments["html"]  # passed expectations are not reported
    assert "marts.customer_indicators" not in payments["html"]  # other owners' tables are not shown
    assert "https://reports.bank.example/quality/run_7/raw/index.html" in payments["html"]
    marts = by_rcpt[("analytics-engineering@bank.example",)]
    assert "CRITICAL" in marts["subject"] and "stopped before scoring" in marts["html"]
    assert received == [{"path": "/hooks/analytics", "json": received[0]["json"]}]
    payload = received[0]["json"]
    assert payload["severity"] == "critical" and payload["run_stopped"] is True
    assert payload["run_id"] == "run_7" and payload["as_of_date"] == "2025-12-31"
    assert payload["tables"][0]["table"] == "marts.customer_indicators"
    assert payload["tables"][0]["failures"][0]["unexpected_count"] == 2


def test_no_failure_no_message(gate_result, smtp_server):
    gate_result.outcomes = [o for o in gate_result.outcomes if o.success]
    assert notify_owners(gate_result) == []
    assert smtp_server.messages == []


def test_generic_email_and_webhook_helpers(smtp_server, webhook_server):
    base_url, received = webhook_server
    recipients = send_email(["rm1@bank.example", "rm2@bank.example"], "Digest 2025-12-31", "<p>3 alerts</p>",
                            conn_id="smtp_default", sender="digest@bank.example")
    assert recipients == ["rm1@bank.example", "rm2@bank.example"]
    [message] = smtp_server.messages
    assert message["rcpt_tos"] == recipients and message["mail_from"] == "digest@bank.example"
    assert message["subject"] == "Digest 2025-12-31" and "3 alerts" in message["html"]
    assert post_webhook(f"{base_url}/x", {"alerts": 3}) == 204
    assert received[-1] == {"path": "/x", "json": {"alerts": 3}}


def test_undeliverable_alert_names_the_recipient(gate_result, monkeypatch):
    port = 9  # discard port on loopback: nothing listens, the connection is refused
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT",
                       f"smtp://127.0.0.1:{port}?disable_tls=true&disable_ssl=true&retry_limit=0&timeout=2")
    with pytest.raises(NotificationError, match="payments-data@bank.example"):
        notify_owners(gate_result)


def test_pii_masking():
    pii = pii_columns()
    assert {"name", "phone", "email"} <= pii
    rows = mask_sample([{"customer_id": "C1", "email": "li.wei@example.com"}], column=None, pii=pii)
    assert rows[0]["customer_id"] == "C1" and rows[0]["email"] == mask("li.wei@example.com")
    assert "li.wei" not in str(rows)
    assert mask_sample(["+8613800000000"], column="phone", pii=pii) == [mask("+8613800000000")]
    assert mask_sample([42], column="amount", pii=pii) == [42]


def test_report_path_without_url(gate_result):
    from include.quality.alerts import _report_location

    assert _report_location(gate_result, None, None) == str(gate_result.data_docs_index)
    assert Path(_report_location(gate_result, "https://x", Path("/elsewhere"))) == gate_result.data_docs_index
