"""The DuckDB adaptation of Great Expectations (include/quality/duckdb_gx.py): the upstream
failure is reproduced with GX's own SQL data source, and the adapted data source computes the
same metrics correctly inside DuckDB."""

from __future__ import annotations

import duckdb
import great_expectations as gx
import pytest
import sqlalchemy as sa

from include.quality.duckdb_gx import duckdb_url, engine_kwargs


@pytest.fixture
def small_warehouse(tmp_path):
    path = tmp_path / "small.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema raw")
    # 1,000 rows, ids unique, v in 0..6: the 142 values 6, 13, ..., 993 have v = 6.
    con.execute("create table raw.t as select 'id' || range as id, (range % 7)::integer as v from range(1000)")
    con.close()
    return path


def _validate(context, datasource):
    asset = datasource.add_table_asset(name="t", table_name="t", schema_name="raw")
    batch_definition = asset.add_batch_definition_whole_table("all")
    suite = context.suites.add(gx.ExpectationSuite(name="s", expectations=[
        gx.expectations.ExpectTableRowCountToBeBetween(min_value=1000, max_value=1000),
        gx.expectations.ExpectColumnValuesToBeUnique(column="id"),
        gx.expectations.ExpectColumnValuesToBeBetween(column="v", min_value=0, max_value=5),
        gx.expectations.UnexpectedRowsExpectation(unexpected_rows_query="select * from {batch} where v > 5"),
    ]))
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name="v", data=batch_definition, suite=suite))
    return {r.expectation_config.type: r for r in validation.run(result_format="SUMMARY").results}


def _context():
    return gx.get_context(mode="ephemeral")


def test_root_cause_result_read_after_release_is_empty(small_warehouse):
    """What GX does: execute inside ``with engine.connect()``, fetch after the block."""
    engine = sa.create_engine(duckdb_url(small_warehouse), **engine_kwargs())
    with engine.connect() as connection:
        result = connection.execute(sa.text("select count(*) from raw.t"))
        inside = None
    after_release = result.fetchall()
    with engine.connect() as connection:
        inside = connection.execute(sa.text("select count(*) from raw.t")).fetchall()
    engine.dispose()
    assert after_release == []  # the release's ROLLBACK discarded the pending DuckDB result
    assert inside == [(1000,)]


def test_upstream_sql_datasource_fails_on_every_metric(small_warehouse):
    context = _context()
    datasource = context.data_sources.add_sql(
        name="plain", connection_string=duckdb_url(small_warehouse), kwargs=engine_kwargs())
    results = _validate(context, datasource)
    assert not any(r.success for r in results.values())
    messages = str([r.exception_info for r in results.values()])
    assert "IndexError: list index out of range" in messages
    datasource.get_execution_engine().close()


def test_duckdb_datasource_computes_metrics_in_duckdb(small_warehouse):
    context = _context()
    datasource = context.data_sources.add_duckdb(
        name="fixed", connection_string=duckdb_url(small_warehouse), kwargs=engine_kwargs())
    statements: list[str] = []
    engine = datasource.get_execution_engine().engine
    sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    try:
        results = _validate(context, datasource)
    finally:
        datasource.close()

    assert all(not r.exception_info.get("raised_exception") for r in results.values())
    assert results["expect_table_row_count_to_be_between"].success
    assert results["expect_table_row_count_to_be_between"].result["observed_value"] == 1000
    assert results["expect_column_values_to_be_unique"].success
    between = results["expect_column_values_to_be_between"]
    assert not between.success and between.result["unexpected_count"] == 142
    assert set(between.result["partial_unexpected_list"]) == {6}
    custom = results["unexpected_rows_expectation"]
    assert not custom.success and custom.result["observed_value"] == 142
    # Pushed down: aggregates run in DuckDB; no statement reads the whole table into Python.
    assert any("count(" in s.lower() for s in statements)
    unbounded = [s for s in statements if s.lower().startswith("select *") and "limit" not in s.lower()
                 and "where" not in s.lower()]
    assert unbounded == []


def test_errors_do_not_poison_the_kept_connection(small_warehouse):
    context = _context()
    datasource = context.data_sources.add_duckdb(
        name="fixed", connection_string=duckdb_url(small_warehouse), kwargs=engine_kwargs())
    asset = datasource.add_table_asset(name="t", table_name="t", schema_name="raw")
    batch_definition = asset.add_batch_definition_whole_table("all")
    suite = context.suites.add(gx.ExpectationSuite(name="s", expectations=[
        gx.expectations.UnexpectedRowsExpectation(unexpected_rows_query="select no_such_column from {batch}"),
        gx.expectations.ExpectTableRowCountToBeBetween(min_value=1000, max_value=1000),
    ]))
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name="v", data=batch_definition, suite=suite))
    try:
        results = {r.expectation_config.type: r for r in validation.run().results}
    finally:
        datasource.close()
    broken = results["unexpected_rows_expectation"]
    assert not broken.success and "no_such_column" in str(broken.exception_info)
    assert results["expect_table_row_count_to_be_between"].success


def test_close_releases_the_file_for_a_writer(small_warehouse):
    context = _context()
    datasource = context.data_sources.add_duckdb(
        name="fixed", connection_string=duckdb_url(small_warehouse), kwargs=engine_kwargs(read_only=True))
    _validate(context, datasource)
    datasource.close()
    con = duckdb.connect(str(small_warehouse))  # a read-write handle needs the read-only one gone
    con.execute("insert into raw.t values ('extra', 1)")
    assert con.execute("select count(*) from raw.t").fetchone()[0] == 1001
    con.close()
