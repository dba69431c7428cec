"""Alerts to data owners: exactly the owners of the failing tables, by e-mail and webhook.

Each owner gets one message per gate run listing their failing tables, the failed expectations,
observed values and counts, a sample of offending values (PII already masked by the gate), the
run id, the as_of_date and where the full Data Docs report is (issue 5, plan 3.3(6), 5.2(1)).
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from include import notifications
from include.quality.gate import ExpectationOutcome, GateResult

MAX_FAILURES_PER_TABLE = 25


@dataclass(frozen=True)
class Owner:
    key: str
    name: str
    email: str
    webhook: str | None = None


@dataclass(frozen=True)
class OwnersMap:
    owners: dict[str, Owner]
    tables: dict[str, str]
    default: str | None

    def owner_of(self, table: str) -> Owner:
        """Exact table name first, then the layer wildcard (``marts.*``), then the default owner."""
        key = self.tables.get(table) or self.tables.get(table.split(".", 1)[0] + ".*") or self.default
        if key is None:
            raise KeyError(f"no owner for {table!r} in the owners file and no default owner")
        return self.owners[key]


def load_owners(path: str | Path) -> OwnersMap:
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    owners = {
        key: Owner(key=key, name=spec["name"], email=spec["email"], webhook=spec.get("webhook"))
        for key, spec in (doc.get("owners") or {}).items()
    }
    tables = dict(doc.get("tables") or {})
    default = doc.get("default")
    unknown = sorted({v for v in tables.values() if v not in owners} | ({default} - set(owners) - {None}))
    if unknown:
        raise ValueError(f"{path}: tables refer to owners that are not defined: {unknown}")
    return OwnersMap(owners=owners, tables=tables, default=default)


def _report_location(result: GateResult, base_report_url: str | None, report_root: Path | None) -> str:
    if result.data_docs_index is None:
        return "(no Data Docs were built)"
    if base_report_url and report_root is not None:
        try:
            relative = result.data_docs_index.relative_to(report_root)
            return base_report_url.rstrip("/") + "/" + relative.as_posix()
        except ValueError:
            pass
    return str(result.data_docs_index)


def _failure_dict(o: ExpectationOutcome) -> dict[str, Any]:
    return {
        "expectation": o.expectation,
        "severity": o.severity,
        "check": o.check,
        "observed_value": o.observed_value,
        "unexpected_count": o.unexpected_count,
        "unexpected_sample": o.unexpected_sample,
        "description": o.description,
    }


def build_payload(result: GateResult, owner: Owner, tables: list[str], report: str) -> dict[str, Any]:
    failures = {t: [_failure_dict(o) for o in result.failures if o.table_name == t] for t in tables}
    critical = any(f["severity"] == "critical" for fs in failures.values() for f in fs)
    return {
        "event": "data_quality_failure",
        "severity": "critical" if critical else "warning",
        "run_stopped": critical,
        "layer": result.layer,
        "run_id": result.run_id,
        "as_of_date": result.as_of_date.isoformat(),
        "owner": {"key": owner.key, "name": owner.name},
        "tables": [{"table": t, "failures": fs[:MAX_FAILURES_PER_TABLE], "failed_count": len(fs)}
                   for t, fs in failures.items()],
        "report": report,
    }


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return html.escape(text if len(text) <= 400 else text[:400] + "…")


def render_email(payload: dict[str, Any]) -> tuple[str, str]:
    """Subject and HTML body of an owner's alert."""
    severity = payload["severity"].upper()
    tables = ", ".join(t["table"] for t in payload["tables"])
    subject = (f"[churn-warning] {severity} data-quality failure: {tables} "
               f"(as_of_date {payload['as_of_date']}, run {payload['run_id']})")
    consequence = ("The run was stopped before scoring and publishing; the last good published "
                   "snapshot stays in place." if payload["run_stopped"] else
                   "The run went on (warnings only). Please look into it before the next run.")
    parts = [
        "<html><body>",
        f"<p>Dear {html.escape(payload['owner']['name'])},</p>",
        f"<p>The <b>{html.escape(payload['layer'])}</b> data-quality gate of run "
        f"<code>{html.escape(payload['run_id'])}</code> for as_of_date <b>{payload['as_of_date']}</b> "
        f"found problems in data you own. {consequence}</p>",
    ]
    for table in payload["tables"]:
        parts.append(f"<h3>{html.escape(table['table'])} — {table['failed_count']} failed expectation(s)</h3>")
        parts.append("<table border='1' cellpadding='4' cellspacing='0'><tr><th>Expectation</th><th>Severity</th>"
                     "<th>Observed value</th><th>Unexpected count</th><th>Sample (PII masked)</th></tr>")
        for f in table["failures"]:
            parts.append(
                f"<tr><td>{html.escape(f['expectation'])}"
                + (f"<br><small>{html.escape(f['description'])}</small>" if f["description"] else "")
                + f"</td><td>{html.escape(f['severity'])}</td><td>{_value(f['observed_value'])}</td>"
                f"<td>{'' if f['unexpected_count'] is None else f['unexpected_count']}</td>"
                f"<td>{_value(f['unexpected_sample']) if f['unexpected_sample'] else ''}</td></tr>"
            )
        parts.append("</table>")
    parts.append(f"<p>Full report (Great Expectations Data Docs): {html.escape(payload['report'])}</p>")
    parts.append("<p>Results are also in the warehouse table quality.data_quality_results "
                 f"(run_id = '{html.escape(payload['run_id'])}').</p></body></html>")
    return subject, "\n".join(parts)


def notify_owners(
    gate_result: GateResult,
    *,
    smtp_conn_id: str = "smtp_default",
    sender: str | None = None,
    owners_path: str | Path | None = None,
    base_report_url: str | None = None,
    report_root: str | Path | None = None,
    webhooks: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Alert the owners of the tables that failed in ``gate_result``; nobody else, nothing if all passed.

    ``owners_path`` defaults to ``owners.yml`` beside the suites the gate ran. ``base_report_url``
    with ``report_root`` turns the Data Docs path into a link (report_root is the folder served at
    that URL). ``webhooks`` adds or overrides owners' webhook URLs at run time. Every owner is
    tried; delivery errors are raised together at the end, naming each recipient."""
    if not gate_result.failures:
        return []
    if owners_path is None and gate_result.expectations_dir is None:
        raise ValueError("notify_owners needs owners_path: the gate result does not say where its suites came from")
    owners = load_owners(owners_path or Path(gate_result.expectations_dir) / "owners.yml")
    by_owner: dict[str, list[str]] = {}
    for table in gate_result.failing_tables:
        by_owner.setdefault(owners.owner_of(table).key, []).append(table)
    report = _report_location(gate_result, base_report_url, Path(report_root) if report_root else None)
    sent: list[dict[str, Any]] = []
    errors: list[str] = []
    for key, tables in sorted(by_owner.items()):
        owner = owners.owners[key]
        payload = build_payload(gate_result, owner, tables, report)
        subject, body = render_email(payload)
        record = {"owner": key, "email": owner.email, "tables": tables, "severity": payload["severity"],
                  "subject": subject, "webhook": None}
        try:
            notifications.send_email(owner.email, subject, body, conn_id=smtp_conn_id, sender=sender)
        except Exception as error:
            errors.append(f"e-mail to {owner.email}: {error}")
        url = (webhooks or {}).get(key) or owner.webhook
        if url:
            try:
                notifications.post_webhook(url, payload)
                record["webhook"] = url
            except Exception as error:
                errors.append(f"webhook of {key}: {error}")
        sent.append(record)
    if errors:
        raise notifications.NotificationError("data-quality alerts not delivered: " + "; ".join(errors))
    return sent
