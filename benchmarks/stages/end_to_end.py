"""End to end: the main DAG on one size, through the same entry point as ``make run``.

``python -m benchmarks.stages.end_to_end --size demo|large --out result.json``

The figure is the wall time of ``python -m include.run_main --size S`` (prepare the embedded
Airflow, ``airflow dags test churn_warning_daily <date>``, print the summary). The ratio is the
share of that wall time spent in orchestration and tool start-up rather than in the steps' own
work (issue 7; target <= 25% at demo):

* the steps' work is read from the Airflow metadata DB of that run: the union of the
  ``task_instance`` (and ``task_instance_history``, for retried tries) intervals of the DAG run;
  everything outside them -- interpreter and Airflow start-up, ``db migrate``, DAG parsing,
  scheduling gaps between tasks, the summary -- is orchestration;
* inside the dbt tasks, dbt's own start-up (project load, adapter, connection) is tool start-up
  too: when the run's log holds dbt's ``Finished running ... (N.NNs)`` lines, the dbt tasks'
  time beyond those N seconds is moved from work to start-up.

Synthetic data generation is not part of the figure: when the source data for the size is
absent it is generated first (timed separately, in ``details.data_generation_s``), as the
``generate`` stage already measures it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.stages.common import progress_for, stage_parser, write_result

MAIN_DAG = "churn_warning_daily"
ENTRY_POINT = "include.run_main"
TARGET_SHARE = 0.25
DBT_FINISHED = re.compile(r"Finished running .* in .*\((\d+(?:\.\d+)?)s\)")
LOG_PATH = re.compile(r"full log: ([^)\s]+)\)")
SCORED = re.compile(r"customers scored:\s*([\d,]+)")
TIMESTAMPED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")


progress = progress_for("end_to_end")


def union_seconds(intervals: Iterable[tuple[datetime, datetime]]) -> float:
    """Total length covered by possibly overlapping intervals (parallel tasks count once)."""
    total = 0.0
    current_start: datetime | None = None
    current_end: datetime | None = None
    for start, end in sorted(intervals):
        if current_end is None or start > current_end:
            if current_end is not None and current_start is not None:
                total += (current_end - current_start).total_seconds()
            current_start, current_end = start, end
        elif end > current_end:
            current_end = end
    if current_end is not None and current_start is not None:
        total += (current_end - current_start).total_seconds()
    return total


def dbt_own_seconds(log_text: str) -> float | None:
    """Sum of the run times dbt reports for its own invocations, or None when it reports none."""
    values = [float(match.group(1)) for match in DBT_FINISHED.finditer(log_text)]
    return sum(values) if values else None


def orchestration_breakdown(
    *,
    started: datetime,
    finished: datetime,
    tasks: list[dict[str, Any]],
    dbt_own_s: float | None,
) -> dict[str, Any]:
    """Split the wall time into the steps' own work and orchestration plus tool start-up."""
    total_s = (finished - started).total_seconds()
    intervals = [(t["start"], t["end"]) for t in tasks if t["start"] and t["end"]]
    busy_s = union_seconds(intervals)
    dbt_task_s = sum(t["duration_s"] for t in tasks if t["task_id"].startswith("dbt_"))
    dbt_startup_s = max(0.0, dbt_task_s - dbt_own_s) if dbt_own_s is not None and dbt_task_s else 0.0
    work_s = max(0.0, busy_s - dbt_startup_s)
    overhead_s = max(0.0, total_s - work_s)
    run_start = min((start for start, _ in intervals), default=None)
    run_end = max((end for _, end in intervals), default=None)
    return {
        "total_wall_s": round(total_s, 3),
        "steps_work_s": round(work_s, 3),
        "orchestration_and_startup_s": round(overhead_s, 3),
        "orchestration_share": round(overhead_s / total_s, 4) if total_s > 0 else None,
        "outside_tasks_s": round(total_s - busy_s, 3),
        "before_first_task_s": round((run_start - started).total_seconds(), 3) if run_start else None,
        "gaps_between_tasks_s": round((run_end - run_start).total_seconds() - busy_s, 3)
        if run_start and run_end
        else None,
        "after_last_task_s": round((finished - run_end).total_seconds(), 3) if run_end else None,
        "task_time_s": round(busy_s, 3),
        "dbt_task_time_s": round(dbt_task_s, 3),
        "dbt_own_run_time_s": None if dbt_own_s is None else round(dbt_own_s, 3),
        "dbt_startup_in_tasks_s": round(dbt_startup_s, 3),
        "dbt_startup_measured": dbt_own_s is not None,
    }


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def read_run_from_metadata(env: dict[str, str], started: datetime) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The DAG run started by this benchmark and its task tries, from Airflow's metadata DB."""
    # Airflow reads its configuration at import: point it at the run's metadata DB first.
    for name, value in env.items():
        if name.startswith("AIRFLOW") or name == "AIRFLOW_HOME":
            os.environ[name] = value
    from airflow.models import DagRun, TaskInstance
    from airflow.models.taskinstancehistory import TaskInstanceHistory
    from airflow.utils.session import create_session

    slack = timedelta(seconds=5)
    with create_session() as session:
        # `airflow dags test` stamps the run's start_date with its logical date, so the run is
        # found by when it was created.
        run = (
            session.query(DagRun)
            .filter(DagRun.dag_id == MAIN_DAG, DagRun.created_at >= started - slack)
            .order_by(DagRun.id.desc())
            .first()
        )
        if run is None:
            raise RuntimeError(
                f"no run of {MAIN_DAG} created after {started.isoformat()} in the metadata DB "
                f"{env.get('AIRFLOW__DATABASE__SQL_ALCHEMY_CONN')}"
            )
        dag_run = {"run_id": run.run_id, "state": str(run.state)}
        tries: dict[tuple[str, int, int], dict[str, Any]] = {}
        # A retried task leaves its earlier tries in task_instance_history; the current try is
        # in task_instance (and, once failed, in both): keep one row per try.
        for model in (TaskInstanceHistory, TaskInstance):
            rows = session.query(model).filter(model.dag_id == MAIN_DAG, model.run_id == run.run_id).all()
            for ti in rows:
                start, end = _aware(ti.start_date), _aware(ti.end_date)
                if start is None:
                    continue  # never ran (upstream failed, or the run was stopped)
                duration = ti.duration if ti.duration is not None else (
                    (end - start).total_seconds() if end else 0.0
                )
                tries[(ti.task_id, ti.map_index, ti.try_number)] = {
                    "task_id": ti.task_id,
                    "map_index": ti.map_index,
                    "try_number": ti.try_number,
                    "state": str(ti.state),
                    "start": start,
                    "end": end,
                    "duration_s": float(duration or 0.0),
                }
        tasks = list(tries.values())
    return dag_run, tasks


def ensure_data(size: str) -> float:
    """Generate the size's source data if absent, the way ``make run`` would; seconds spent."""
    from include.config import get_settings

    get_settings.cache_clear()
    settings = get_settings()
    manifest = settings.source_dir / "_manifest.json"
    if settings.source_kind != "files" or manifest.exists():
        progress(f"step 1/4: source data present ({settings.source_dir})")
        return 0.0
    from include.run_main import ensure_source_data

    progress(f"step 1/4: generating the {size} synthetic bank first (not part of the figure)")
    started = time.perf_counter()
    ensure_source_data(settings)
    return time.perf_counter() - started


def first_task_error(log_text: str) -> str | None:
    """The exception that ended the first failed task, from the run's Airflow log."""
    lines = log_text.splitlines()
    for index, line in enumerate(lines):
        if "Task failed with exception" not in line:
            continue
        message = None
        for following in lines[index + 1 :]:
            if TIMESTAMPED.match(following):
                break
            # The exception line is the traceback's last unindented line; a multi-line message
            # continues indented below it.
            if following.strip() and not following[0].isspace() and not following.startswith("Traceback"):
                message = following.strip()
        return message[:400] if message else None
    return None


def _signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _stop(process: subprocess.Popen) -> None:
    """End `airflow dags test` but let the entry point finish: it then writes the task's
    traceback to its log file and exits non-zero. Without psutil, end the whole group."""
    time.sleep(2)  # the traceback follows the failure line in the same stream
    try:
        import psutil

        children = [child.pid for child in psutil.Process(process.pid).children(recursive=True)]
    except Exception:  # psutil absent, or the entry point already gone
        children = []
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if children:
            _signal_all(children, sig)
        else:
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                return
        try:
            process.wait(timeout=15)
            return
        except subprocess.TimeoutExpired:
            continue


def run_entry_point(
    size: str, as_of_date: str | None, *, wait_for_retries: bool
) -> tuple[int, list[str], datetime, datetime, bool]:
    command = [sys.executable, "-m", ENTRY_POINT, "--size", size]
    if as_of_date:
        command += ["--as-of-date", as_of_date]
    progress(f"step 2/4: running {' '.join(['python', *command[1:]])}")
    lines: list[str] = []
    stopped = False
    started = datetime.now(UTC)
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace", process_group=0
    )
    assert process.stdout is not None
    for line in process.stdout:
        line = line.rstrip("\n")
        lines.append(line)
        print(f"  {line}", file=sys.stderr, flush=True)
        if not wait_for_retries and not stopped and "Task failed with exception" in line:
            # A retry waits out the DAG's retry delay (minutes): the figure would measure the
            # delay, not the platform. Stop at the first failure and report it.
            progress("a task failed: stopping the run instead of waiting for its retries")
            stopped = True
            threading.Thread(target=_stop, args=(process,), daemon=True).start()
    returncode = process.wait()
    return returncode, lines, started, datetime.now(UTC), stopped


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--as-of-date", help="as-of date passed on to the run (default: the data's last month-end)")
    parser.add_argument(
        "--wait-for-retries", action="store_true", help="let failed tasks retry instead of stopping at the first failure"
    )
    args = parser.parse_args(argv)

    os.environ["CHURN_SIZE"] = args.size
    try:
        from include import run_main  # noqa: F401  (fail early and clearly if the entry point is absent)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("include"):
            raise SystemExit(
                f"end_to_end needs the entry point {ENTRY_POINT} (python -m {ENTRY_POINT} --size S), "
                f"which is not importable: {exc}"
            ) from exc
        raise
    data_generation_s = ensure_data(args.size)

    returncode, lines, started, finished, stopped = run_entry_point(
        args.size, args.as_of_date, wait_for_retries=args.wait_for_retries
    )
    log_path = next((Path(m.group(1)) for m in map(LOG_PATH.search, lines) if m), None)
    log_text = log_path.read_text(encoding="utf-8", errors="replace") if log_path and log_path.is_file() else ""
    if returncode != 0 or stopped:
        cause = first_task_error(log_text)
        tail = "\n".join(lines[-15:])
        how = "a task failed" if stopped else f"exit code {returncode}"
        # The cause goes last: the harness shows a failed stage's last line in its summary.
        raise SystemExit(
            f"{tail}\nfull log: {log_path}\nthe main DAG run failed ({how})" + (f": {cause}" if cause else "")
        )

    progress("step 3/4: reading the run's task times from the Airflow metadata DB")
    from include.config import airflow_environment, get_settings

    get_settings.cache_clear()
    env = airflow_environment(get_settings())
    dag_run, tasks = read_run_from_metadata(env, started)

    dbt_own_s = dbt_own_seconds(log_text or "\n".join(lines))

    progress("step 4/4: splitting wall time into the steps' work and orchestration")
    breakdown = orchestration_breakdown(started=started, finished=finished, tasks=tasks, dbt_own_s=dbt_own_s)
    share = breakdown["orchestration_share"]
    scored_match = next((m for m in map(SCORED.search, lines) if m), None)
    slowest = sorted(tasks, key=lambda t: t["duration_s"], reverse=True)
    result = {
        "figure": breakdown["total_wall_s"],
        "unit": "s",
        "baseline": breakdown["steps_work_s"],
        "baseline_unit": "s (steps' own work)",
        "ratio": share,
        "target": f"orchestration share <= {TARGET_SHARE:.0%} at demo",
        "target_met": (share <= TARGET_SHARE) if (args.size == "demo" and share is not None) else None,
        "details": {
            **breakdown,
            "ratio_meaning": "orchestration and tool start-up seconds / total wall seconds",
            "dag_id": MAIN_DAG,
            "dag_run_id": dag_run["run_id"],
            "dag_run_state": dag_run["state"],
            "task_tries": len(tasks),
            "customers_scored": int(scored_match.group(1).replace(",", "")) if scored_match else None,
            "data_generation_s": round(data_generation_s, 3),
            "metadata_db": env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"),
            "tasks": [
                {
                    "task_id": t["task_id"],
                    "try_number": t["try_number"],
                    "state": t["state"],
                    "duration_s": round(t["duration_s"], 3),
                }
                for t in slowest
            ],
        },
    }
    write_result(args.out, result)
    progress(
        f"done: {breakdown['total_wall_s']:.1f} s wall, steps' work {breakdown['steps_work_s']:.1f} s, "
        f"orchestration share {share:.1%} (target <= {TARGET_SHARE:.0%} at demo)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
