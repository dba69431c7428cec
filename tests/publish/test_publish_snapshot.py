from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from include.publish import PublishedTable, PublishError, publish_snapshot


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema warning")
    con.execute(
        "create table warning.customer_risk_scores as select 'C' || i as customer_id, date '2025-12-31' as as_of_date,"
        " i / 10.0 as churn_probability from range(10) t(i)"
    )
    con.execute("create schema raw")
    con.execute("create table raw.customers as select 'C1' as customer_id, 'Li Lei' as name")
    con.close()
    return path


def test_publish_builds_tables_and_a_publication_record(warehouse, tmp_path):
    target = tmp_path / "published" / "churn_warning.duckdb"
    counts = publish_snapshot(
        warehouse, target,
        {"customer_risk_scores": PublishedTable(source="warning.customer_risk_scores", where="churn_probability >= 0.5"),
         "extra": PublishedTable(frame=pd.DataFrame({"a": [1, 2]})),
         "optional": PublishedTable(source="marts.absent", required=False)},
        run_id="r1", as_of_date="2025-12-31",
    )
    assert counts == {"customer_risk_scores": 5, "extra": 2}
    con = duckdb.connect(str(target), read_only=True)
    assert con.execute("select run_id, table_row_counts from publication").fetchone() == (
        "r1", '{"customer_risk_scores": 5, "extra": 2}'
    )
    assert con.execute("select min(churn_probability) from customer_risk_scores").fetchone()[0] == 0.5
    con.close()
    assert list(target.parent.iterdir()) == [target], "no building files left behind"


def test_failed_publish_leaves_the_last_good_snapshot(warehouse, tmp_path):
    target = tmp_path / "churn_warning.duckdb"
    publish_snapshot(warehouse, target, {"s": PublishedTable(source="warning.customer_risk_scores")},
                     run_id="good", as_of_date="2025-12-31")
    reader = duckdb.connect(str(target), read_only=True)  # a BI user reading while we publish
    with pytest.raises(PublishError, match="no table marts.missing"):
        publish_snapshot(warehouse, target, {"s": PublishedTable(source="marts.missing")},
                         run_id="bad", as_of_date="2025-12-31")
    assert reader.execute("select run_id from publication").fetchone()[0] == "good"
    reader.close()
    con = duckdb.connect(str(target), read_only=True)
    assert con.execute("select run_id from publication").fetchone()[0] == "good"
    con.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["churn_warning.duckdb", "warehouse.duckdb"]


def test_publish_refuses_pii_in_clear(warehouse, tmp_path):
    with pytest.raises(PublishError, match=r"PII columns in clear \['name'\]"):
        publish_snapshot(warehouse, tmp_path / "p.duckdb", {"customers": PublishedTable(source="raw.customers")},
                         run_id="r", as_of_date="2025-12-31")
    assert not (tmp_path / "p.duckdb").exists()


def test_swap_is_atomic_for_an_open_reader(warehouse, tmp_path):
    target = tmp_path / "churn_warning.duckdb"
    publish_snapshot(warehouse, target, {"s": PublishedTable(source="warning.customer_risk_scores")},
                     run_id="first", as_of_date="2025-12-31")
    reader = duckdb.connect(str(target), read_only=True)
    publish_snapshot(warehouse, target, {"s": PublishedTable(source="warning.customer_risk_scores")},
                     run_id="second", as_of_date="2025-12-31")
    # the open reader keeps reading the snapshot it opened; a new reader sees the new one
    assert reader.execute("select run_id from publication").fetchone()[0] == "first"
    reader.close()
    con = duckdb.connect(str(target), read_only=True)
    assert con.execute("select run_id from publication").fetchone()[0] == "second"
    con.close()
