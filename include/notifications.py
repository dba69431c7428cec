"""Outgoing notifications: e-mail through Airflow's SMTP connection, and JSON webhooks (plan 3.3(6)).

Generic on purpose: data-quality alerts to data owners and the relationship managers' warning
digests both go through these two functions. The SMTP server, its credentials and the sender
default live in the Airflow connection (``smtp_default`` unless told otherwise), never in the
repository: in production an Airflow connection or secrets backend, in tests the environment
variable ``AIRFLOW_CONN_SMTP_DEFAULT``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

import requests

log = logging.getLogger(__name__)


class NotificationError(RuntimeError):
    """A notification could not be delivered (the message names the recipient and the cause)."""


def _addresses(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.replace(";", ",").split(",")
    return [a.strip() for a in value if a and a.strip()]


def send_email(
    to: str | Iterable[str],
    subject: str,
    html: str,
    *,
    conn_id: str = "smtp_default",
    sender: str | None = None,
    cc: str | Iterable[str] | None = None,
    headers: Mapping[str, str] | None = None,
    files: list[str] | None = None,
) -> list[str]:
    """Send one HTML e-mail through the Airflow SMTP connection ``conn_id``; returns the recipients.

    ``sender`` falls back to the connection's ``from_email`` extra."""
    from airflow.providers.smtp.hooks.smtp import SmtpHook  # Airflow is heavy: import on use

    recipients = _addresses(to)
    if not recipients:
        raise NotificationError(f"e-mail {subject!r} has no recipient")
    try:
        with SmtpHook(smtp_conn_id=conn_id) as hook:
            hook.send_email_smtp(
                to=recipients,
                cc=_addresses(cc) or None,
                subject=subject,
                html_content=html,
                from_email=sender,
                files=files,
                custom_headers=dict(headers or {}) or None,
            )
    except Exception as error:
        raise NotificationError(
            f"could not send e-mail {subject!r} to {', '.join(recipients)} through connection "
            f"{conn_id!r}: {error}"
        ) from error
    log.info("e-mail %r sent to %s", subject, ", ".join(recipients))
    return recipients + _addresses(cc)


def post_webhook(
    url: str,
    payload: Mapping[str, Any],
    *,
    timeout: float = 10.0,
    headers: Mapping[str, str] | None = None,
) -> int:
    """POST ``payload`` as JSON to ``url``; returns the HTTP status, raises on a non-2xx answer."""
    try:
        response = requests.post(
            url,
            data=json.dumps(payload, default=str, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json; charset=utf-8", **dict(headers or {})},
            timeout=timeout,
        )
    except requests.RequestException as error:
        raise NotificationError(f"webhook {url} unreachable: {error}") from error
    if not 200 <= response.status_code < 300:
        raise NotificationError(f"webhook {url} answered HTTP {response.status_code}: {response.text[:200]}")
    log.info("webhook %s answered %s", url, response.status_code)
    return response.status_code
