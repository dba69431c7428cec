"""The benchmark harness, run against a fake stages package (fast: no real stage runs here).

The fake stages are tiny Python modules written to a temporary directory; the harness runs them
as child processes exactly as it runs the real ones, so what is checked is the real behaviour:
discovery, streaming, failure capture, memory measured from outside, and the result files.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from benchmarks import run as harness

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "fake_bench_stages"

COMMON = """
import argparse, json, sys
parser = argparse.ArgumentParser()
parser.add_argument("--size", required=True)
parser.add_argument("--out", required=True)
args = parser.parse_args()
def progress(text):
    print(text, file=sys.stderr, flush=True)
def write(result):
    with open(args.out, "w") as fh:
        json.dump(result, fh)
"""

FAKE_STAGES = {
    # A well-behaved stage that states no verdict: the harness checks the target.
    "generate": """
progress(f"step 1/2: generating at size {args.size}")
progress("step 2/2: done")
write({"figure": 3_000_000, "unit": "rows/s", "baseline": None, "baseline_unit": None,
       "ratio": None, "target": None, "target_met": None, "details": {"size_seen": args.size}})
""",
    # A stage that crashes after some progress.
    "ingest": """
progress("step 1/3: reading parquet")
raise RuntimeError("disk on fire while loading transactions")
""",
    # A stage whose working set is about 200 MB more than a bare interpreter's.
    "indicators": """
progress("step 1/1: allocating")
block = bytearray(200 * 1024 * 1024)
for offset in range(0, len(block), 4096):
    block[offset] = 1  # touch every page so it is resident
write({"figure": 10.0, "unit": "s", "baseline": 4.0, "baseline_unit": "s", "ratio": 2.5,
       "target": 2.0, "target_met": False, "details": {}})
""",
    # A stage that exits 0 but forgets its result file.
    "quality": """
progress("step 1/1: validating")
""",
}


def _write_fake_package(root: Path, stages: dict[str, str]) -> None:
    package = root / PACKAGE
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    for key, body in stages.items():
        (package / f"{key}.py").write_text(COMMON + textwrap.dedent(body))


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("fake_stages")
    _write_fake_package(root, FAKE_STAGES)
    results_dir = root / "results"
    completed = subprocess.run(
        [
            sys.executable, "-m", "benchmarks.run", "--size", "demo",
            "--stages-package", PACKAGE, "--path", str(root), "--results-dir", str(results_dir),
        ],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
    )
    return {
        "completed": completed,
        "results_dir": results_dir,
        "json": json.loads((results_dir / "latest-demo.json").read_text()),
    }


def test_every_key_is_reported_in_json_and_markdown(cli_run: dict) -> None:
    results = cli_run["json"]
    assert results["meta"]["size"] == "demo"
    assert results["meta"]["stages"] == list(harness.STAGE_KEYS)
    markdown = (cli_run["results_dir"] / "latest-demo.md").read_text()
    table_rows = [line for line in markdown.splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in table_rows] == list(harness.STAGE_KEYS)
    for key in harness.STAGE_KEYS:
        assert results[key]["status"] in {"ok", "failed", "missing"}, key
        assert results[key]["target_text"] == harness.TARGETS[key].text
    dated = cli_run["results_dir"] / f"{results['meta']['started_at'][:10]}-demo.json"
    assert json.loads(dated.read_text()) == results


def test_absent_stages_are_reported_missing(cli_run: dict) -> None:
    results = cli_run["json"]
    for key in ("indicators_incremental", "train", "score", "end_to_end"):
        assert results[key]["status"] == "missing"
        assert f"{key}.py does not exist" in results[key]["message"]
        assert "wall_s" not in results[key]
    assert "MISSING" in cli_run["completed"].stdout


def test_a_good_stage_is_merged_with_outside_measurements(cli_run: dict) -> None:
    generate = cli_run["json"]["generate"]
    assert generate["status"] == "ok"
    assert generate["figure"] == 3_000_000 and generate["unit"] == "rows/s"
    assert generate["details"] == {"size_seen": "demo"}
    assert generate["exit_code"] == 0
    assert 0 < generate["wall_s"] < 60
    # The stage gave no verdict: the harness applied the target (>= 2 M rows/s).
    assert generate["target_met"] is True and generate["target_met_by"] == "harness"
    # Progress lines were streamed, prefixed with the stage's key, in order.
    stderr = cli_run["completed"].stderr
    first = stderr.index("[generate] step 1/2: generating at size demo")
    assert first < stderr.index("[generate] step 2/2: done")


def test_a_crashing_stage_is_recorded_with_its_last_lines(cli_run: dict) -> None:
    ingest = cli_run["json"]["ingest"]
    assert ingest["status"] == "failed"
    assert ingest["exit_code"] == 1
    assert "RuntimeError: disk on fire while loading transactions" in ingest["error"]
    assert "step 1/3: reading parquet" in ingest["error"]
    assert ingest["target_met"] is None
    markdown = (cli_run["results_dir"] / "latest-demo.md").read_text()
    assert "`ingest` failed" in markdown and "disk on fire" in markdown
    # A failed stage makes the whole run exit non-zero, after the results were written.
    assert cli_run["completed"].returncode == 1


def test_a_stage_without_a_result_file_is_a_failure(cli_run: dict) -> None:
    quality = cli_run["json"]["quality"]
    assert quality["status"] == "failed"
    assert "wrote no result" in quality["error"]


def test_peak_memory_is_measured_from_outside_the_child(cli_run: dict) -> None:
    small = cli_run["json"]["generate"]["peak_mb"]
    big = cli_run["json"]["indicators"]["peak_mb"]
    assert big - small >= 190, (small, big)
    assert big < small + 400


def test_a_stage_verdict_wins_over_the_harness_check(cli_run: dict) -> None:
    indicators = cli_run["json"]["indicators"]
    assert indicators["ratio"] == 2.5
    assert indicators["target_met"] is False and indicators["target_met_by"] == "stage"
    assert "NO" in (cli_run["results_dir"] / "latest-demo.md").read_text()


def test_only_runs_the_selection_and_keeps_earlier_results(tmp_path: Path) -> None:
    _write_fake_package(tmp_path, {"generate": FAKE_STAGES["generate"]})
    results_dir = tmp_path / "results"
    lines: list[str] = []
    first = harness.run_benchmarks(
        "demo", stages_package=PACKAGE, extra_paths=[tmp_path], results_dir=results_dir, log=lines.append
    )
    assert first["generate"]["status"] == "ok"
    second = harness.run_benchmarks(
        "demo", only=["score"], stages_package=PACKAGE, extra_paths=[tmp_path], results_dir=results_dir,
        log=lines.append,
    )
    assert second["score"]["status"] == "missing"
    assert second["generate"]["carried_over"] is True
    assert second["generate"]["figure"] == 3_000_000
    assert second["generate"]["from_run"] == first["meta"]["started_at"]
    assert any("[bench 1/8] generate: not selected" in line for line in lines)
    # Another size does not inherit results.
    third = harness.run_benchmarks(
        "large", only=["score"], stages_package=PACKAGE, extra_paths=[tmp_path], results_dir=results_dir,
        log=lines.append,
    )
    assert third["generate"]["status"] == "not_run"
    # ... and each size keeps its own latest results.
    assert json.loads((results_dir / "latest-demo.json").read_text())["generate"]["figure"] == 3_000_000
    assert json.loads((results_dir / "latest-large.json").read_text())["meta"]["size"] == "large"


def test_a_stage_that_runs_too_long_is_killed(tmp_path: Path) -> None:
    _write_fake_package(tmp_path, {"generate": 'progress("sleeping")\nimport time\ntime.sleep(60)\n'})
    lines: list[str] = []
    results = harness.run_benchmarks(
        "demo", only=["generate"], stages_package=PACKAGE, extra_paths=[tmp_path],
        results_dir=tmp_path / "results", timeout_s=2, log=lines.append,
    )
    generate = results["generate"]
    assert generate["status"] == "failed"
    assert "timed out after 2 s" in generate["error"]
    assert generate["wall_s"] < 30


def test_unknown_keys_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown stage key"):
        harness.run_benchmarks("demo", only=["generat"], results_dir=tmp_path)


def test_peak_memory_includes_a_waited_for_descendant(tmp_path: Path) -> None:
    # A stage that does its heavy work in a subprocess (dbt, Airflow tasks) is still measured:
    # ru_maxrss of the child covers the descendants it reaped.
    grandchild = (
        "block = bytearray(200 * 1024 * 1024)\n"
        "for offset in range(0, len(block), 4096):\n"
        "    block[offset] = 1\n"
    )
    body = (
        "import subprocess\n"
        f"subprocess.run([sys.executable, '-c', {grandchild!r}], check=True)\n"
        'write({"figure": 1.0, "unit": "s", "baseline": None, "baseline_unit": None, "ratio": None,'
        ' "target": None, "target_met": None, "details": {}})\n'
    )
    _write_fake_package(tmp_path, {"train": body})
    results = harness.run_benchmarks(
        "demo", only=["train"], stages_package=PACKAGE, extra_paths=[tmp_path],
        results_dir=tmp_path / "results", log=lambda line: None,
    )
    assert results["train"]["status"] == "ok"
    assert results["train"]["peak_mb"] >= 200


def test_results_are_written_after_each_stage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The second stage reads the results file while the run is still going.
    results_dir = tmp_path / "results"
    monkeypatch.setenv("FAKE_RESULTS_FILE", str(results_dir / "latest-demo.json"))
    reader = (
        "import os\n"
        "seen = json.load(open(os.environ['FAKE_RESULTS_FILE']))\n"
        'write({"figure": 1.0, "unit": "s", "baseline": None, "baseline_unit": None, "ratio": None,'
        ' "target": None, "target_met": None,'
        ' "details": {"generate": seen["generate"]["status"], "ingest": seen["ingest"]["status"],'
        ' "finished_at": seen["meta"]["finished_at"]}})\n'
    )
    _write_fake_package(tmp_path, {"generate": FAKE_STAGES["generate"], "ingest": reader})
    results = harness.run_benchmarks(
        "demo", stages_package=PACKAGE, extra_paths=[tmp_path], results_dir=results_dir, log=lambda line: None
    )
    assert results["ingest"]["details"] == {"generate": "ok", "ingest": "pending", "finished_at": None}
    final = json.loads((results_dir / "latest-demo.json").read_text())
    assert final["meta"]["finished_at"] is not None
    assert all(final[key]["status"] != "pending" for key in harness.STAGE_KEYS)


def test_terminating_the_harness_ends_the_running_stage(tmp_path: Path) -> None:
    import os
    import signal
    import time

    pid_file = tmp_path / "stage.pid"
    body = (
        "import os, time\n"
        f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "time.sleep(120)\n"
    )
    _write_fake_package(tmp_path, {"generate": body})
    harness_process = subprocess.Popen(
        [
            sys.executable, "-m", "benchmarks.run", "--size", "demo", "--only", "generate",
            "--stages-package", PACKAGE, "--path", str(tmp_path), "--results-dir", str(tmp_path / "results"),
        ],
        cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "the fake stage never started"
        time.sleep(0.1)
    stage_pid = int(pid_file.read_text())
    harness_process.send_signal(signal.SIGTERM)
    assert harness_process.wait(timeout=30) == 128 + signal.SIGTERM
    time.sleep(0.5)
    try:
        os.kill(stage_pid, 0)
    except ProcessLookupError:
        return
    # Still there: end it so the test leaves nothing behind, then fail.
    os.kill(stage_pid, signal.SIGKILL)
    pytest.fail("the stage outlived the terminated harness")
