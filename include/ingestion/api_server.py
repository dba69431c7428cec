"""A reference server for the ingestion API shape (see :mod:`include.ingestion.api`).

It serves a source directory (simulator output or a bank's export in the same layout) over
HTTP, so a bank's integration team can compare its own endpoint with a working one, and the
tests can load through a real HTTP round trip. Pages are ordered by primary key; the cursor is an
opaque offset. Not meant for production traffic.

    python -m include.ingestion.api_server --source data/source/tiny --port 8765
"""

from __future__ import annotations

import argparse
import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import duckdb

from include.contract import load_contract
from include.ingestion.core import qi, ql
from include.ingestion.files import discover


def _load(source_dir: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for name, files in discover(source_dir).items():
        listing = "[" + ", ".join(ql(str(f)) for f in files) + "]"
        if all(f.suffix == ".parquet" for f in files):
            scan = f"read_parquet({listing}, union_by_name = true, hive_partitioning = false)"
        else:
            scan = f"read_csv({listing}, union_by_name = true, all_varchar = true, ignore_errors = true)"
        con.execute(f"CREATE TABLE {qi(name)} AS SELECT * FROM {scan}")
    return con


class _Handler(BaseHTTPRequestHandler):
    con: duckdb.DuckDBPyConnection
    max_limit = 50_000

    def log_message(self, format, *args):  # noqa: A002 - quiet in tests
        pass

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body, default=str).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 - http.server's naming
        parts = urlsplit(self.path)
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) != 2 or segments[0] != "tables":
            return self._send(404, {"error": "expected /tables/<table>"})
        name = segments[1]
        cur = self.con.cursor()
        exists = cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]).fetchone()[0]
        if not exists:
            return self._send(404, {"error": f"no table {name}"})
        q = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        limit = max(1, min(int(q.get("limit", 1000)), self.max_limit))
        offset = int(base64.urlsafe_b64decode(q["cursor"]).decode()) if q.get("cursor") else 0
        columns = [r[0] for r in cur.execute(f"DESCRIBE {qi(name)}").fetchall()]
        table = load_contract().tables.get(name)
        where, params = "", []
        if q.get("since") and table is not None and table.watermark in columns:
            wm_type = table.column(table.watermark).type
            where = f"WHERE TRY_CAST({qi(table.watermark)} AS {wm_type}) >= CAST(? AS {wm_type}) OR TRY_CAST({qi(table.watermark)} AS {wm_type}) IS NULL"
            params.append(q["since"])
        order = ", ".join(qi(k) for k in (table.primary_key if table else columns) if k in columns) or "ALL"
        rows = cur.execute(
            f"SELECT * FROM {qi(name)} {where} ORDER BY {order} LIMIT {limit} OFFSET {offset}", params
        ).fetchall()
        next_cursor = base64.urlsafe_b64encode(str(offset + limit).encode()).decode() if len(rows) == limit else None
        # JSON carries text only: bytes that are not UTF-8 arrive with replacement characters,
        # as they would from a bank's own API.
        def value(v):
            return v.decode("utf-8", "replace") if isinstance(v, bytes | bytearray) else v

        self._send(200, {"table": name, "columns": columns,
                         "rows": [{c: value(v) for c, v in zip(columns, r, strict=True)} for r in rows],
                         "next_cursor": next_cursor})


def serve(source_dir: str | Path, host: str = "127.0.0.1", port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """Start serving ``source_dir`` in a daemon thread; returns (server, base URL). Call
    ``server.shutdown()`` to stop."""
    con = _load(Path(source_dir))
    handler = type("Handler", (_Handler,), {"con": con})
    server = ThreadingHTTPServer((host, port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://{host}:{server.server_address[1]}"


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve a source directory through the ingestion API shape.")
    parser.add_argument("--source", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    server, url = serve(args.source, args.host, args.port)
    print(f"serving {args.source} at {url}/tables/<table>", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.shutdown()


if __name__ == "__main__":
    main()
