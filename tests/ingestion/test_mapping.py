"""A bank's CSV export through a declarative mapping file: the real Churn_Modelling.csv, and a
second, made-up export that needs nothing but its own mapping file."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from include.config import PROJECT_ROOT
from include.ingestion import LoadFailed, SchemaDriftError, ingest_mapped
from include.ingestion.mapping import MappingError, load_mapping, mapping_as_of_date
from tests.ingestion.helpers import assert_identity, query, scalar

MAPPING = PROJECT_ROOT / "include" / "mappings" / "churn_modelling.yml"


def _rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_churn_modelling_maps_onto_the_contract(churn_modelling_csv, tmp_path):
    warehouse = tmp_path / "w.duckdb"
    reports = {r.table_name: r for r in ingest_mapped(MAPPING, warehouse, source_path=churn_modelling_csv)}
    rows = _rows(churn_modelling_csv)
    exited = [r for r in rows if r["Exited"] == "1"]
    assert set(reports) == {"customers", "products", "balance_snapshots", "digital_activity", "churn_events"}
    assert scalar(warehouse, "SELECT count(*) FROM raw.customers") == len(rows) == reports["customers"].rows_loaded
    # The label: one churn event per exited customer, after the as-of date.
    as_of = mapping_as_of_date(MAPPING)
    assert scalar(warehouse, "SELECT count(*) FROM raw.churn_events") == len(exited)
    assert scalar(warehouse, "SELECT min(churn_date) FROM raw.churn_events") > as_of
    assert {r[0] for r in query(warehouse, "SELECT customer_id FROM raw.churn_events")} == {r["CustomerId"] for r in exited}
    # Products: NumOfProducts of them plus a credit card where HasCrCard.
    expected_products = sum(int(r["NumOfProducts"]) for r in rows) + sum(r["HasCrCard"] == "1" for r in rows)
    assert scalar(warehouse, "SELECT count(*) FROM raw.products") == expected_products
    # Values mapped and derived as the mapping says.
    first = rows[0]
    got = query(warehouse, "SELECT gender, name, city, year(birth_date), segment FROM raw.customers WHERE customer_id = ?",
                [first["CustomerId"]])[0]
    assert got == ({"Female": "F", "Male": "M"}[first["Gender"]], first["Surname"], first["Geography"],
                   as_of.year - int(first["Age"]), "affluent" if float(first["Balance"]) >= 100000 else "mass")
    assert float(scalar(warehouse, "SELECT sum(aum_month_avg) FROM raw.balance_snapshots")) == pytest.approx(
        sum(float(r["Balance"]) for r in rows), rel=1e-9)
    # Tables it cannot fill stay empty; unused columns are reported by name.
    assert scalar(warehouse, "SELECT count(*) FROM raw.transactions") == 0
    assert set(reports["customers"].drift.extra) == {"RowNumber"}
    # the optional customer columns carry the credit score and the income
    assert query(warehouse, "SELECT credit_score, annual_income::DOUBLE FROM raw.customers WHERE customer_id = ?",
                 [first["CustomerId"]])[0] == (int(first["CreditScore"]), pytest.approx(float(first["EstimatedSalary"])))
    assert "as_of_date 2025-12-31" in scalar(warehouse, "SELECT message FROM raw.load_log WHERE table_name = 'customers'")
    # Rerun: nothing added.
    again = ingest_mapped(MAPPING, warehouse, source_path=churn_modelling_csv)
    assert all(r.rows_loaded == 0 and r.rows_skipped_duplicate == r.rows_read for r in again)
    assert_identity(warehouse)


def test_mapping_file_default_source_is_the_shared_dataset(churn_modelling_csv):
    assert load_mapping(MAPPING).source_path == churn_modelling_csv.resolve()


OTHER_BANK = """cust_no;sex;city;opened;tier;acct_bal;left_bank
A-1;female;Lyon;03/02/2011;gold;1200.50;no
A-2;male;Nice;15/07/2015;standard;-30;yes
A-3;female;;01/01/2019;standard;88;no
A-4;male;Lyon;31/13/2019;standard;10;no
"""

OTHER_MAPPING = """
name: other_bank
source: {path: PLACEHOLDER, encoding: utf-8}
as_of_date: "2025-06-30"
tables:
  customers:
    columns:
      customer_id: cust_no
      gender: {source: sex, map: {female: F, male: M}}
      city: {source: city}
      onboarding_date: {expr: "try_strptime(opened, '%d/%m/%Y')::DATE"}
      segment: {source: tier, map: {gold: affluent, standard: mass}}
      branch_id: {expr: "'HQ'"}
  balance_snapshots:
    columns:
      customer_id: cust_no
      month_end: {value: "{as_of_date}"}
      current_balance: acct_bal
      time_deposit_balance: {value: 0}
      wealth_management_balance: {value: 0}
      fund_balance: {value: 0}
      insurance_balance: {value: 0}
      loan_balance: {value: 0}
      aum_month_avg: acct_bal
  churn_events:
    where: "left_bank = 'yes'"
    columns:
      customer_id: cust_no
      churn_date: {expr: "DATE '{as_of_date}' + INTERVAL 10 DAY"}
      churn_type: {value: account_closure}
"""


def test_another_banks_export_needs_only_a_mapping_file(tmp_path):
    export = tmp_path / "export.csv"
    export.write_text(OTHER_BANK, encoding="utf-8")
    mapping = tmp_path / "other_bank.yml"
    mapping.write_text(OTHER_MAPPING.replace("PLACEHOLDER", str(export)), encoding="utf-8")
    warehouse = tmp_path / "w.duckdb"
    reports = {r.table_name: r for r in ingest_mapped(mapping, warehouse, raise_on_failure=False)}
    assert sorted(r[0] for r in query(warehouse, "SELECT customer_id FROM raw.customers")) == ["A-1", "A-2"]
    q = set(query(warehouse, "SELECT table_name, source_row, reason FROM raw.quarantine"))
    assert ("customers", "line 4", "city: required value missing") in q
    # try_strptime gives NULL for month 13: the required onboarding date is missing, so the row is quarantined.
    assert ("customers", "line 5", "onboarding_date: required value missing") in q
    assert ("balance_snapshots", "line 3", "current_balance: below minimum 0; aum_month_avg: below minimum 0") in q
    assert scalar(warehouse, "SELECT churn_date FROM raw.churn_events").isoformat() == "2025-07-10"
    assert reports["customers"].rows_read == 4
    assert_identity(warehouse)


def test_mapping_errors_name_the_problem(tmp_path):
    export = tmp_path / "export.csv"
    export.write_text(OTHER_BANK, encoding="utf-8")
    bad_column = tmp_path / "bad.yml"
    bad_column.write_text(OTHER_MAPPING.replace("PLACEHOLDER", str(export)).replace("cust_no", "customer_number"))
    with pytest.raises(LoadFailed) as info:
        ingest_mapped(bad_column, tmp_path / "w.duckdb")
    assert isinstance(info.value.errors[0], SchemaDriftError)
    assert "customer_number" in str(info.value.errors[0]) and "export.csv" in str(info.value.errors[0])
    unknown = tmp_path / "unknown.yml"
    unknown.write_text(OTHER_MAPPING.replace("PLACEHOLDER", str(export)).replace("  churn_events:", "  churners:"))
    with pytest.raises(MappingError, match="'churners' is not a contract table"):
        ingest_mapped(unknown, tmp_path / "w2.duckdb")
    # An expression that fails on a value (strptime instead of try_strptime) names the table and the fix.
    strict = tmp_path / "strict.yml"
    strict.write_text(OTHER_MAPPING.replace("PLACEHOLDER", str(export)).replace("try_strptime", "strptime"))
    with pytest.raises(LoadFailed) as info:
        ingest_mapped(strict, tmp_path / "w3.duckdb")
    assert isinstance(info.value.errors[0], MappingError)
    assert "'customers'" in str(info.value.errors[0]) and "TRY_" in str(info.value.errors[0])
