"""Loopback services for the alert tests: a real SMTP server (aiosmtpd) and a real HTTP server."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@pytest.fixture
def smtp_server(smtp_mailbox, monkeypatch):
    """The real SMTP server of the root conftest; Airflow's ``smtp_default`` connection points at it."""
    mailbox, uri = smtp_mailbox
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", uri + "&from_email=churn-warning%40bank.example")
    return mailbox


@pytest.fixture
def webhook_server():
    """A real HTTP server on 127.0.0.1 recording JSON POSTs; yields (base_url, received)."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's hook name)
            length = int(self.headers.get("Content-Length", 0))
            received.append({"path": self.path, "json": json.loads(self.rfile.read(length))})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
