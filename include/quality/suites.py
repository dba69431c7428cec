"""Expectation suites as files: generated from the contract, the dbt YAML and expectations/rules.yml.

``python -m include.quality.suites`` (re)writes ``expectations/suites/<layer>/<table>.json`` in Great
Expectations' own suite format. Every expectation carries ``meta.severity`` (critical | warning),
``meta.check`` (the family: schema, primary_key, required, ...) and ``meta.name``. Checks GX has no
built-in for (types, orphans, freshness, volume, distribution) are ``unexpected_rows_expectation``s:
SQL run inside DuckDB by GX, failing when the query returns rows. Run parameters (``$as_of_date``,
``$partition_start`` ...) are filled in when a gate loads the suite (:func:`load_suite`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from string import Template
from typing import Any

import yaml

from include.contract import Contract, Table, load_contract

LAYERS = ("raw", "staging", "marts")
SEVERITIES = ("critical", "warning")
_SQL_LITERAL = re.compile(r"^[0-9A-Za-z_.:(), -]*$")


# --------------------------------------------------------------------------------------------------
# Run parameters
# --------------------------------------------------------------------------------------------------
def month_end(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def previous_month_end(day: date) -> date:
    return day.replace(day=1) - timedelta(days=1)


@dataclass(frozen=True)
class RunParameters:
    """The dates a gate validates for one as_of_date (the run's partition and its predecessor)."""

    as_of_date: date

    @property
    def snapshot_date(self) -> date:
        """The last month-end on or before as_of_date: the monthly snapshot the run reads."""
        d = self.as_of_date
        return d if month_end(d) == d else previous_month_end(d)

    def values(self) -> dict[str, str]:
        d = self.as_of_date
        start = d.replace(day=1)
        prev_start = previous_month_end(d).replace(day=1)
        return {
            "as_of_date": d.isoformat(),
            "partition_start": start.isoformat(),
            "partition_end": (d + timedelta(days=1)).isoformat(),
            "partition_days": str((d - start).days + 1),
            "previous_partition_start": prev_start.isoformat(),
            "previous_partition_end": start.isoformat(),
            "snapshot_date": self.snapshot_date.isoformat(),
            "previous_snapshot_date": previous_month_end(self.snapshot_date).isoformat(),
        }


def batch_query(table: str, batch: dict[str, Any], params: RunParameters) -> str | None:
    """SQL selecting the batch a suite validates, or None for the whole table.

    A plain range on the partition column keeps DuckDB's zone maps useful (only the run's row
    groups are read), which GX's year/month partitioners (``extract(...) = ...``) would not."""
    kind = batch.get("kind", "table")
    v = params.values()
    col = batch.get("column")
    if kind == "table":
        return None
    if kind == "month":
        return (f"select * from {table} where {col} >= '{v['partition_start']}' "
                f"and {col} < '{v['partition_end']}'")
    if kind == "month_end":
        return f"select * from {table} where {col} = DATE '{v['snapshot_date']}'"
    if kind == "as_of_date":
        return f"select * from {table} where {col} = DATE '{v['as_of_date']}'"
    if kind == "latest":
        return (f"select * from {table} where {col} = "
                f"(select max({col}) from {table} where {col} <= DATE '{v['as_of_date']}')")
    raise ValueError(f"{table}: unknown batch kind {kind!r} in expectations/rules.yml")


# --------------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------------
def _exp(type_: str, kwargs: dict[str, Any], *, severity: str, check: str, name: str,
         description: str = "") -> dict[str, Any]:
    if severity not in SEVERITIES:
        raise ValueError(f"expectation {name!r}: severity must be one of {SEVERITIES}, not {severity!r}")
    meta = {"severity": severity, "check": check, "name": name}
    if description:
        meta["description"] = description
    return {"type": type_, "kwargs": kwargs, "meta": meta}


def _sql_exp(sql: str, *, severity: str, check: str, name: str, description: str = "") -> dict[str, Any]:
    sql = " ".join(sql.split())
    return _exp("unexpected_rows_expectation", {"unexpected_rows_query": sql, "description": description or name},
                severity=severity, check=check, name=name, description=description)


def _lit(value: Any) -> str:
    text = str(value)
    if not _SQL_LITERAL.match(text):
        raise ValueError(f"refusing to put {text!r} into generated SQL")
    return text


_TYPE_FAMILY_SQL = (
    "case when {t} in ('TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT', 'UTINYINT', 'USMALLINT', "
    "'UINTEGER', 'UBIGINT', 'INT', 'INT4', 'INT8', 'LONG') then 'integer' "
    "when {t} in ('DOUBLE', 'FLOAT', 'REAL', 'FLOAT8', 'NUMERIC') or {t} like 'DECIMAL%' then 'number' "
    "when {t} in ('VARCHAR', 'TEXT', 'STRING') then 'text' "
    "when {t} like 'TIMESTAMP%' or {t} = 'DATETIME' then 'timestamp' "
    "when {t} in ('BOOLEAN', 'BOOL') then 'boolean' else {t} end"
)


def _types_sql(columns: list[tuple[str, str]], *, families: bool = False) -> str:
    """Rows for every column whose DuckDB type differs from the declared one (works on empty batches).

    ``families``: compare integer / number / text / timestamp families instead of exact types: dbt
    YAML documents "integer" for what DuckDB computes as BIGINT, and consumers only need the family."""
    names = ", ".join(f"'{_lit(c)}'" for c, _ in columns)
    expected = ", ".join(f"'{_lit(t).upper()}'" for _, t in columns)
    actual = ", ".join(f'typeof(b."{_lit(c)}")' for c, _ in columns)
    condition = "expected_type <> actual_type"
    if families:
        condition = (f"{_TYPE_FAMILY_SQL.format(t='expected_type')} <> "
                     f"{_TYPE_FAMILY_SQL.format(t='actual_type')}")
    return (
        "select column_name, expected_type, actual_type from ("
        f"select unnest([{names}]) as column_name, unnest([{expected}]) as expected_type, "
        f"unnest([{actual}]) as actual_type "
        "from (select 1 as one) as anchor left join (select * from {batch} limit 1) as b on true"
        f") where {condition}"
    )


def _freshness(table: str, rule: dict[str, Any], batch: dict[str, Any], severity: str) -> list[dict[str, Any]]:
    kind = rule.get("kind", "present")
    col = batch.get("column")
    out = [_sql_exp(
        "select count(*) as row_count from {batch} having count(*) = 0",
        severity=severity, check="freshness", name="partition_present",
        description=f"{table} has rows for the run's partition",
    )]
    if kind == "daily":
        lag = int(rule.get("max_lag_days", 3))
        coverage = float(rule.get("min_day_coverage", 0.9))
        out.append(_sql_exp(
            f"select max({col}) as latest from {{batch}} "
            f"having max({col}) is null or cast(max({col}) as date) < DATE '$as_of_date' - INTERVAL {lag} DAY",
            severity=severity, check="freshness", name="partition_reaches_as_of_date",
            description=f"latest {col} within {lag} days of as_of_date",
        ))
        out.append(_sql_exp(
            f"select count(distinct cast({col} as date)) as days_with_rows, $partition_days as days_in_partition "
            f"from {{batch}} having count(distinct cast({col} as date)) < {coverage} * $partition_days",
            severity=severity, check="freshness", name="partition_complete",
            description=f"at least {coverage:.0%} of the partition's days have rows",
        ))
    elif kind == "snapshot":
        share = float(rule.get("min_share_of_previous", 0.9))
        out.append(_sql_exp(
            f"select cur.n as row_count, prev.n as previous_row_count from "
            f"(select count(*) as n from {{batch}}) as cur, "
            f"(select count(*) as n from {table} where {col} = DATE '$previous_snapshot_date') as prev "
            f"where prev.n > 0 and cur.n < {share} * prev.n",
            severity=severity, check="freshness", name="snapshot_complete",
            description=f"the snapshot has at least {share:.0%} of the previous snapshot's rows",
        ))
    return out


def _volume(table: str, band: float, severity: str, batch: dict[str, Any]) -> dict[str, Any]:
    if batch.get("kind") == "month":
        # A daily run validates a month-to-date partition: compare rows per day, or the first
        # days of a month would look like a collapse against the previous full month.
        current, previous, what = "cur.n / $partition_days", "prev.row_count / prev.batch_days", "rows per day"
    else:
        current, previous, what = "cur.n", "prev.row_count", "row count"
    return _sql_exp(
        "select cur.n as row_count, prev.row_count as previous_row_count, prev.as_of_date as previous_as_of_date from "
        "(select count(*) as n from {batch}) as cur, "
        "(select row_count, batch_days, as_of_date from quality.table_volumes where table_name = '$table' "
        "and as_of_date < DATE '$as_of_date' order by as_of_date desc, measured_at desc limit 1) as prev "
        f"where prev.row_count > 0 and abs(({current}) / ({previous}) - 1) > {band}",
        severity=severity, check="volume", name="row_count_within_band",
        description=f"{what} within ±{band:.0%} of the previous run's (quality.table_volumes)",
    )


def _distribution(table: str, batch: dict[str, Any], rule: dict[str, Any], severity: str) -> dict[str, Any]:
    col = rule["column"]
    qs = [float(q) for q in rule.get("quantiles", [0.25, 0.5, 0.75])]
    shift = float(rule.get("max_relative_shift", 0.5))
    qlist = ", ".join(str(q) for q in qs)
    kind = batch.get("kind")
    bcol = batch.get("column")
    if kind in ("as_of_date", "latest"):
        prev = (f"select * from {table} where {bcol} = (select max({bcol}) from {table} "
                f"where {bcol} < DATE '$as_of_date')")
    elif kind == "month_end":
        prev = f"select * from {table} where {bcol} = DATE '$previous_snapshot_date'"
    elif kind == "month":
        prev = (f"select * from {table} where {bcol} >= '$previous_partition_start' "
                f"and {bcol} < '$previous_partition_end'")
    else:
        raise ValueError(f"{table}: a distribution check needs a partitioned batch")
    # The shift is scaled by the previous inter-quantile spread, so a column near zero does not
    # raise alarms on tiny absolute moves.
    return _sql_exp(
        f"select q.quantile, q.current_value, q.previous_value from ("
        f"select unnest([{qlist}]) as quantile, "
        f"unnest((select quantile_cont(cast({col} as double), [{qlist}]) from {{batch}})) as current_value, "
        f"unnest((select quantile_cont(cast({col} as double), [{qlist}]) from ({prev}) as p)) as previous_value"
        f") as q, (select quantile_cont(cast({col} as double), {qs[-1]}) - quantile_cont(cast({col} as double), {qs[0]}) "
        f"as spread, abs(quantile_cont(cast({col} as double), 0.5)) as level from ({prev}) as p2) as s "
        f"where q.previous_value is not null and abs(q.current_value - q.previous_value) > "
        f"{shift} * greatest(s.spread, s.level, 1e-9)",
        severity=severity, check="distribution", name=f"{col}_quantiles_stable",
        description=f"quantiles {qlist} of {col} within {shift:.0%} of the previous as_of_date's spread",
    )


def _foreign_key(column: str, target: str, severity: str) -> dict[str, Any]:
    ttable, tcol = target.rsplit(".", 1)
    return _sql_exp(
        f"select child.{column} from {{batch}} as child left join raw.{ttable} as parent "
        f"on parent.{tcol} = child.{column} where child.{column} is not null and parent.{tcol} is null",
        severity=severity, check="foreign_key", name=f"{column}_in_{ttable}",
        description=f"every {column} exists in raw.{target}",
    )


def _contract_expectations(table: Table, sev: dict[str, str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        _exp("expect_table_columns_to_match_set", {"column_set": table.column_names, "exact_match": False},
             severity=sev["schema"], check="schema", name="contract_columns_present"),
        _sql_exp(_types_sql([(c.name, c.type) for c in table.columns]), severity=sev["schema"],
                 check="schema", name="contract_types", description="column types match the raw contract"),
    ]
    pk = list(table.primary_key)
    if len(pk) == 1:
        out.append(_exp("expect_column_values_to_be_unique", {"column": pk[0]},
                        severity=sev["primary_key"], check="primary_key", name=f"{pk[0]}_unique"))
    else:
        out.append(_exp("expect_compound_columns_to_be_unique", {"column_list": pk},
                        severity=sev["primary_key"], check="primary_key", name="primary_key_unique"))
    for col in table.columns:
        if col.name in pk or col.required:
            family = "primary_key" if col.name in pk else "required"
            out.append(_exp("expect_column_values_to_not_be_null", {"column": col.name},
                            severity=sev[family], check=family, name=f"{col.name}_not_null"))
        if col.pii:
            continue  # value checks would put PII into results and Data Docs
        if col.accepted_values is not None:
            out.append(_exp("expect_column_values_to_be_in_set",
                            {"column": col.name, "value_set": list(col.accepted_values)},
                            severity=sev["accepted_values"], check="accepted_values",
                            name=f"{col.name}_accepted_values"))
        if col.min is not None or col.max is not None:
            kwargs: dict[str, Any] = {"column": col.name}
            if col.min is not None:
                kwargs["min_value"] = col.min
            if col.max is not None:
                kwargs["max_value"] = col.max
            out.append(_exp("expect_column_values_to_be_between", kwargs, severity=sev["range"],
                            check="range", name=f"{col.name}_in_range"))
    for column, target in table.foreign_keys.items():
        out.append(_foreign_key(column, target, sev["foreign_key"]))
    return out


def _dbt_tests(column: dict[str, Any]) -> list[Any]:
    return list(column.get("data_tests", []) or []) + list(column.get("tests", []) or [])


def _dbt_model(dbt_project_dir: Path, model: str) -> dict[str, Any] | None:
    """A dbt model's YAML entry (columns, data_tests), or None when the model has no YAML yet."""
    for path in sorted((dbt_project_dir / "models").rglob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for m in doc.get("models", []) or []:
            if m.get("name") == model:
                return m
    return None


def _test_name_args(test: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(test, str):
        return test.split(".")[-1], {}
    name, spec = next(iter(test.items()))
    spec = spec or {}
    return name.split(".")[-1], dict(spec.get("arguments") or spec)


def _ref_table(ref: str) -> str:
    """``ref('stg_customers')`` -> ``staging.stg_customers`` (the project's schema per layer)."""
    model = re.sub(r"""^ref\(\s*['"]([^'"]+)['"]\s*\)$""", r"\1", ref.strip())
    schema = "staging" if model.startswith("stg_") else "intermediate" if model.startswith("int_") else "marts"
    return f"{schema}.{model}"


def _mart_expectations(table: str, rule: dict[str, Any], sev: dict[str, str],
                       dbt_project_dir: Path) -> list[dict[str, Any]]:
    """Expectations from the dbt YAML of a mart: the gate re-checks, on the run's slice, what dbt
    declares (and records it with severities and owners), plus the rules file's additions."""
    model_name = table.split(".", 1)[1]
    model = _dbt_model(dbt_project_dir, model_name) or {}
    columns = list(model.get("columns", []) or [])
    pk = list(rule.get("primary_key", []))
    for t in model.get("data_tests", []) or []:
        name, args = _test_name_args(t)
        if name == "unique_combination" and not pk:
            pk = list(args.get("columns", []))
    out: list[dict[str, Any]] = []
    if columns:
        names = [c["name"] for c in columns]
        out.append(_exp("expect_table_columns_to_match_set", {"column_set": names, "exact_match": False},
                        severity=sev["schema"], check="schema", name="model_columns_present",
                        description=f"columns documented in dbt_project for {model_name}"))
        typed = [(c["name"], c["data_type"]) for c in columns if c.get("data_type")]
        if typed:
            out.append(_sql_exp(_types_sql(typed, families=True), severity=sev["schema"], check="schema",
                                name="model_types", description="column type families match the dbt YAML"))
    elif pk:
        out.append(_exp("expect_table_columns_to_match_set", {"column_set": pk, "exact_match": False},
                        severity=sev["schema"], check="schema", name="key_columns_present"))
    if len(pk) == 1:
        out.append(_exp("expect_column_values_to_be_unique", {"column": pk[0]},
                        severity=sev["primary_key"], check="primary_key", name=f"{pk[0]}_unique"))
    elif pk:
        out.append(_exp("expect_compound_columns_to_be_unique", {"column_list": pk},
                        severity=sev["primary_key"], check="primary_key", name="primary_key_unique"))
    for col in pk:
        out.append(_exp("expect_column_values_to_not_be_null", {"column": col},
                        severity=sev["primary_key"], check="primary_key", name=f"{col}_not_null"))
    key_list = ", ".join(pk) if pk else "*"
    for t in model.get("data_tests", []) or []:
        name, args = _test_name_args(t)
        if name == "not_empty":
            out.append(_exp("expect_table_row_count_to_be_between", {"min_value": 1},
                            severity=sev["freshness"], check="freshness", name="not_empty"))
        elif name == "expression_is_true":
            expr = " ".join(str(args["expression"]).split())
            out.append(_sql_exp(f"select {key_list} from {{batch}} where not ({expr})",
                                severity=sev["consistency"], check="consistency",
                                name=f"expression_{len(out)}", description=f"always true: {expr}"))
    for c in columns:
        cname = c["name"]
        for t in _dbt_tests(c):
            name, args = _test_name_args(t)
            if name == "not_null" and cname not in pk:
                out.append(_exp("expect_column_values_to_not_be_null", {"column": cname},
                                severity=sev["required"], check="required", name=f"{cname}_not_null"))
            elif name == "unique" and [cname] != pk:
                out.append(_exp("expect_column_values_to_be_unique", {"column": cname},
                                severity=sev["primary_key"], check="primary_key", name=f"{cname}_unique"))
            elif name == "accepted_values" and args.get("values"):
                out.append(_exp("expect_column_values_to_be_in_set",
                                {"column": cname, "value_set": list(args["values"])},
                                severity=sev["accepted_values"], check="accepted_values",
                                name=f"{cname}_accepted_values"))
            elif name == "accepted_range":
                kwargs: dict[str, Any] = {"column": cname}
                if args.get("min_value") is not None:
                    kwargs["min_value"] = args["min_value"]
                if args.get("max_value") is not None:
                    kwargs["max_value"] = args["max_value"]
                out.append(_exp("expect_column_values_to_be_between", kwargs, severity=sev["range"],
                                check="range", name=f"{cname}_in_range"))
            elif name == "relationships":
                parent = _ref_table(str(args["to"]))
                field = args.get("field", cname)
                out.append(_sql_exp(
                    f"select child.{cname} from {{batch}} as child left join {parent} as parent "
                    f"on parent.{field} = child.{cname} where child.{cname} is not null and parent.{field} is null",
                    severity=sev["foreign_key"], check="foreign_key", name=f"{cname}_in_{parent.split('.')[-1]}",
                    description=f"every {cname} exists in {parent}.{field}"))
    return out


def build_suites(*, rules_path: Path, dbt_project_dir: Path,
                 contract: Contract | None = None) -> dict[str, dict[str, Any]]:
    """All suites as GX suite documents, keyed by suite name (``<layer>.<table>``)."""
    contract = contract or load_contract()
    rules = yaml.safe_load(rules_path.read_text(encoding="utf-8"))
    sev: dict[str, str] = dict(rules["severity"])
    default_band = float(rules.get("volume_band", 0.5))
    suites: dict[str, dict[str, Any]] = {}
    for table, rule in rules["tables"].items():
        layer, name = table.split(".", 1)
        if layer not in LAYERS:
            raise ValueError(f"expectations/rules.yml: {table!r} is not in a known layer {LAYERS}")
        batch = dict(rule.get("batch", {"kind": "table"}))
        if layer == "raw":
            exps = _contract_expectations(contract.table(name), sev)
        else:
            exps = _mart_expectations(table, rule, sev, dbt_project_dir)
        if "freshness" in rule:
            exps += _freshness(table, rule["freshness"] or {}, batch, sev["freshness"])
        if "volume" in rule:
            band = float((rule["volume"] or {}).get("band", default_band))
            exps.append(_volume(table, band, sev["volume"], batch))
        for d in rule.get("distribution", []) or []:
            exps.append(_distribution(table, batch, d, sev["distribution"]))
        for extra in rule.get("extra", []) or []:
            severity = extra.get("severity") or sev[extra.get("check", "consistency")]
            if "sql" in extra:
                exps.append(_sql_exp(extra["sql"], severity=severity, check=extra.get("check", "consistency"),
                                     name=extra["name"], description=extra.get("description", "")))
            else:
                exps.append(_exp(extra["kwargs_type"], dict(extra["kwargs"]), severity=severity,
                                 check=extra.get("check", "consistency"), name=extra["name"],
                                 description=extra.get("description", "")))
        names = [e["meta"]["name"] for e in exps]
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise ValueError(f"{table}: expectation names must be unique, repeated: {sorted(duplicates)}")
        suites[table] = {
            "name": table,
            "expectations": exps,
            "meta": {"layer": layer, "table": table, "batch": batch,
                     "generated_by": "include/quality/suites.py from expectations/rules.yml"},
        }
    return suites


def suite_path(expectations_dir: Path, suite_name: str) -> Path:
    layer, table = suite_name.split(".", 1)
    return expectations_dir / "suites" / layer / f"{table}.json"


def render(suite: dict[str, Any]) -> str:
    return json.dumps(suite, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def write_suites(expectations_dir: Path, dbt_project_dir: Path) -> list[Path]:
    suites = build_suites(rules_path=expectations_dir / "rules.yml", dbt_project_dir=dbt_project_dir)
    written = []
    for name, suite in suites.items():
        path = suite_path(expectations_dir, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(suite), encoding="utf-8")
        written.append(path)
    return written


# --------------------------------------------------------------------------------------------------
# Loading for a run
# --------------------------------------------------------------------------------------------------
def list_suites(expectations_dir: Path, layer: str) -> list[Path]:
    if layer not in LAYERS:
        raise ValueError(f"unknown layer {layer!r}; expected one of {LAYERS}")
    return sorted((expectations_dir / "suites" / layer).glob("*.json"))


def load_suite(path: Path, params: RunParameters) -> dict[str, Any]:
    """A suite document with the run's parameters substituted into its SQL."""
    suite = json.loads(path.read_text(encoding="utf-8"))
    values = {**params.values(), "table": suite["meta"]["table"]}
    for exp in suite["expectations"]:
        severity = exp.get("meta", {}).get("severity")
        if severity not in SEVERITIES:
            raise ValueError(f"{path}: expectation {exp.get('type')} has no valid meta.severity")
        query = exp["kwargs"].get("unexpected_rows_query")
        if query is not None:
            exp["kwargs"]["unexpected_rows_query"] = Template(query).substitute(values)
    return suite


def main() -> None:
    from include.config import get_settings

    settings = get_settings()
    for path in write_suites(settings.expectations_dir, settings.dbt_project_dir):
        print(path.relative_to(settings.project_root))


if __name__ == "__main__":
    main()
