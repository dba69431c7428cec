"""Data-quality gates (Great Expectations on DuckDB): run_gate, notify_owners and their results.

See docs/data_quality.md. The DuckDB adaptation of Great Expectations lives in duckdb_gx.py.
"""

from include.quality.alerts import load_owners, notify_owners
from include.quality.gate import CriticalDataQualityError, ExpectationOutcome, GateResult, run_gate

__all__ = ["CriticalDataQualityError", "ExpectationOutcome", "GateResult", "load_owners", "notify_owners", "run_gate"]
