"""Data-quality gates: run a layer's suites with Great Expectations inside DuckDB, keep every
result, render Data Docs, alert the owners, and stop the run on a critical failure (issue 5,
plan 5.2(1) data quality).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import great_expectations as gx
from great_expectations.data_context.types.base import DataContextConfig, InMemoryStoreBackendDefaults

from include.quality import results as store
from include.quality.duckdb_gx import DuckDBDatasource, duckdb_url, engine_kwargs, open_duckdb
from include.quality.suites import LAYERS, RunParameters, batch_query, list_suites, load_suite

log = logging.getLogger(__name__)

SAMPLE_SIZE = 10
_SAFE = re.compile(r"[^0-9A-Za-z_.=-]+")


class CriticalDataQualityError(RuntimeError):
    """A critical expectation failed: scoring and publishing must not run on this data."""

    def __init__(self, gate_result: GateResult) -> None:
        self.gate_result = gate_result
        self.result = gate_result
        lines = [
            f"{o.table_name}: {o.expectation} failed (observed {o.observed_value!r}"
            + (f", {o.unexpected_count} unexpected" if o.unexpected_count else "") + ")"
            for o in gate_result.critical_failures
        ]
        super().__init__(
            f"critical data-quality failure in the {gate_result.layer} gate for as_of_date "
            f"{gate_result.as_of_date} (run {gate_result.run_id}): " + "; ".join(lines)
            + f". Full report: {gate_result.data_docs_index}"
        )


@dataclass
class ExpectationOutcome:
    suite: str
    table_name: str
    expectation: str
    expectation_type: str
    check: str
    severity: str
    success: bool
    observed_value: Any = None
    unexpected_count: int | None = None
    unexpected_sample: list[Any] = field(default_factory=list)
    exception_message: str | None = None
    column: str | None = None
    description: str = ""


@dataclass
class GateResult:
    layer: str
    run_id: str
    as_of_date: date
    outcomes: list[ExpectationOutcome]
    data_docs_index: Path | None
    validated_at: datetime
    row_counts: dict[str, int] = field(default_factory=dict)
    expectations_dir: Path | None = None

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success]

    @property
    def critical_failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.failures if o.severity == "critical"]

    @property
    def warning_failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.failures if o.severity == "warning"]

    @property
    def failing_tables(self) -> list[str]:
        return sorted({o.table_name for o in self.failures})

    @property
    def success(self) -> bool:
        return not self.critical_failures

    def summary(self) -> dict[str, Any]:
        """JSON-able summary (an Airflow task's return value / XCom)."""
        return {
            "layer": self.layer,
            "run_id": self.run_id,
            "as_of_date": self.as_of_date.isoformat(),
            "expectations": len(self.outcomes),
            "failed": len(self.failures),
            "critical_failed": len(self.critical_failures),
            "warning_failed": len(self.warning_failures),
            "failing_tables": self.failing_tables,
            "data_docs_index": str(self.data_docs_index) if self.data_docs_index else None,
        }


def _as_date(value: date | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _context(docs_dir: Path):
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars={"globally": False},
        data_docs_sites={
            "run": {
                "class_name": "SiteBuilder",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }
        },
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _expectation_label(cfg: dict[str, Any]) -> str:
    meta = cfg.get("meta", {})
    kwargs = cfg.get("kwargs", {})
    target = kwargs.get("column") or ",".join(kwargs.get("column_list", []) or [])
    return f"{meta.get('name') or cfg['type']}" + (f" [{target}]" if target and target not in meta.get("name", "") else "")


def _outcome(suite_doc: dict[str, Any], res: Any) -> ExpectationOutcome:
    cfg = res.expectation_config
    meta = dict(cfg.meta or {})
    kwargs = dict(cfg.kwargs or {})
    result = dict(res.result or {})
    exc = res.exception_info or {}
    message = None
    if isinstance(exc, dict):
        if exc.get("raised_exception"):
            message = exc.get("exception_message")
        else:
            nested = [v for v in exc.values() if isinstance(v, dict) and v.get("raised_exception")]
            if nested:
                message = nested[0].get("exception_message")
    observed = result.get("observed_value")
    unexpected_count = result.get("unexpected_count")
    if cfg.type == "unexpected_rows_expectation":
        unexpected_count = observed
    if observed is None and unexpected_count is not None:
        observed = {"unexpected_count": unexpected_count,
                    "unexpected_percent": result.get("unexpected_percent")}
    sample: list[Any] = []
    if not res.success:
        sample = list(result.get("partial_unexpected_list") or [])[:SAMPLE_SIZE]
        if not sample and result.get("details", {}).get("mismatched"):
            sample = [result["details"]["mismatched"]]
    return ExpectationOutcome(
        suite=suite_doc["name"],
        table_name=suite_doc["meta"]["table"],
        expectation=_expectation_label({"type": cfg.type, "kwargs": kwargs, "meta": meta}),
        expectation_type=cfg.type,
        check=meta.get("check", ""),
        severity=meta.get("severity", "critical"),
        success=bool(res.success),
        observed_value=observed if message is None else f"error: {message.splitlines()[0][:300]}",
        unexpected_count=int(unexpected_count) if isinstance(unexpected_count, int | float) else None,
        unexpected_sample=sample,
        exception_message=message,
        column=kwargs.get("column"),
        description=meta.get("description", ""),
    )


def run_gate(
    layer: str,
    *,
    warehouse_path: str | Path,
    as_of_date: date | str,
    run_id: str,
    expectations_dir: str | Path,
    output_dir: str | Path,
    notify: Callable[[GateResult], Any] | None = None,
    memory_limit: str | None = None,
    threads: int | None = None,
    raise_on_critical: bool = True,
    suites: list[str] | None = None,
    not_applicable: dict[tuple[str, str], str] | None = None,
) -> GateResult:
    """Validate the ``layer``'s suites for ``as_of_date`` and keep the results.

    Order matters for the pipeline: results are stored and owners notified (``notify`` gets the
    :class:`GateResult` when anything failed) before :class:`CriticalDataQualityError` is raised,
    so a stopped run still leaves its evidence and its alerts. Warnings never raise.
    ``suites`` restricts the gate to these suite names (e.g. ``["raw.transactions"]``).
    ``not_applicable`` names checks the source cannot meet, ``{(table, check family or
    expectation name): reason}`` (a one-snapshot export is not a daily feed, see
    :func:`include.ingestion.mapping.gate_exemptions`): they are not run, and are recorded as
    passed with ``observed_value`` "not applicable: <reason>", so the results say why.
    """
    if layer not in LAYERS:
        raise ValueError(f"unknown layer {layer!r}; expected one of {LAYERS}")
    warehouse_path = Path(warehouse_path)
    expectations_dir = Path(expectations_dir)
    params = RunParameters(_as_date(as_of_date))
    validated_at = datetime.now(UTC).replace(tzinfo=None)
    safe_run = _SAFE.sub("_", run_id)
    output_dir = Path(output_dir)
    # One Data Docs site per run and layer; a caller may already pass a per-run folder.
    docs_dir = (output_dir if output_dir.name == safe_run else output_dir / safe_run) / layer
    suite_docs = [load_suite(p, params) for p in list_suites(expectations_dir, layer)]
    if suites is not None:
        unknown = set(suites) - {d["name"] for d in suite_docs}
        if unknown:
            raise ValueError(f"no {layer} suite named {sorted(unknown)} under {expectations_dir / 'suites'}")
        suite_docs = [d for d in suite_docs if d["name"] in suites]

    # The quality tables must exist before validation: volume checks read the previous counts.
    with _writer(warehouse_path, memory_limit, threads) as con:
        store.ensure_tables(con)
        existing = {f"{s}.{t}" for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables").fetchall()}

    # A table the layer should have built but did not is a critical failure of its suite, not a
    # crash of the gate: the other suites still run and the owner hears about the missing table.
    missing = [d for d in suite_docs if d["meta"]["table"] not in existing]
    suite_docs = [d for d in suite_docs if d["meta"]["table"] in existing]
    outcomes: list[ExpectationOutcome] = [
        ExpectationOutcome(suite=d["name"], table_name=d["meta"]["table"], expectation="table_exists",
                           expectation_type="table_exists", check="schema", severity="critical",
                           success=False, observed_value="missing",
                           description=f"{d['meta']['table']} does not exist in the warehouse")
        for d in missing
    ]
    for d in suite_docs:
        kept = []
        for exp in d["expectations"]:
            meta = exp.get("meta", {})
            reason = (not_applicable or {}).get((d["meta"]["table"], meta.get("name"))) or \
                (not_applicable or {}).get((d["meta"]["table"], meta.get("check")))
            if reason is None:
                kept.append(exp)
                continue
            outcomes.append(ExpectationOutcome(
                suite=d["name"], table_name=d["meta"]["table"], expectation=_expectation_label(exp),
                expectation_type=exp["type"], check=meta.get("check", ""), severity=meta.get("severity", "critical"),
                success=True, observed_value=f"not applicable: {reason}", column=exp.get("kwargs", {}).get("column"),
                description=meta.get("description", "")))
        d["expectations"] = kept
    data_docs_index: Path | None = None
    batches: dict[str, str] = {}
    if suite_docs:
        validated, data_docs_index, batches = _validate(
            suite_docs, warehouse_path=warehouse_path, params=params, run_id=run_id,
            docs_dir=docs_dir, memory_limit=memory_limit, threads=threads,
        )
        outcomes += validated

    pii = store.pii_columns()
    with _writer(warehouse_path, memory_limit, threads) as con:
        # Sample rows of failed custom-SQL checks: GX keeps only their count in SUMMARY results.
        for o, doc in _sql_failures(outcomes, suite_docs):
            o.unexpected_sample = _sql_sample(con, doc, batches[o.suite], o)
        for o in outcomes:
            o.unexpected_sample = store.mask_sample(o.unexpected_sample, column=o.column, pii=pii)
        counts = {doc["meta"]["table"]: con.execute(f"select count(*) from ({batches[doc['name']]})").fetchone()[0]
                  for doc in suite_docs}
        rows = [
            {
                "run_id": run_id, "as_of_date": params.as_of_date, "layer": layer, "suite": o.suite,
                "table_name": o.table_name, "expectation": o.expectation, "expectation_type": o.expectation_type,
                "check_family": o.check, "severity": o.severity, "success": o.success,
                "observed_value": store.to_json(o.observed_value), "unexpected_count": o.unexpected_count,
                "unexpected_sample": store.to_json(o.unexpected_sample) if o.unexpected_sample else None,
                "exception_message": o.exception_message,
                "data_docs_path": str(data_docs_index) if data_docs_index else None,
                "validated_at": validated_at,
            }
            for o in outcomes
        ]
        store.store(con, rows, run_id=run_id, suites=[d["name"] for d in suite_docs + missing])
        days = {doc["meta"]["table"]: int(params.values()["partition_days"]) for doc in suite_docs
                if doc["meta"].get("batch", {}).get("kind") == "month"}
        store.store_volumes(con, counts, run_id=run_id, as_of_date=params.as_of_date, measured_at=validated_at,
                            batch_days=days)

    result = GateResult(layer=layer, run_id=run_id, as_of_date=params.as_of_date, outcomes=outcomes,
                        data_docs_index=data_docs_index, validated_at=validated_at, row_counts=counts,
                        expectations_dir=expectations_dir)
    log.info("%s gate for %s: %d expectations, %d failed (%d critical); report %s", layer,
             params.as_of_date, len(outcomes), len(result.failures), len(result.critical_failures),
             data_docs_index)
    if result.failures and notify is not None:
        notify(result)
    if result.critical_failures and raise_on_critical:
        raise CriticalDataQualityError(result)
    return result


@contextmanager
def _writer(path: Path, memory_limit: str | None, threads: int | None):
    config: dict[str, Any] = {}
    if memory_limit:
        config["memory_limit"] = memory_limit
    if threads:
        config["threads"] = threads
    con = open_duckdb(path, config=config)
    try:
        yield con
    finally:
        con.close()


def _validate(suite_docs: list[dict[str, Any]], *, warehouse_path: Path, params: RunParameters, run_id: str,
              docs_dir: Path, memory_limit: str | None, threads: int | None):
    docs_dir.mkdir(parents=True, exist_ok=True)
    context = _context(docs_dir)
    datasource: DuckDBDatasource = context.data_sources.add_duckdb(
        name="warehouse",
        connection_string=duckdb_url(warehouse_path),
        kwargs=engine_kwargs(read_only=True, memory_limit=memory_limit, threads=threads),
    )
    batches: dict[str, str] = {}
    definitions = []
    try:
        for doc in suite_docs:
            table = doc["meta"]["table"]
            schema, name = table.split(".", 1)
            query = batch_query(table, doc["meta"].get("batch", {}), params)
            batches[doc["name"]] = query or f"select * from {table}"
            if query is None:
                asset = datasource.add_table_asset(name=doc["name"], table_name=name, schema_name=schema)
            else:
                asset = datasource.add_query_asset(name=doc["name"], query=query)
            batch_definition = asset.add_batch_definition_whole_table("run_batch")
            suite = gx.ExpectationSuite(name=doc["name"], expectations=doc["expectations"], meta=doc["meta"])
            if len(suite.expectations) != len(doc["expectations"]):
                raise ValueError(f"suite {doc['name']}: Great Expectations rejected "
                                 f"{len(doc['expectations']) - len(suite.expectations)} expectation(s)")
            suite = context.suites.add(suite)
            definitions.append(context.validation_definitions.add(
                gx.ValidationDefinition(name=doc["name"], data=batch_definition, suite=suite)))
        checkpoint = context.checkpoints.add(gx.Checkpoint(
            name=f"{doc['meta']['layer']}_gate",
            validation_definitions=definitions,
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_SIZE},
        ))
        checkpoint_result = checkpoint.run(
            run_id=gx.core.run_identifier.RunIdentifier(run_name=run_id, run_time=datetime.now(UTC)))
    finally:
        datasource.close()
    # Once for the whole gate: UpdateDataDocsAction would rebuild the site after every suite.
    context.build_data_docs(site_names=["run"])
    by_suite = {doc["name"]: doc for doc in suite_docs}
    outcomes: list[ExpectationOutcome] = []
    for validation in checkpoint_result.run_results.values():
        doc = by_suite[validation.suite_name]
        outcomes.extend(_outcome(doc, r) for r in validation.results)
    index = docs_dir / "index.html"
    return outcomes, (index if index.exists() else None), batches


def _sql_failures(outcomes: list[ExpectationOutcome], suite_docs: list[dict[str, Any]]):
    by_suite = {d["name"]: d for d in suite_docs}
    for o in outcomes:
        if not o.success and o.expectation_type == "unexpected_rows_expectation" and o.exception_message is None:
            yield o, by_suite[o.suite]


def _sql_sample(con, doc: dict[str, Any], batch_sql: str, outcome: ExpectationOutcome) -> list[dict[str, Any]]:
    for exp in doc["expectations"]:
        if exp["type"] == "unexpected_rows_expectation" and _expectation_label(exp) == outcome.expectation:
            try:
                return unexpected_rows(con, exp["kwargs"]["unexpected_rows_query"], batch_sql, limit=SAMPLE_SIZE)
            except Exception as exc:  # a sample is a courtesy; the failure itself is recorded
                log.warning("could not sample %s: %s", outcome.expectation, exc)
                return []
    return []


def unexpected_rows(con, unexpected_rows_query: str, batch_sql: str, *, limit: int | None = None) -> list[dict[str, Any]]:
    """The rows a custom-SQL expectation flags, computed the way GX does (for samples and audits)."""
    # The same substitution GX makes: queries with a JOIN alias {batch} themselves.
    has_join = re.search(r"\bjoin\b", unexpected_rows_query, flags=re.IGNORECASE) is not None
    query = unexpected_rows_query.replace("{batch}", f"({batch_sql})" if has_join else f"({batch_sql}) as subselect")
    query = query.replace("{{", "{").replace("}}", "}")  # str.format escapes, as GX unescapes them
    cur = con.execute(f"select * from ({query})" + (f" limit {int(limit)}" if limit else ""))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
