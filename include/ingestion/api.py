"""HTTP JSON API with cursor pagination (plan 3.3(1) "APIs").

The API shape a source must offer (documented in docs/ingestion.md; a reference server is in
:mod:`include.ingestion.api_server`)::

    GET <base>/tables/<table>?limit=<n>[&cursor=<c>][&since=<watermark>]
    200 {"table": "<table>", "columns": ["customer_id", ...],
         "rows": [{"customer_id": "C1", ...}, ...], "next_cursor": "<c>" | null}
    404 the source does not offer this table

``since`` asks for rows whose watermark column is at or after the value (a source that ignores
it still loads correctly, only more slowly: the primary key comparison skips what is loaded).
``columns`` lets schema drift be reported even for an empty page. Pages are appended to a
newline-delimited JSON file with their page number and cursor, which DuckDB reads as text, so a
quarantined row names the page (and cursor) and position it came from.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from include.ingestion.core import (
    IngestionError,
    LoadFailed,
    LoadReport,
    check_required,
    get_watermark,
    load_relation,
    merge_drift,
    new_load_id,
    open_warehouse,
    qi,
    ql,
    record_no_source,
    select_tables,
    table_load,
    utcnow,
)


def api_endpoint(base_url_or_conn_id: str) -> tuple[str, dict[str, str], Any]:
    """(base URL, headers, auth) from a URL or an Airflow HTTP connection id."""
    if base_url_or_conn_id.startswith(("http://", "https://")):
        return base_url_or_conn_id.rstrip("/"), {}, None
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(base_url_or_conn_id)
    host = conn.host or "localhost"
    if not host.startswith(("http://", "https://")):
        scheme = conn.schema or "http"
        host = f"{scheme}://{host}" + (f":{conn.port}" if conn.port else "")
    extra = conn.extra_dejson or {}
    headers = {str(k): str(v) for k, v in (extra.get("headers") or {}).items()}
    auth = (conn.login, conn.password) if conn.login else None
    return host.rstrip("/"), headers, auth


def _json_path(key: str) -> str:
    return '$."' + key.replace('"', '\\"') + '"'


def _get(session, url: str, params: dict, headers: dict, auth, retries: int, timeout: float):
    last: Exception | None = None
    for attempt in range(retries + 1):
        try:
            resp = session.get(url, params=params, headers=headers, auth=auth, timeout=timeout)
            if resp.status_code >= 500:
                raise IngestionError(f"GET {resp.url} answered {resp.status_code}")
            return resp
        except Exception as exc:  # noqa: BLE001 - network errors and 5xx are retried alike
            last = exc
            time.sleep(min(2**attempt * 0.2, 5))
    raise IngestionError(f"the API at {url} did not answer after {retries + 1} attempts: {last}")


def ingest_api(
    base_url_or_conn_id: str,
    warehouse_path: str | Path,
    *,
    tables: list[str] | None = None,
    page_size: int = 5000,
    now: dt.datetime | None = None,
    retries: int = 3,
    timeout: float = 60.0,
    memory_limit: str | None = None,
    threads: int | None = None,
    raise_on_failure: bool = True,
    full_refresh: bool = False,
) -> list[LoadReport]:
    """Load the contract tables from a paginated JSON API into ``raw``."""
    import requests

    base, headers, auth = api_endpoint(base_url_or_conn_id)
    con = open_warehouse(warehouse_path, memory_limit=memory_limit, threads=threads)
    load_id = new_load_id("api")
    reports: list[LoadReport] = []
    errors: list[Exception] = []
    session = requests.Session()
    try:
        for table in select_tables(tables):
            url = f"{base}/tables/{table.name}"
            report = LoadReport(load_id, table.name, source=url, source_kind="api", started_at=utcnow())
            reports.append(report)
            fd, tmp = tempfile.mkstemp(prefix="churn_api_", suffix=".ndjson")
            os.close(fd)
            try:
                with table_load(con, report, errors):
                    params: dict[str, Any] = {"limit": page_size}
                    wm = get_watermark(con, table.name, url) if table.watermark and not full_refresh else None
                    if wm is not None:
                        params["since"] = wm
                    columns: set[str] = set()
                    page, cursor, offered = 0, None, True
                    with open(tmp, "w", encoding="utf-8") as out:
                        while True:
                            page += 1
                            if cursor is not None:
                                params["cursor"] = cursor
                            resp = _get(session, url, params, headers, auth, retries, timeout)
                            if resp.status_code == 404 and page == 1:
                                offered = False
                                break
                            if resp.status_code != 200:
                                raise IngestionError(f"GET {resp.url} answered {resp.status_code}: {resp.text[:200]}")
                            body = resp.json()
                            rows = body.get("rows")
                            if not isinstance(rows, list):
                                raise IngestionError(f"GET {resp.url}: the answer has no 'rows' list")
                            columns.update(body.get("columns") or [])
                            label = f"page {page}" + (f" (cursor {cursor})" if cursor is not None else "")
                            for i, row in enumerate(rows, start=1):
                                columns.update(row)
                                out.write(json.dumps({"values": row, "_source_page": label, "_item": i}, default=str))
                                out.write("\n")
                            cursor = body.get("next_cursor")
                            if not cursor or not rows:
                                break
                    if not offered:
                        report.message = f"GET {url} answered 404: the API does not offer this table"
                        record_no_source(con, report)
                        continue
                    merge_drift(report.drift, table, url, columns)
                    check_required(table, report.drift)
                    present = [c for c in columns if c.lower() in {k.name.lower() for k in table.columns}]
                    if os.path.getsize(tmp) == 0:
                        relation = ("SELECT " + ", ".join(f"CAST(NULL AS VARCHAR) AS {qi(c)}" for c in present)
                                    + ", CAST(NULL AS VARCHAR) AS _source, CAST(NULL AS VARCHAR) AS _row WHERE false")
                    else:
                        fields = ", ".join(f"{qi(c)} := json_extract_string(values, {ql(_json_path(c))})" for c in present)
                        # Every value is taken as text, whatever its JSON type, and cast by the contract.
                        relation = (
                            f"SELECT unnest(struct_pack({fields})), {ql(url)} AS _source, "
                            f"_source_page || ' item ' || CAST(_item AS VARCHAR) AS _row "
                            f"FROM read_json({ql(tmp)}, format = 'newline_delimited', "
                            f"columns = {{values: 'JSON', _source_page: 'VARCHAR', _item: 'BIGINT'}})"
                        )
                    load_relation(con, table, relation, source_columns=dict.fromkeys(present, "VARCHAR"),
                                  report=report, watermark_source=url, now=now, incremental=not full_refresh)
            finally:
                Path(tmp).unlink(missing_ok=True)
    finally:
        session.close()
        con.close()
    if errors and raise_on_failure:
        raise LoadFailed(reports, errors)
    return reports
