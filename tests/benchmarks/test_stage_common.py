"""The helpers every benchmark stage shares, and every stage's command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from benchmarks.run import STAGE_KEYS
from benchmarks.stages.common import stack_under_new_ids, write_result

ROOT = Path(__file__).resolve().parents[2]


def test_stacking_repeats_the_panel_under_new_ids_up_to_the_rows_asked() -> None:
    panel = pd.DataFrame({"customer_id": ["a", "b", "c"], "x": [1, 2, 3]})
    stacked, copies = stack_under_new_ids(panel, 7)
    assert copies == 3
    assert stacked.customer_id.tolist() == ["a~0", "b~0", "c~0", "a~1", "b~1", "c~1", "a~2"]
    assert stacked.x.tolist() == [1, 2, 3, 1, 2, 3, 1]
    same, copies = stack_under_new_ids(panel, 2)
    assert copies == 1 and same.customer_id.tolist() == ["a", "b"]


def test_a_result_is_written_as_json_with_unicode_kept(tmp_path: Path) -> None:
    out = tmp_path / "nested" / "result.json"
    write_result(out, {"figure": 1.5, "details": {"reason": "近90天交易笔数", "path": Path("/x")}})
    assert json.loads(out.read_text(encoding="utf-8")) == {"figure": 1.5, "details": {"reason": "近90天交易笔数",
                                                                                          "path": "/x"}}
    assert "近90天" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("key", STAGE_KEYS)
def test_every_stage_takes_the_common_arguments(key: str) -> None:
    proc = subprocess.run([sys.executable, "-m", f"benchmarks.stages.{key}", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "--size" in proc.stdout and "--out" in proc.stdout and "{tiny,demo,large}" in proc.stdout
