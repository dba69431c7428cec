"""Run every stage benchmark that exists, measure each from outside, write the results files.

Usage::

    python -m benchmarks.run --size demo|large [--only key,...] [--timeout-s N]

For each key in :data:`STAGE_KEYS`, in order, the harness looks for ``benchmarks/stages/<key>.py``.
A stage that exists runs as a child process (``python -m benchmarks.stages.<key> --size S --out
FILE``) so that its wall time and peak memory are measured from outside it, not trusted from
inside: wall seconds around the child, and ``ru_maxrss`` from ``os.wait4`` on the child.
The child's own JSON (figure, unit, baseline, baseline_unit, ratio, target, target_met, details)
is merged with those measurements. A stage whose module does not exist is reported as
``missing``, one that crashes as ``failed`` with the last lines it printed: nothing is skipped
silently (issue 7).

About ``peak_mb``: on Linux ``ru_maxrss`` is in kilobytes and, for a child reaped with
``wait4``, is the largest resident set of the child *or of any descendant it waited for* -- the
largest single process, not the sum of processes alive at the same time. Stages that fan out
(the Airflow run of ``end_to_end``) are therefore also sampled: ``peak_tree_mb_sampled`` is the
largest sum of resident sets over the child and all its descendants, sampled every
half-second with psutil (a lower bound: short spikes between samples are missed).

Results per size: ``benchmarks/results/latest-<size>.json``, a dated copy ``<YYYY-MM-DD>-<size>.json`` and
``latest-<size>.md`` (a Markdown table for humans). The harness exits 1 when a stage failed (after
writing the results), 0 otherwise; ``missing`` stages do not fail the run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STAGES_PACKAGE = "benchmarks.stages"
DEFAULT_RESULTS_DIR = PROJECT_ROOT / "benchmarks" / "results"

# Order matters: later stages reuse what earlier ones leave behind (generated data, the
# warehouse), and a reader of the table follows the data flow top to bottom.
STAGE_KEYS: tuple[str, ...] = (
    "generate",
    "ingest",
    "indicators",
    "indicators_incremental",
    "quality",
    "train",
    "score",
    "end_to_end",
)
SIZES = ("tiny", "demo", "large")  # tiny is a smoke size; the figures are demo and large
RESULT_FIELDS = ("figure", "unit", "baseline", "baseline_unit", "ratio", "target", "target_met", "details")
ERROR_TAIL_LINES = 25
SAMPLE_INTERVAL_S = 0.5

PEAK_MB_NOTE = (
    "peak_mb is ru_maxrss of the stage's child process from os.wait4: the largest resident set of "
    "the child or of any descendant it waited for (largest single process, not a sum). "
    "peak_tree_mb_sampled is the largest sum over the child and its live descendants, sampled "
    f"every {SAMPLE_INTERVAL_S} s (a lower bound)."
)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _unit(result: dict[str, Any]) -> str:
    return str(result.get("unit") or "").replace(" ", "").lower()


@dataclass(frozen=True)
class Target:
    """A stage's target as the issues state it, and how to check it when the stage did not."""

    text: str
    check: Callable[[dict[str, Any], str], bool | None] | None = None


def _ratio_at_most(limit: float) -> Callable[[dict[str, Any], str], bool | None]:
    def check(result: dict[str, Any], size: str) -> bool | None:
        ratio = _number(result.get("ratio"))
        return None if ratio is None else ratio <= limit

    return check


def _generation_rate(result: dict[str, Any], size: str) -> bool | None:
    figure = _number(result.get("figure"))
    if figure is None or "rows/s" not in _unit(result):
        return None
    return figure >= 2_000_000


def _scoring_rate(result: dict[str, Any], size: str) -> bool | None:
    # "1 M customers in <= 60 s" is a rate of at least 16,667 customers/s at any size.
    figure = _number(result.get("figure"))
    if figure is None or figure <= 0 or "customers/s" not in _unit(result):
        return None
    return 1_000_000 / figure <= 60


def _orchestration_share(result: dict[str, Any], size: str) -> bool | None:
    if size != "demo":  # the target is stated for demo; larger sizes only dilute start-up costs
        return None
    share = _number(result.get("ratio"))
    return None if share is None else share <= 0.25


# Targets from issue 7 item 4; stages without a stated target are reported for context.
TARGETS: dict[str, Target] = {
    "generate": Target(">= 2 M transaction rows/s", _generation_rate),
    "ingest": Target("<= 3x DuckDB's own read of the same Parquet", _ratio_at_most(3.0)),
    "indicators": Target("<= 2x the hand-written DuckDB query", _ratio_at_most(2.0)),
    "indicators_incremental": Target("none stated (one month vs the full build, for context)"),
    "quality": Target("<= 0.25x the build time", _ratio_at_most(0.25)),
    "train": Target("none stated (XGBoost vs HistGradientBoosting, for context)"),
    "score": Target("1 M customers in <= 60 s (>= 16,667 customers/s)", _scoring_rate),
    "end_to_end": Target("orchestration share <= 25% at demo", _orchestration_share),
}


# --------------------------------------------------------------------------- stage discovery


def find_package_dir(stages_package: str, search_path: Sequence[Path]) -> Path | None:
    """The directory of ``stages_package`` on ``search_path``, without importing it."""
    relative = Path(*stages_package.split("."))
    for entry in search_path:
        candidate = Path(entry) / relative
        if (candidate / "__init__.py").is_file():
            return candidate
    return None


def _display_path(path: Path) -> str:
    try:
        return str(path.relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def stage_module_exists(package_dir: Path | None, key: str) -> bool:
    if package_dir is None:
        return False
    return (package_dir / f"{key}.py").is_file() or (package_dir / key / "__main__.py").is_file()


# --------------------------------------------------------------------------- measuring a child


def _maxrss_mb(ru_maxrss: int) -> float:
    # Linux reports kilobytes, macOS bytes.
    return ru_maxrss / (1024 * 1024) if sys.platform == "darwin" else ru_maxrss / 1024


class _TreeRssSampler(threading.Thread):
    """Samples the summed resident set of a process and its descendants; psutil is optional."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_bytes = 0
        self.available = True
        self._stop_event = threading.Event()

    def run(self) -> None:
        try:
            import psutil
        except ImportError:
            self.available = False
            return
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._stop_event.is_set():
            total = 0
            try:
                processes = [root, *root.children(recursive=True)]
            except psutil.Error:
                break
            for process in processes:
                try:
                    total += process.memory_info().rss
                except psutil.Error:
                    continue
            self.peak_bytes = max(self.peak_bytes, total)
            self._stop_event.wait(SAMPLE_INTERVAL_S)

    def stop(self) -> None:
        self._stop_event.set()


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@dataclass
class ChildRun:
    exit_code: int
    wall_s: float
    peak_mb: float
    peak_tree_mb_sampled: float | None
    cpu_user_s: float
    cpu_sys_s: float
    tail: list[str]
    timed_out: bool


def run_child(
    command: Sequence[str],
    *,
    cwd: Path,
    env: dict[str, str],
    prefix: str,
    log: Callable[[str], None],
    timeout_s: float | None = None,
) -> ChildRun:
    """Run ``command``, stream its output through ``log``, measure it from outside."""
    tail: deque[str] = deque(maxlen=ERROR_TAIL_LINES)
    started = time.perf_counter()
    # Own process group, so a timeout or Ctrl-C ends the stage and everything it started.
    proc = subprocess.Popen(
        list(command),
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        bufsize=1,
        process_group=0,
    )
    sampler = _TreeRssSampler(proc.pid)
    sampler.start()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            line = line.rstrip("\n")
            tail.append(line)
            log(f"{prefix}{line}")

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    timed_out = threading.Event()
    timer = None
    if timeout_s:

        def on_timeout() -> None:
            timed_out.set()
            _kill_group(proc.pid)

        timer = threading.Timer(timeout_s, on_timeout)
        timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except BaseException:
        _kill_group(proc.pid)
        proc.wait()
        raise
    finally:
        if timer is not None:
            timer.cancel()
        sampler.stop()
    wall_s = time.perf_counter() - started
    # wait4 reaped the child; tell Popen so it does not try again.
    proc.returncode = os.waitstatus_to_exitcode(status)
    reader.join(timeout=10)
    sampler.join(timeout=2)
    return ChildRun(
        exit_code=proc.returncode,
        wall_s=wall_s,
        peak_mb=_maxrss_mb(usage.ru_maxrss),
        peak_tree_mb_sampled=(sampler.peak_bytes / 2**20) if sampler.available and sampler.peak_bytes else None,
        cpu_user_s=usage.ru_utime,
        cpu_sys_s=usage.ru_stime,
        tail=list(tail),
        timed_out=timed_out.is_set(),
    )


# --------------------------------------------------------------------------- one stage


def _describe_exit(run: ChildRun, timeout_s: float | None) -> str:
    if run.timed_out:
        return f"timed out after {timeout_s:g} s and was killed"
    if run.exit_code < 0:
        name = signal.Signals(-run.exit_code).name
        hint = " (SIGKILL often means the kernel ran out of memory)" if name == "SIGKILL" else ""
        return f"killed by {name}{hint}"
    return f"exited with code {run.exit_code}"


def _apply_target(key: str, record: dict[str, Any], size: str) -> None:
    target = TARGETS[key]
    record["target_text"] = target.text
    record["target_stated"] = target.check is not None  # by issue 7, as opposed to the stage's own
    if isinstance(record.get("target_met"), bool):
        record["target_met_by"] = "stage"
        return
    verdict = target.check(record, size) if (target.check and record.get("status") == "ok") else None
    record["target_met"] = verdict
    record["target_met_by"] = "harness" if verdict is not None else None


def run_stage(
    key: str,
    *,
    size: str,
    stages_package: str,
    package_dir: Path | None,
    env: dict[str, str],
    log: Callable[[str], None],
    timeout_s: float | None = None,
) -> dict[str, Any]:
    module = f"{stages_package}.{key}"
    if not stage_module_exists(package_dir, key):
        where = _display_path(package_dir / f"{key}.py") if package_dir else f"package {stages_package} (not found)"
        record: dict[str, Any] = {
            "status": "missing",
            "module": module,
            "message": f"no stage benchmark yet: {where} does not exist",
        }
        _apply_target(key, record, size)
        return record

    with tempfile.TemporaryDirectory(prefix=f"bench-{key}-") as tmp:
        out_path = Path(tmp) / "result.json"
        command = [sys.executable, "-m", module, "--size", size, "--out", str(out_path)]
        started_at = datetime.now(UTC)
        run = run_child(command, cwd=PROJECT_ROOT, env=env, prefix=f"  [{key}] ", log=log, timeout_s=timeout_s)
        record = {
            "status": "ok",
            "module": module,
            "command": shlex.join(["python", "-m", module, "--size", size, "--out", "<tmp>.json"]),
            "started_at": started_at.isoformat(timespec="seconds"),
            "exit_code": run.exit_code,
            "wall_s": round(run.wall_s, 3),
            "peak_mb": round(run.peak_mb, 1),
            "peak_tree_mb_sampled": None if run.peak_tree_mb_sampled is None else round(run.peak_tree_mb_sampled, 1),
            "cpu_user_s": round(run.cpu_user_s, 3),
            "cpu_sys_s": round(run.cpu_sys_s, 3),
        }
        last_line = next((line.strip() for line in reversed(run.tail) if line.strip()), "(no output)")
        if run.exit_code != 0 or run.timed_out:
            record["status"] = "failed"
            record["error"] = (
                f"{module} {_describe_exit(run, timeout_s)}: {last_line}\nlast lines:\n" + "\n".join(run.tail)
            )
        elif not out_path.is_file():
            record["status"] = "failed"
            record["error"] = f"{module} exited 0 but wrote no result to --out\nlast lines:\n" + "\n".join(run.tail)
        else:
            try:
                stage_result = json.loads(out_path.read_text())
                if not isinstance(stage_result, dict):
                    raise ValueError(f"expected a JSON object, got {type(stage_result).__name__}")
            except ValueError as exc:
                record["status"] = "failed"
                record["error"] = f"{module} wrote an unreadable result ({exc})"
            else:
                absent = [name for name in RESULT_FIELDS if name not in stage_result]
                # The harness's own measurements win over anything the stage claims about itself.
                record = {**{k: v for k, v in stage_result.items() if k not in record}, **record}
                if absent:
                    record["warnings"] = [f"result lacks field(s): {', '.join(absent)}"]
    _apply_target(key, record, size)
    return record


# --------------------------------------------------------------------------- formatting


def format_number(value: Any) -> str:
    number = _number(value)
    if number is None:
        return "" if value is None else str(value)
    magnitude = abs(number)
    if magnitude >= 1e9:
        return f"{number / 1e9:.2f} G"
    if magnitude >= 1e6:
        return f"{number / 1e6:.2f} M"
    if magnitude >= 1e4:
        return f"{number:,.0f}"
    if magnitude >= 100:
        return f"{number:.0f}"
    if magnitude >= 1:
        return f"{number:.2f}"
    if magnitude == 0:
        return "0"
    return f"{number:.3g}"


def _fixed(value: Any, decimals: int) -> str:
    number = _number(value)
    return "" if number is None else f"{number:,.{decimals}f}"


def _with_unit(value: Any, unit: Any) -> str:
    text = format_number(value)
    return f"{text} {unit}".strip() if text and unit else text


def _met(record: dict[str, Any]) -> str:
    verdict = record.get("target_met")
    return "yes" if verdict is True else "NO" if verdict is False else "-"


def _target_cell(record: dict[str, Any]) -> str:
    """The issue's wording where the issue states a target; otherwise what the stage states."""
    stated = record.get("target_stated", True)
    stage_target = record.get("target")
    if stated or stage_target is None or stage_target == "":
        return record.get("target_text", "")
    if isinstance(stage_target, int | float) and not isinstance(stage_target, bool):
        return f"stage's own: {format_number(stage_target)}"
    return f"stage's own: {stage_target}"


def summary_line(key: str, record: dict[str, Any]) -> str:
    return f"{key}: {summary_text(record)}"


def summary_text(record: dict[str, Any]) -> str:
    status = record.get("status")
    target = record.get("target_text", "")
    if status == "missing":
        return f"MISSING ({record.get('message')}); target {target}"
    if status in {"not_run", "pending"}:
        return f"{status.replace('_', ' ')} ({record.get('message')}); target {target}"
    measured = f"wall {_fixed(record.get('wall_s'), 1)} s, peak {_fixed(record.get('peak_mb'), 0)} MB"
    if status == "failed":
        first = (record.get("error") or "").splitlines()[0] if record.get("error") else ""
        return f"FAILED ({first}); {measured}"
    figure = _with_unit(record.get("figure"), record.get("unit"))
    ratio = format_number(record.get("ratio"))
    carried = " [carried over from an earlier run]" if record.get("carried_over") else ""
    return (
        f"{figure} (ratio {ratio or '-'}) -- target {_target_cell(record)}: {_met(record)}; "
        f"{measured}{carried}"
    )


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(results: dict[str, Any]) -> str:
    meta = results["meta"]
    lines = [
        f"# Benchmark results: size `{meta['size']}`",
        "",
        f"Run {meta['started_at']} to {meta['finished_at'] or '(still running)'} on {meta['cpu_count']} CPUs, "
        f"{meta['mem_total_gb']} GB RAM, Python {meta['python']}, commit `{meta.get('git_commit') or 'unknown'}`. "
        f"Command: `{meta['command']}`.",
        "",
        "Figures are ratios against a baseline measured in the same run; wall seconds and peak memory "
        "are measured from outside each stage's process. See benchmarks/README.md.",
        "",
        "| stage | status | figure | baseline | ratio | target | met? | wall s | peak MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    notes: list[str] = []
    for key in meta["stages"]:
        record = results[key]
        status = record.get("status", "")
        if record.get("carried_over"):
            status += " (earlier run)"
        cells = [
            f"`{key}`",
            status,
            _with_unit(record.get("figure"), record.get("unit")),
            _with_unit(record.get("baseline"), record.get("baseline_unit")),
            format_number(record.get("ratio")),
            _target_cell(record),
            _met(record) if record.get("status") == "ok" else "-",
            _fixed(record.get("wall_s"), 1),
            _fixed(record.get("peak_mb"), 0),
        ]
        lines.append("| " + " | ".join(_md_escape(c) for c in cells) + " |")
        if record.get("status") == "failed":
            error = (record.get("error") or "").strip().splitlines()
            shown = error if len(error) <= 13 else [error[0], "...", *error[-12:]]
            excerpt = "\n".join("    " + line for line in shown)
            notes.append(f"- `{key}` failed:\n\n{excerpt}\n")
        elif record.get("status") in {"missing", "not_run", "pending"}:
            notes.append(f"- `{key}` {record['status'].replace('_', ' ')}: {record.get('message')}")
        for warning in record.get("warnings", []):
            notes.append(f"- `{key}`: {warning}")
    if notes:
        lines += ["", "## Notes", "", *notes]
    lines += ["", f"_{PEAK_MB_NOTE}_", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- the run


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _mem_total_gb() -> float | None:
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
    return round(pages / 2**30, 1)


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _child_env(extra_paths: Sequence[Path]) -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(p) for p in extra_paths] + [str(PROJECT_ROOT)]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["PYTHONUNBUFFERED"] = "1"  # progress lines arrive as they are printed
    return env


def _previous_results(results_dir: Path, size: str) -> dict[str, Any]:
    path = results_dir / f"latest-{size}.json"
    try:
        previous = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(previous, dict) or previous.get("meta", {}).get("size") != size:
        return {}
    return previous


def run_benchmarks(
    size: str,
    *,
    only: Iterable[str] | None = None,
    stages_package: str = DEFAULT_STAGES_PACKAGE,
    extra_paths: Sequence[Path] = (),
    results_dir: Path = DEFAULT_RESULTS_DIR,
    timeout_s: float | None = None,
    log: Callable[[str], None] | None = None,
    command_line: str | None = None,
) -> dict[str, Any]:
    """Run the stages, write latest-<size>.json, the dated copy and latest-<size>.md; return the results."""
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; expected one of {', '.join(SIZES)}")
    selected = list(STAGE_KEYS) if only is None else list(only)
    unknown = [key for key in selected if key not in STAGE_KEYS]
    if unknown:
        raise ValueError(f"unknown stage key(s) {', '.join(unknown)}; expected some of {', '.join(STAGE_KEYS)}")
    if log is None:

        def log(line: str) -> None:
            print(line, file=sys.stderr, flush=True)

    search_path = [Path(p) for p in extra_paths] + [PROJECT_ROOT]
    package_dir = find_package_dir(stages_package, search_path)
    env = _child_env(extra_paths)
    previous = _previous_results(results_dir, size) if only is not None else {}
    started_at = datetime.now(UTC)
    results: dict[str, Any] = {
        "meta": {
            "size": size,
            "started_at": started_at.isoformat(timespec="seconds"),
            "finished_at": None,
            "command": command_line or f"python -m benchmarks.run --size {size}",
            "stages_package": stages_package,
            "stages": list(STAGE_KEYS),
            "only": None if only is None else selected,
            "git_commit": _git_commit(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "mem_total_gb": _mem_total_gb(),
            "peak_mb_note": PEAK_MB_NOTE,
        }
    }
    total = len(STAGE_KEYS)
    for index, key in enumerate(STAGE_KEYS, start=1):
        step = f"[bench {index}/{total}] {key}"
        if key not in selected:
            earlier = previous.get(key)
            if isinstance(earlier, dict) and earlier.get("status") in {"ok", "failed", "missing"}:
                from_run = earlier.get("from_run") or previous["meta"].get("started_at")
                record = {**earlier, "carried_over": True, "from_run": from_run}
                log(f"{step}: not selected; keeping the result of the run of {record['from_run']}")
            else:
                record = {"status": "not_run", "message": "not selected with --only and no earlier result"}
                _apply_target(key, record, size)
                log(f"{step}: not selected with --only")
            results[key] = record
            continue
        if stage_module_exists(package_dir, key):
            log(f"{step}: starting python -m {stages_package}.{key} --size {size}")
        record = run_stage(
            key,
            size=size,
            stages_package=stages_package,
            package_dir=package_dir,
            env=env,
            log=log,
            timeout_s=timeout_s,
        )
        results[key] = record
        log(f"{step}: {summary_text(record)}")
        if index < total:
            # A long run that is interrupted still leaves every finished stage's figures.
            _write_results(results_dir, results, started_at, size)
    results["meta"]["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    _write_results(results_dir, results, started_at, size)
    return results


def _write_results(results_dir: Path, results: dict[str, Any], started_at: datetime, size: str) -> None:
    snapshot = dict(results)
    for key in STAGE_KEYS:
        if key not in snapshot:
            snapshot[key] = {
                "status": "pending",
                "message": "the run had not reached this stage when these results were written",
                "target_text": TARGETS[key].text,
            }
    results_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(snapshot, indent=2, sort_keys=False, default=str) + "\n"
    _write_atomically(results_dir / f"latest-{size}.json", text)
    _write_atomically(results_dir / f"{started_at.date().isoformat()}-{size}.json", text)
    _write_atomically(results_dir / f"latest-{size}.md", render_markdown(snapshot))


def _exit_on_signal(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=SIZES, default="demo", help="data size (tiny is a smoke size)")
    parser.add_argument("--only", help=f"comma-separated subset of: {','.join(STAGE_KEYS)}")
    parser.add_argument("--timeout-s", type=float, default=None, help="kill a stage after this many seconds")
    parser.add_argument("--results-dir", type=Path, default=DEFAULT_RESULTS_DIR)
    parser.add_argument(
        "--stages-package",
        default=DEFAULT_STAGES_PACKAGE,
        help="dotted package holding the stage modules (tests point this at a fake package)",
    )
    parser.add_argument(
        "--path",
        action="append",
        type=Path,
        default=[],
        help="extra directory put first on the stages' import path (repeatable)",
    )
    args = parser.parse_args(argv)
    # Terminated (a CI timeout, `kill`): raise in the main thread, so the running stage's whole
    # process group is ended too instead of living on as an orphan.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _exit_on_signal)
    only = [key.strip() for key in args.only.split(",") if key.strip()] if args.only else None
    command_line = "python -m benchmarks.run " + shlex.join(list(argv if argv is not None else sys.argv[1:]))
    try:
        results = run_benchmarks(
            args.size,
            only=only,
            stages_package=args.stages_package,
            extra_paths=args.path,
            results_dir=args.results_dir,
            timeout_s=args.timeout_s,
            command_line=command_line,
        )
    except ValueError as exc:
        parser.error(str(exc))
    print(f"\nBenchmarks at size {args.size} (written to {args.results_dir}/latest-{args.size}.json and latest-{args.size}.md):")
    for key in STAGE_KEYS:
        print("  " + summary_line(key, results[key]))
    failed = [key for key in STAGE_KEYS if results[key].get("status") == "failed"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
