"""A one-snapshot export through its mapping passes the raw data-quality gate: the feed-freshness
checks it cannot meet are recorded as not applicable (with the reason), every other check runs."""

from __future__ import annotations

import pytest

from include.config import PROJECT_ROOT
from include.ingestion import ingest_mapped
from include.ingestion.mapping import MappingError, gate_exemptions, resolve_mapping
from tests.ingestion.test_mapping import OTHER_BANK, OTHER_MAPPING

pytestmark = pytest.mark.integration


def _export(tmp_path, mapping_text=OTHER_MAPPING):
    export = tmp_path / "export.csv"
    # only the clean rows: the gate should pass on them
    export.write_text("\n".join(OTHER_BANK.splitlines()[:2]) + "\n", encoding="utf-8")
    mapping = tmp_path / "other_bank.yml"
    mapping.write_text(mapping_text.replace("PLACEHOLDER", str(export)), encoding="utf-8")
    return mapping


def test_mapping_names_resolve_to_include_mappings(tmp_path):
    assert resolve_mapping("churn_modelling") == PROJECT_ROOT / "include" / "mappings" / "churn_modelling.yml"
    assert resolve_mapping("include/mappings/churn_modelling.yml") == resolve_mapping("churn_modelling")
    with pytest.raises(MappingError, match="churn_modelling"):
        resolve_mapping("no_such_bank")


def test_exemptions_cover_feed_checks_only(tmp_path):
    exempt = gate_exemptions(_export(tmp_path))
    # tables the export does not carry: their freshness is moot
    assert ("raw.transactions", "freshness") in exempt and "does not carry transactions" in exempt[
        ("raw.transactions", "freshness")]
    # tables it fills: only the checks that watch a daily feed
    assert ("raw.balance_snapshots", "partition_complete") in exempt
    assert ("raw.balance_snapshots", "freshness") not in exempt and ("raw.customers", "freshness") not in exempt
    # a recurring export (no as_of_date) is a feed: no exemption
    assert gate_exemptions(_export(tmp_path, OTHER_MAPPING.replace('as_of_date: "2025-06-30"\n', "")
                                   .replace("{as_of_date}", "2025-06-30"))) == {}


def test_raw_gate_passes_a_snapshot_export_and_says_why_checks_were_skipped(tmp_path):
    from include.quality import run_gate

    mapping = _export(tmp_path)
    warehouse = tmp_path / "w.duckdb"
    ingest_mapped(mapping, warehouse)
    common = dict(warehouse_path=warehouse, as_of_date="2025-06-30", run_id="t",
                  expectations_dir=PROJECT_ROOT / "expectations", output_dir=tmp_path / "q")
    strict = run_gate("raw", raise_on_critical=False, suites=["raw.transactions"], **common)
    assert any(o.table_name == "raw.transactions" and o.check == "freshness" for o in strict.critical_failures)

    result = run_gate("raw", not_applicable=gate_exemptions(mapping), **{**common, "run_id": "t2"})
    assert result.success, [(o.table_name, o.expectation) for o in result.critical_failures]
    skipped = [o for o in result.outcomes if str(o.observed_value).startswith("not applicable")]
    assert {o.table_name for o in skipped} >= {"raw.transactions", "raw.service_interactions"}
    assert all(o.success for o in skipped)
    # the filled snapshot table still has to hold rows for the as-of date
    present = [o for o in result.outcomes if o.table_name == "raw.balance_snapshots" and "partition_present" in o.expectation]
    assert present and present[0].success and not str(present[0].observed_value).startswith("not applicable")
    # schema and key checks still ran on every table
    assert any(o.table_name == "raw.transactions" and o.check == "schema" and o.observed_value != "missing"
               and not str(o.observed_value).startswith("not applicable") for o in result.outcomes)
