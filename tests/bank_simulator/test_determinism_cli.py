"""Same seed, same bytes; a different seed, different data; the command line works."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

from include.bank_simulator import generate

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_the_same_bytes(bank, tmp_path):
    generate(tmp_path / "source", tmp_path / "truth", size="tiny", seed=42)
    assert _digests(tmp_path / "source") == _digests(bank["source_dir"])
    assert _digests(tmp_path / "truth") == _digests(bank["truth_dir"])


def test_another_seed_gives_other_data(tmp_path):
    a = generate(tmp_path / "a", tmp_path / "ta", customers=200, months=3, seed=1)
    b = generate(tmp_path / "b", tmp_path / "tb", customers=200, months=3, seed=2)
    assert a["counts"]["transactions"] != b["counts"]["transactions"] or (
        _digests(tmp_path / "a") != _digests(tmp_path / "b"))
    ids = pq.read_table(tmp_path / "a" / "customers.parquet").column("customer_id").to_pylist()
    assert ids == pq.read_table(tmp_path / "b" / "customers.parquet").column("customer_id").to_pylist()


def test_regenerating_into_the_same_dir_replaces_the_old_output(tmp_path):
    generate(tmp_path / "s", tmp_path / "t", customers=100, months=4, seed=5)
    generate(tmp_path / "s", tmp_path / "t", customers=100, months=2, seed=5)
    months = sorted(p.name for p in (tmp_path / "s" / "transactions").iterdir())
    assert months == ["month=2024-01", "month=2024-02"]


def test_command_line(tmp_path):
    out, truth = tmp_path / "src", tmp_path / "truth"
    result = subprocess.run(
        [sys.executable, "-m", "include.bank_simulator", "--size", "tiny", "--customers", "150", "--months", "3",
         "--seed", "7", "--format", "csv", "--out", str(out), "--truth-out", str(truth)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "_manifest.json").read_text())
    assert manifest["customers"] == 150 and manifest["months"] == 3 and manifest["format"] == "csv"
    assert manifest["end_month_end"] == "2024-03-31"
    assert (out / "transactions" / "month=2024-03" / "part-0.csv").exists()
    assert (truth / "churn_truth.parquet").exists()
    report = json.loads(result.stderr[result.stderr.index("{"):])
    assert report["counts"]["customers"] == 150


def test_command_line_rejects_bad_arguments(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "include.bank_simulator", "--size", "huge", "--out", str(tmp_path / "a"),
         "--truth-out", str(tmp_path / "b")],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0 and "huge" in result.stderr


def test_command_line_feeds_back_retention_actions(tmp_path):
    actions = tmp_path / "actions.csv"
    lines = ["action_id,customer_id,as_of_date,action_type,action_date,relationship_manager_id,control_group"]
    lines += [f"A{i},C{i:07d},2024-02-29,rate_offer,2024-03-04,,{'true' if i > 15 else 'false'}" for i in range(1, 21)]
    actions.write_text("\n".join(lines) + "\n")
    out = tmp_path / "src"
    result = subprocess.run(
        [sys.executable, "-m", "include.bank_simulator", "--customers", "300", "--months", "6", "--out", str(out),
         "--truth-out", str(tmp_path / "truth"), "--retention-actions", str(actions)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "_manifest.json").read_text())
    assert manifest["retention_feedback"]["treated_actions"] == 15
    written = pq.read_table(out / "retention_actions.parquet")
    assert written.num_rows == 20
    assert set(written.column("outcome").to_pylist()) <= {"retained", "churned", "pending"}
