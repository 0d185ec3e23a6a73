"""``hwbnn sweep SPEC.toml``: run every point of a spec (:mod:`hwbnn.pipeline.sweep_spec`) on
a local process pool or a Ray cluster, and write one results table and its report.

Layout of the sweep directory ``SWEEP`` (the spec's ``out``)::

    SWEEP/train/NAME/      one build per training (train + export), shared by its points
    SWEEP/points/NAME/     one build per point (compile, verify, sim, bitstream)
    SWEEP/results/NAME.json  the outcome of each point that ran: done or failed, with its row
    SWEEP/logs/NAME.log    everything a task printed
    SWEEP/results.csv, SWEEP/results.json, SWEEP/report/index.html (Pareto plot)

Engines: :class:`LocalPool` (``concurrent.futures`` processes, at most the cores this process
may use) or :class:`RayCluster` (Ray's task API: ``ray.remote`` / ``ray.wait``, with the
``hwbnn[cluster]`` extra). The trainings are submitted first; each point is submitted when its
training finished. With Ray, ``SWEEP`` must be a directory every node sees at the same path
(each row names the host that ran it and its build).

Faults: a task whose process died (killed, out of memory) runs once more, on a new pool; a
point whose task failed (or was lost twice) is recorded with its error and not run again unless
``retry_failed``; a finished point is never run again (points are keyed by the sha256 of their
options); a sweep killed half-way runs the rest when started again, and the step runner
resumes a point that was killed inside a step.
"""

from __future__ import annotations

import csv
import json
import os
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hwbnn.errors import ConfigError
from hwbnn.pipeline.sweep_spec import Point, Spec, label
from hwbnn.pipeline.sweep_tasks import error_line, run_point, run_training

DONE, FAILED, NOT_RUN = "done", "failed", "not run"
#: the results table, in order (CSV header and JSON keys)
COLUMNS = (
    "point",
    "model",
    "methods",
    "seed",
    "folding",
    "board",
    "status",
    "accuracy",
    "exactness",
    "cycles_per_frame",
    "lut4",
    "lut4_source",
    "fmax_mhz",
    "frames_per_s",
    "frames_per_s_clock",
    "frames_per_s_per_klut",
    "seconds",
    "train_seconds",
    "host",
    "build",
    "error",
)
#: the columns that say how and where a point ran, not what it measured
RUN_COLUMNS = ("seconds", "train_seconds", "host", "build")


def _plural(n: int, one: str, many: str = "") -> str:
    return f"{n:,} {one if n == 1 else many or one + 's'}"


def default_workers() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class LocalPool:
    """Tasks in ``workers`` processes of this machine (spawned: no forked torch threads)."""

    def __init__(self, workers: int | None = None) -> None:
        import multiprocessing

        self.workers = workers or default_workers()
        if self.workers < 1:
            raise ConfigError(f"--workers must be >= 1, got {self.workers}")
        self.context = multiprocessing.get_context("spawn")
        self.pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=self.context)
        self.where = f"a local pool of {_plural(self.workers, 'process', 'processes')}"

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        try:
            return self.pool.submit(fn, *args)
        except BrokenProcessPool:  # a worker died (its tasks are reported lost): a new pool
            self.pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=self.context)
            return self.pool.submit(fn, *args)

    def next_done(self, handles: list[Any]) -> Any:
        done, _ = wait_futures(handles, return_when=FIRST_COMPLETED)
        return next(iter(done))

    def result(self, handle: Future[Any]) -> Any:
        return handle.result()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class RayCluster:
    """Tasks on a Ray cluster through ``ray.remote`` (one CPU each); ``address`` is a cluster
    address (``HOST:PORT``, ``ray://HOST:PORT``) or ``auto`` (the cluster this machine
    belongs to). When Ray is already initialised in this process, that instance is used."""

    def __init__(self, address: str) -> None:
        try:
            import ray
        except ImportError:
            raise ConfigError(
                "--ray needs Ray: pip install 'hwbnn[cluster]' (or run without --ray for the "
                "local process pool)"
            ) from None
        import logging

        self.ray = ray
        self.owned = not ray.is_initialized()
        if self.owned:
            try:
                ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                raise ConfigError(f"--ray {address}: cannot connect ({error_line(exc)})") from None
        self.remote: dict[Callable[..., Any], Any] = {}
        cpus = int(ray.cluster_resources().get("CPU", 0))
        self.where = f"a Ray cluster ({_plural(cpus, 'CPU')})"

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        if fn not in self.remote:
            # a task whose worker died is run again by the sweep (LOST_TRIES), not by Ray
            self.remote[fn] = self.ray.remote(num_cpus=1, max_retries=0)(fn)
        return self.remote[fn].remote(*args)

    def next_done(self, handles: list[Any]) -> Any:
        ready, _ = self.ray.wait(handles, num_returns=1)
        return ready[0]

    def result(self, handle: Any) -> Any:
        return self.ray.get(handle)

    def close(self) -> None:
        if self.owned:
            self.ray.shutdown()


#: a task whose process died runs this many times in all before its points count as failed
LOST_TRIES = 2


@dataclass(frozen=True)
class Task:
    """A training (``kind`` "train", for all its points) or a point, and how to run it."""

    kind: str
    points: list[Point]
    fn: Callable[..., dict[str, Any]]
    args: tuple[Any, ...]
    tries: int = 1


@dataclass
class SweepResult:
    """What a sweep run did, and where its table and report are."""

    rows: list[dict[str, Any]]
    ran: int = 0
    skipped_done: int = 0
    skipped_failed: int = 0
    files: dict[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["status"] == FAILED]


def _train_dir(spec: Spec, point: Point) -> Path:
    name = f"{point.model}-{label(point.methods)}-s{point.seed}-{point.train_key[:8]}"
    return spec.out / "train" / name


def _outcome_path(spec: Spec, point: Point) -> Path:
    return spec.out / "results" / f"{point.name}.json"


def read_outcome(spec: Spec, point: Point) -> dict[str, Any] | None:
    """The recorded outcome of a point (None: it has not run, or ran for other options)."""
    try:
        doc = json.loads(_outcome_path(spec, point).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return doc if doc.get("key") == point.key else None


def _write_json(path: Path, doc: Any) -> None:
    """Write ``path`` whole or not at all (a kill leaves the old file or none)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    os.replace(tmp, path)


def _record(spec: Spec, point: Point, outcome: dict[str, Any], train: dict[str, Any]) -> None:
    doc = {**outcome, "key": point.key, "train_seconds": train.get("seconds")}
    if train.get("status") == FAILED:
        doc["error"] = f"training failed: {train.get('error')}"
    _write_json(_outcome_path(spec, point), doc)


def run_sweep(
    spec: Spec,
    engine: LocalPool | RayCluster,
    *,
    retry_failed: bool = False,
    progress: bool = True,
    say: Callable[[str], None] = print,
) -> SweepResult:
    """Run the points of ``spec`` that have not finished (and, with ``retry_failed``, those
    that failed), then write the table and the report; see the module docstring."""
    from tqdm import tqdm

    spec.out.mkdir(parents=True, exist_ok=True)
    result = SweepResult(rows=[])
    todo: list[Point] = []
    for point in spec.points:
        outcome = read_outcome(spec, point)
        status = outcome["status"] if outcome else None
        if status == DONE:
            result.skipped_done += 1
        elif status == FAILED and not retry_failed:
            result.skipped_failed += 1
        else:
            todo.append(point)
    say(
        f"hwbnn sweep: {_plural(len(spec.points), 'point')}, {result.skipped_done} done, "
        f"{result.skipped_failed} failed (--retry-failed runs them), {len(todo)} to run "
        f"on {engine.where}; logs in {spec.out / 'logs'}"
    )
    bar = tqdm(total=len(todo), desc="sweep", unit="point", disable=not progress or not todo)
    trainings: dict[str, list[Point]] = {}
    for point in todo:
        trainings.setdefault(point.train_key, []).append(point)
    pending: dict[Any, Task] = {}
    logs = spec.out / "logs"

    def submit(task: Task) -> None:
        pending[engine.submit(task.fn, *task.args)] = task

    try:
        for points in trainings.values():
            build = _train_dir(spec, points[0])
            log = logs / f"train-{build.name}.log"
            submit(Task("train", points, run_training, (points[0].cfg, str(build), str(log))))
        train_info: dict[str, dict[str, Any]] = {}
        while pending:
            handle = engine.next_done(list(pending))
            task = pending.pop(handle)
            try:
                outcome = engine.result(handle)
            except Exception as exc:  # the task's process died (killed, out of memory)
                if task.tries < LOST_TRIES:
                    submit(replace(task, tries=task.tries + 1))
                    continue
                outcome = {"status": FAILED, "error": f"task lost: {error_line(exc)}"}
            if task.kind == "train":
                train_info[task.points[0].train_key] = outcome
                if outcome["status"] != DONE:
                    for point in task.points:
                        _record(spec, point, {"status": FAILED}, outcome)
                        bar.update()
                    continue
                build = _train_dir(spec, task.points[0])
                for point in task.points:
                    log = logs / f"{point.name}.log"
                    args = (point.cfg, str(point.cfg.out), str(build), spec.clock_mhz, str(log))
                    submit(Task("point", [point], run_point, args))
            else:
                point = task.points[0]
                _record(spec, point, outcome, train_info.get(point.train_key, {}))
                result.ran += 1
                bar.update()
    finally:
        bar.close()
        engine.close()
    result.rows = table_rows(spec)
    result.files = write_tables(spec, result.rows)
    return result


def table_rows(spec: Spec) -> list[dict[str, Any]]:
    """One row per point of the spec, in grid order, from the recorded outcomes."""
    rows = []
    for point in spec.points:
        outcome = read_outcome(spec, point) or {"status": NOT_RUN}
        row = {
            "point": point.name,
            "model": point.model,
            "methods": point.methods,
            "seed": point.seed,
            "folding": point.folding,
            "board": point.board,
        }
        row.update({k: outcome.get(k) for k in COLUMNS if k not in row})
        notes = dict(outcome.get("notes") or {})
        if outcome["status"] != DONE:
            reason = "not run yet" if outcome["status"] == NOT_RUN else "the point failed"
            for key in COLUMNS[7:16]:
                notes.setdefault(key, reason)
        row["notes"] = notes
        rows.append(row)
    return rows


def write_tables(spec: Spec, rows: list[dict[str, Any]]) -> dict[str, str]:
    """SWEEP/results.csv, SWEEP/results.json and the HTML report with its Pareto plot."""
    from hwbnn.report.sweep_report import cell, write_sweep_report

    csv_path = spec.out / "results.csv"
    tmp = csv_path.with_name(f".results.csv.{os.getpid()}.tmp")
    with tmp.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([cell(row, key) for key in COLUMNS])
    os.replace(tmp, csv_path)
    json_path = spec.out / "results.json"
    _write_json(
        json_path,
        {
            "spec": str(spec.path),
            "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "clock_mhz": spec.clock_mhz,
            "columns": list(COLUMNS),
            "rows": rows,
        },
    )
    report = write_sweep_report(spec.out, rows, list(COLUMNS), spec.clock_mhz)
    return {"csv": str(csv_path), "json": str(json_path), **report}
