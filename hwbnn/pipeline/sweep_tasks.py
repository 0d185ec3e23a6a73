"""The two kinds of task of a sweep, as plain functions a process pool or Ray can run.

- :func:`run_training`: the ``train`` and ``export`` steps of :data:`DEFAULT_FLOW` into
  ``SWEEP/train/NAME/``, once for every point that shares the training (same model, data,
  seed, methods and training options).
- :func:`run_point`: the later steps (compile, verify, csim or simulate, bitstream) into the
  point's build ``SWEEP/points/NAME/``, from the training's ``model.onnx`` and checkpoint; then
  the point's row of the results table, read from the build's records (:func:`point_row`).

Both go through the step runner (:func:`hwbnn.pipeline.runner.run_steps`), so a task that was
killed resumes at its first unfinished step and a finished step is reused by its digest. Each
task writes what it says, and whatever the libraries print, into ``SWEEP/logs/NAME.log``, runs
torch on one thread (results do not depend on the engine or the number of workers) and returns
a plain dict: ``status`` ("done" or "failed"), ``error`` (one line) and its figures. An error of
a step is a failed task, not an exception, so the pool and Ray report it alike.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hwbnn.pipeline.config import RunConfig
from hwbnn.pipeline.runner import Context, run_steps
from hwbnn.pipeline.steps import DEFAULT_FLOW

TRAIN_STEPS = ("train", "export")
POINT_FLOW = tuple(step for step in DEFAULT_FLOW if step.name not in TRAIN_STEPS)


@contextlib.contextmanager
def _logged(log: Path) -> Iterator[Any]:
    """Standard output and error (file descriptors 1 and 2, so tools and C extensions too)
    into ``log`` for the duration of a task."""
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with log.open("a") as f:
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
        try:
            yield f
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def error_line(exc: BaseException) -> str:
    """``Type: first line of the message``, for the table."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)


def _context(
    cfg: RunConfig, build: Path, log: Any, onnx: Path | None = None, checkpoint: Path | None = None
) -> Context:
    def say(line: str) -> None:
        print(line, file=log, flush=True)

    return Context(
        cfg,
        build,
        onnx_file=onnx,
        checkpoint_file=checkpoint,
        progress=False,
        say=say,
        command="hwbnn sweep",
    )


def run_training(cfg: RunConfig, build: str, log: str) -> dict[str, Any]:
    """Train and export ``cfg.train`` into ``build``; see the module docstring."""
    begin = time.perf_counter()
    out: dict[str, Any] = {"host": socket.gethostname(), "build": build}
    with _logged(Path(log)) as f:
        print(f"== training {build} on {out['host']} (pid {os.getpid()})", file=f, flush=True)
        try:
            _one_thread()
            ctx = _context(cfg, Path(build), f)
            runs = run_steps(DEFAULT_FLOW, ctx, stop=TRAIN_STEPS[-1])
            train = next(r for r in runs if r.name == "train")
            out.update(status="done", test_accuracy=train.summary.get("test_accuracy"))
        except Exception as exc:  # a failed task, reported in the table
            out.update(status="failed", error=error_line(exc))
            print(f"failed: {out['error']}", file=f, flush=True)
    out["seconds"] = time.perf_counter() - begin
    return out


def run_point(
    cfg: RunConfig, build: str, train_build: str, clock_mhz: float, log: str
) -> dict[str, Any]:
    """The point's steps after export, then its row (:func:`point_row`)."""
    begin = time.perf_counter()
    out: dict[str, Any] = {"host": socket.gethostname(), "build": build}
    with _logged(Path(log)) as f:
        print(f"== point {build} on {out['host']} (pid {os.getpid()})", file=f, flush=True)
        try:
            _one_thread()
            trained = Path(train_build)
            ctx = _context(
                cfg,
                Path(build),
                f,
                onnx=trained / "model.onnx",
                checkpoint=trained / "train" / "model.pt",
            )
            run_steps(POINT_FLOW, ctx)
            out.update(status="done", **point_row(Path(build), cfg, clock_mhz))
        except Exception as exc:  # a failed point, reported in the table
            out.update(status="failed", error=error_line(exc))
            print(f"failed: {out['error']}", file=f, flush=True)
    out["seconds"] = time.perf_counter() - begin
    return out


def _levels(build: Path) -> tuple[float | None, str]:
    """The reference's accuracy (L2) and which levels agreed exactly, on how many frames."""
    from hwbnn.verify.record import read_results

    records = read_results(build)
    accuracy = next((r.accuracy for r in records if r.level.value == "L2"), None)
    parts = [
        f"{r.level.value}{'' if r.ok else ' MISMATCH'} ({r.engine}, {r.frames} frames)"
        for r in records
    ]
    exact = all(r.ok for r in records)
    text = ("exact: " if exact else "NOT exact: ") + ", ".join(parts) if parts else ""
    return accuracy, text


def point_row(build: Path, cfg: RunConfig, clock_mhz: float) -> dict[str, Any]:
    """A finished point's figures from its build; an absent one is None with its reason in
    ``notes`` (the table prints ``n/a (reason)``)."""
    from hwbnn.fpga.boards import get_board
    from hwbnn.fpga.estimate import estimate
    from hwbnn.ir.folding import initiation_interval, load_folding
    from hwbnn.ir.serialize import load_network
    from hwbnn.pipeline.compile import DEFAULT_DEVICE

    notes: dict[str, str] = {}
    accuracy, exactness = _levels(build)
    if accuracy is None:
        notes["accuracy"] = "no L2 record (the verify step did not run)"
    net = load_network(build)
    folding = load_folding(build / "folding.json", net)
    cycles = initiation_interval(net, folding)
    board = cfg.bitstream.board
    report = None
    if board is not None:
        path = build / "bitstream" / board / "report.json"
        report = json.loads(path.read_text()) if path.is_file() else None
    lut4: int | None = None
    fmax: float | None = None
    if report is not None and "lut" in report.get("resources", {}):
        lut4, lut_source = int(report["resources"]["lut"]["used"]), f"nextpnr ({board})"
        fmax = report.get("clock", {}).get("achieved_mhz")
        if fmax is None:
            notes["fmax_mhz"] = str(report.get("note") or "no timing report")
    else:
        device = get_board(board).device if board is not None else DEFAULT_DEVICE
        lut4 = estimate(net, folding, device).luts
        lut_source = f"estimate ({device.name})"
        notes["fmax_mhz"] = "no bitstream: board none" if board is None else "no LUT report"
    clock = fmax if fmax is not None else clock_mhz
    fps = clock * 1e6 / cycles
    return {
        "accuracy": accuracy,
        "exactness": exactness,
        "cycles_per_frame": cycles,
        "lut4": lut4,
        "lut4_source": lut_source,
        "fmax_mhz": fmax,
        "frames_per_s": fps,
        "frames_per_s_clock": "Fmax" if fmax is not None else f"{clock_mhz:g} MHz nominal",
        "frames_per_s_per_klut": fps / (lut4 / 1000) if lut4 else None,
        "notes": notes,
    }
