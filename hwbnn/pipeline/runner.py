"""The one step runner: a flow is a tuple of :class:`Step`, run on one build directory.

A step is a plain function ``run(ctx) -> StepResult`` with a declared digest of what it reads:
the part of the configuration that affects it (``config``), the build files it reads
(``inputs``, hashed by content) and the steps it follows (``after``: their recorded digests).
The build's manifest records every finished step with that digest, the sha256 of each input
it read and the versions of the tools it ran (hwbnn.build.record_step), and the status of every
step of the flow: pending, running, done or failed (hwbnn.build module docstring).

:func:`run_steps` runs a slice of a flow. A step whose digest equals the recorded one and whose
outputs exist is reused; any other step runs, its old record removed first, so a run that
failed or was interrupted (Ctrl-C) resumes at the first step whose inputs changed or that did
not finish. ``start`` runs again even when reusable (``hwbnn run --from STEP``); ``force``
names steps that run even when reusable and may run on a build whose earlier steps were not
recorded by the runner (the single commands, on any build directory).

A build is marked before each step starts (``running``, with this process's id), so a step
killed half-way, even by SIGKILL, leaves the build ``incomplete``; a step stopped by SIGINT or
SIGTERM is marked ``interrupted`` (also incomplete), one that raised an error ``failed``. A
forced step (a single command) refuses a build in which another step did not finish
(hwbnn.build.require_complete): its files may be half written; ``hwbnn run`` resumes such a
build, and any run refuses a build that another live process is working on.

Contract of a step function: it reads only the build directory, the files its config names
and the data sets, writes only inside the build (its declared outputs, logs), raises an
:class:`hwbnn.errors.HwbnnError` with a one-line message on bad input, and returns a
:class:`StepResult` whose ``message`` is one line for the user.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hwbnn.build import (
    FAILED,
    INTERRUPTED,
    PENDING,
    RUNNING,
    fail_step,
    flow_status,
    has_manifest,
    plan_steps,
    record_step,
    require_complete,
    require_not_running,
    start_step,
    step_records,
)
from hwbnn.errors import ConfigError
from hwbnn.pipeline.config import RunConfig, to_dict
from hwbnn.pipeline.provenance import input_label, package_versions, sha256_path
from hwbnn.units import seconds as fmt_seconds


@dataclass(frozen=True)
class StepResult:
    """What a step reports: one line for the user, and a JSON-able summary for the manifest."""

    message: str
    summary: dict[str, Any] = field(default_factory=dict)
    #: what the step read besides its declared input files, by name -> sha256 (data sets,
    #: frames given on the command line)
    inputs: dict[str, str] = field(default_factory=dict)


@dataclass
class Context:
    """What every step sees: the config, the build directory and how to talk to the user."""

    cfg: RunConfig
    build: Path
    onnx_file: Path | None = None  # the model to compile (default: BUILD/model.onnx)
    checkpoint_file: Path | None = None  # the torch model (default: BUILD/train/model.pt)
    progress: bool = True  # progress bars on stderr
    verbose: bool = False  # tool logs live instead of only in files
    command: str = ""  # the command line, recorded with verification results
    say: Callable[[str], None] = print
    #: per-command options: "frames"/"labels" (given inputs), "frames_id" (their identity, part
    #: of the digests), "rounding", "dut" (a Vitis export), "no_onnx"/"no_torch" (eval),
    #: "board" (compile: the board whose fit the estimate must pass, None for none; absent in
    #: ``hwbnn run``, where the bitstream step's board is used: steps.fit_board)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.build = Path(self.build)

    @property
    def onnx(self) -> Path:
        return Path(self.onnx_file) if self.onnx_file else self.build / "model.onnx"

    @property
    def checkpoint(self) -> Path:
        if self.checkpoint_file:
            return Path(self.checkpoint_file)
        return self.build / "train" / "model.pt"


@dataclass(frozen=True)
class Step:
    """One step of a flow; see the module docstring."""

    name: str
    title: str
    run: Callable[[Context], StepResult]
    config: Callable[[Context], Any] = lambda ctx: None
    inputs: Callable[[Context], Sequence[Path]] = lambda ctx: ()
    after: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    applies: Callable[[RunConfig], bool] = lambda cfg: True
    #: Python distributions whose versions the manifest records for this step
    packages: tuple[str, ...] = ()
    #: versions of the programs the step ran (simulator, compiler, yosys, nextpnr), by name
    programs: Callable[[Context, StepResult], dict[str, str]] = lambda ctx, result: {}

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class StepRun:
    name: str
    status: str  # "ran", "reused" or "not applicable"
    seconds: float
    message: str
    summary: dict[str, Any]


def step_digest(
    step: Step, ctx: Context, records: dict[str, dict[str, Any]], strict: bool = True
) -> str:
    """The digest of what ``step`` reads; a ConfigError names a missing input and its maker.
    Not ``strict`` (a forced single command), an unrecorded earlier step counts as unknown:
    the step itself then checks the files it needs."""
    digest = hashlib.sha256(step.name.encode())
    digest.update(json.dumps(to_dict(step.config(ctx)), sort_keys=True, default=str).encode())
    digest.update(str(ctx.extra.get("frames_id", "")).encode())
    for path in step.inputs(ctx):
        if not path.exists():
            raise ConfigError(
                f"step {step.name} needs {path}, which does not exist; run the steps before "
                f"it first (hwbnn run --list-steps shows them)"
            )
        digest.update(str(path.name).encode())
        digest.update(sha256_path(path).encode())
    for name in step.after:
        if name not in records and not strict:
            digest.update(b"unrecorded")
            continue
        if name not in records:
            raise ConfigError(
                f"step {step.name} needs step {name}, which has not finished in {ctx.build}; "
                f"run it first (hwbnn run --out {ctx.build} --from {name})"
            )
        digest.update(records[name]["digest"].encode())
    return digest.hexdigest()[:16]


def _when(record: dict[str, Any]) -> str:
    """When a recorded step finished, as ``2026-12-05 13:49`` (UTC)."""
    return str(record.get("finished", "?")).replace("T", " ")[:16]


def select(flow: Sequence[Step], start: str | None, stop: str | None) -> list[Step]:
    """The steps from ``start`` to ``stop`` (inclusive), by name."""
    names = [s.name for s in flow]
    for name in (start, stop):
        if name is not None and name not in names:
            raise ConfigError(f"unknown step {name!r}; the steps are {', '.join(names)}")
    first = names.index(start) if start else 0
    last = names.index(stop) if stop else len(names) - 1
    if first > last:
        raise ConfigError(f"step {start} comes after step {stop}")
    return list(flow[first : last + 1])


def _input_hashes(step: Step, ctx: Context) -> dict[str, str]:
    """The sha256 of each declared input of ``step`` (they exist: step_digest checked them)."""
    return {input_label(path, ctx.build): sha256_path(path) for path in step.inputs(ctx)}


def _error_line(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return str(getattr(exc, "signal_name", "SIGINT"))
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def run_steps(
    flow: Sequence[Step],
    ctx: Context,
    start: str | None = None,
    stop: str | None = None,
    force: Sequence[str] = (),
) -> list[StepRun]:
    """Run ``flow[start..stop]`` on ``ctx.build``, reusing finished steps; see the module doc."""
    steps = select(flow, start, stop)
    order = [s.name for s in flow]
    rerun = {*force, *([start] if start else [])}
    if force:
        require_complete(ctx.build, allow=force)
    else:  # hwbnn run: the build and the plan of its steps exist from the start
        require_not_running(ctx.build)
        ctx.build.mkdir(parents=True, exist_ok=True)
        planned = [s.name for s in steps if s.applies(ctx.cfg)]
        plan_steps(ctx.build, planned, order, ctx.command)
    runs: list[StepRun] = []
    width = max(len(s.name) for s in flow)
    for step in steps:
        if not step.applies(ctx.cfg):
            runs.append(StepRun(step.name, "not applicable", 0.0, "", {}))
            continue
        records = step_records(ctx.build)
        digest = step_digest(step, ctx, records, strict=step.name not in force)
        old = records.get(step.name)
        outputs = all((ctx.build / out).exists() for out in step.outputs)
        if step.name not in rerun and old and old["digest"] == digest and outputs:
            message = old.get("summary", {}).get("message", "")
            ctx.say(f"  {step.name:<{width}}  reused ({_when(old)})  {message}".rstrip())
            runs.append(StepRun(step.name, "reused", 0.0, message, old.get("summary", {})))
            continue
        runs.append(_run_step(step, ctx, digest, order, width))
    return runs


def _run_step(step: Step, ctx: Context, digest: str, order: list[str], width: int) -> StepRun:
    """Run one step: marked running before, done (with its record) or failed after."""
    inputs = _input_hashes(step, ctx)
    if has_manifest(ctx.build):  # a fresh build is made atomically by its step (compile)
        start_step(ctx.build, step.name, order, ctx.command)  # also removes its old record
    ctx.say(f"  {step.name:<{width}}  {step.title} ...")
    begin = time.perf_counter()
    try:
        result = step.run(ctx)
    except BaseException as exc:
        interrupted = isinstance(exc, KeyboardInterrupt)
        if interrupted:
            ctx.say(f"interrupted in step {step.name}; rerun the same command to resume there")
        if has_manifest(ctx.build):
            fail_step(ctx.build, step.name, order, _error_line(exc), interrupted, ctx.command)
        raise
    seconds = time.perf_counter() - begin
    summary = {**result.summary, "message": result.message}
    tools = {**package_versions(step.packages), **step.programs(ctx, result)}
    record_step(
        ctx.build,
        step.name,
        digest,
        seconds,
        summary,
        inputs={**inputs, **result.inputs},
        tools=tools,
        order=order,
    )
    ctx.say(f"  {step.name:<{width}}  done in {fmt_seconds(seconds)}  {result.message}")
    return StepRun(step.name, "ran", seconds, result.message, result.summary)


def _state(entry: dict[str, Any] | None) -> str | None:
    """How ``--list-steps`` shows a step that has not finished, from its status entry."""
    if entry is None or entry.get("status") not in (RUNNING, INTERRUPTED, FAILED, PENDING):
        return None
    if entry["status"] == RUNNING:
        return f"running or killed (started {str(entry.get('started', '?'))[:16]})"
    if entry["status"] == INTERRUPTED:
        return f"interrupted ({entry.get('error')})"
    if entry["status"] == FAILED:
        return f"failed: {entry.get('error')}"
    return "pending"


def describe(flow: Sequence[Step], ctx: Context) -> list[str]:
    """``hwbnn run --list-steps``: each step, whether it applies, its state in the build."""
    records = step_records(ctx.build) if ctx.build.is_dir() else {}
    status = {e["step"]: e for e in flow_status(ctx.build)} if ctx.build.is_dir() else {}
    width = max(len(s.name) for s in flow)
    lines = []
    for step in flow:
        unfinished = _state(status.get(step.name))
        if not step.applies(ctx.cfg):
            state = "not applicable with this config"
        elif step.name not in records:
            state = unfinished or "not run"
        else:
            try:
                current = step_digest(step, ctx, records) == records[step.name]["digest"]
            except ConfigError:
                current = False
            state = f"finished {_when(records[step.name])}" + (
                "" if current else ", inputs changed since"
            )
        lines.append(f"  {step.name:<{width}}  {step.title:<44}  {state}")
    return lines
