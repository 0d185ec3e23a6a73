"""Helpers of the build-hardening tests: a three-step flow whose middle step can be made to
hang (so a subprocess can be killed inside it), the environment a subprocess needs to import
this checkout's hwbnn, and a poll on a build's manifest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import hwbnn
from hwbnn.pipeline.config import RunConfig, TrainOptions
from hwbnn.pipeline.runner import Context, Step, StepResult

REPO = Path(hwbnn.__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent


def child_env() -> dict[str, str]:
    """The environment of a subprocess: this checkout's hwbnn and these helpers first."""
    path = os.pathsep.join([str(REPO), str(HERE), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path}


def _default_sigint() -> None:
    """In the child before exec: SIGINT to its default, also when the test run ignores it (a
    background job of a script), so the child gets Python's KeyboardInterrupt handler."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(argv: list[str], **kwargs: Any) -> subprocess.Popen[str]:
    """Start ``argv`` with :func:`child_env` and SIGINT at its default, output captured."""
    return subprocess.Popen(
        argv,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
        **kwargs,
    )


def python(code: str, *args: str, **kwargs: Any) -> subprocess.Popen[str]:
    """Start ``python -c code args`` (:func:`start`)."""
    return start([sys.executable, "-c", code, *args], **kwargs)


def manifest(build: Path) -> dict[str, Any]:
    path = build / "manifest.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def status(build: Path) -> dict[str, str]:
    """Step name -> status, from the manifest's flow."""
    return {e["step"]: e["status"] for e in manifest(build).get("flow", [])}


def wait_for(predicate: Any, proc: subprocess.Popen[str], what: str, timeout: float = 300) -> None:
    """Poll ``predicate()`` until true; fail if ``proc`` ends first or after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if proc.poll() is not None:
            raise AssertionError(f"the subprocess ended before {what}: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def flow(calls: list[str], hang: str | None = None) -> tuple[Step, ...]:
    """Steps ``a`` (writes a.txt), ``b`` (copies it to b.txt; with ``hang == "b"`` it sleeps
    first, to be killed there) and ``c`` (after b, writes c.txt); ``calls`` logs each run."""

    def make(name: str, write: Any) -> Any:
        def run(ctx: Context) -> StepResult:
            calls.append(name)
            if name == hang:
                (ctx.build / f"{name}.started").write_text("")
                time.sleep(600)
            write(ctx)
            return StepResult(f"{name} done", {"name": name}, {f"data:{name}": "0" * 64})

        return run

    return (
        Step(
            "a",
            "make a",
            make("a", lambda ctx: (ctx.build / "a.txt").write_text("a")),
            config=lambda ctx: ctx.cfg.train.epochs,
            outputs=("a.txt",),
            packages=("numpy",),
        ),
        Step(
            "b",
            "copy a",
            make(
                "b", lambda ctx: (ctx.build / "b.txt").write_text((ctx.build / "a.txt").read_text())
            ),
            inputs=lambda ctx: [ctx.build / "a.txt"],
            outputs=("b.txt",),
            programs=lambda ctx, result: {"tool-b": "1.0"},
        ),
        Step(
            "c",
            "after b",
            make("c", lambda ctx: (ctx.build / "c.txt").write_text("c")),
            after=("b",),
            outputs=("c.txt",),
        ),
    )


def context(build: Path, command: str = "resume-me") -> Context:
    cfg = RunConfig(out=build, train=TrainOptions(epochs=1))
    return Context(cfg, build, say=lambda line: None, command=command)


#: a subprocess that runs :func:`flow` on argv[1] with step b hanging, under the CLI's
#: interrupt guard, and exits with the guard's status (130 / 143)
RUN_HANGING_FLOW = """
import sys
from pathlib import Path
from build_helpers import context, flow
from hwbnn.cli.interrupts import interrupt_guard
from hwbnn.pipeline.runner import run_steps
with interrupt_guard() as guard:
    try:
        run_steps(flow([], hang="b"), context(Path(sys.argv[1])))
    except KeyboardInterrupt as exc:
        sys.exit(guard.acknowledge(exc))
"""
