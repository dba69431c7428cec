"""The indicator catalog: every indicator column of customer_indicators is documented with its
family, bilingual name, formula, unit and risk direction; the table marts.indicator_catalog
renders exactly the YAML (the one source of truth) and agrees with the real column types."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.dbt.conftest import PROJECT_DIR, query

pytestmark = pytest.mark.integration

KEYS = {"customer_id", "as_of_date"}
FAMILIES = {"basic_information", "transaction_behaviour", "satisfaction", "complaints_feedback",
            "market_environment"}
# catalog data_type -> DuckDB types a column of that kind may have
TYPE_FAMILIES = {
    "integer": {"INTEGER", "BIGINT", "HUGEINT", "SMALLINT", "TINYINT"},
    "double": {"DOUBLE", "FLOAT"},
    "varchar": {"VARCHAR"},
    "date": {"DATE"},
}


def _yaml_columns() -> list[dict]:
    doc = yaml.safe_load((PROJECT_DIR / "models" / "marts" / "customer_indicators.yml").read_text(encoding="utf-8"))
    (model,) = [m for m in doc["models"] if m["name"] == "customer_indicators"]
    return model["columns"]


def test_every_indicator_column_is_in_the_catalog_with_complete_meta(toy_built):
    columns = query(toy_built, """
        select column_name, data_type from information_schema.columns
        where table_schema = 'marts' and table_name = 'customer_indicators' order by ordinal_position
    """)
    catalog = query(toy_built, "select * from marts.indicator_catalog order by ordinal")
    indicators = [c for c in columns.column_name if c not in KEYS]
    assert len(indicators) >= 60
    assert list(catalog.indicator) == indicators  # same set, same order
    for field in ("family", "name_en", "name_zh", "formula", "unit", "risk_direction", "data_type"):
        assert catalog[field].notna().all() and (catalog[field].str.len() > 0).all(), field
    assert set(catalog.family) == FAMILIES
    assert set(catalog.risk_direction) <= {"up", "down", "none"}
    assert all(re.search(r"[\u4e00-\u9fff]", name) for name in catalog.name_zh)
    assert (catalog.set_index("indicator").loc["transaction_count_90d", "name_zh"]) == "近90天交易笔数"
    actual = dict(zip(columns.column_name, columns.data_type, strict=True))
    for row in catalog.itertuples():
        assert actual[row.indicator] in TYPE_FAMILIES[row.data_type], (row.indicator, actual[row.indicator])


def test_catalog_table_renders_the_yaml_exactly(toy_built):
    catalog = query(toy_built, "select * from marts.indicator_catalog order by ordinal").set_index("indicator")
    documented = [c for c in _yaml_columns() if c.get("config", {}).get("meta", {}).get("family")]
    assert list(catalog.index) == [c["name"] for c in documented]
    for column in documented:
        meta = column["config"]["meta"]
        row = catalog.loc[column["name"]]
        for field in ("family", "name_en", "name_zh", "formula", "unit", "risk_direction"):
            assert row[field] == meta[field], (column["name"], field)
        assert row.data_type == column["data_type"]


def test_each_family_has_windows_and_a_risk_direction(toy_built):
    catalog = query(toy_built, "select * from marts.indicator_catalog")
    per_family = catalog.groupby("family").size()
    assert (per_family >= 5).all(), per_family
    windows = set(catalog.window_days.dropna().astype(int))
    assert {30, 90, 180, 365} <= windows
    assert (catalog.risk_direction != "none").sum() > len(catalog) * 0.7


def test_dbt_docs_generate_works(toy_built, dbt, tmp_path):
    dbt("docs generate", toy_built)
    catalog_json = Path(dbt.target_path) / "catalog.json"
    assert catalog_json.exists() and "customer_indicators" in catalog_json.read_text(encoding="utf-8")
