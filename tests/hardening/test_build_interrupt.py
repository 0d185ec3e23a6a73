"""A step killed half-way (SIGINT, SIGTERM, SIGKILL) leaves the build marked incomplete, readers
refuse it with one line, and a rerun resumes at that step; Ctrl-C during start-up exits 130.

The killed process is a real Python process running the step runner under the ``hwbnn``
command's interrupt guard, on a three-step flow whose middle step hangs (build_helpers.flow);
the readers are the ``hwbnn`` commands themselves (hwbnn.cli.main)."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from build_helpers import RUN_HANGING_FLOW, context, flow, manifest, python, start, status
from build_helpers import wait_for as wait

from hwbnn.build import IncompleteBuild, require_complete
from hwbnn.cli import main
from hwbnn.pipeline.runner import Step, run_steps


def kill_in_step_b(build: Path, sig: signal.Signals) -> int:
    """Run the hanging flow in a subprocess, send ``sig`` while step b runs; its exit status."""
    proc = python(RUN_HANGING_FLOW, str(build))
    wait(lambda: (build / "b.started").is_file() and status(build).get("b") == "running", proc, "b")
    proc.send_signal(sig)
    proc.communicate(timeout=60)
    return proc.returncode


@pytest.mark.parametrize(
    ("sig", "code", "state"),
    [
        (signal.SIGINT, 130, "interrupted"),
        (signal.SIGTERM, 143, "interrupted"),
        (signal.SIGKILL, -signal.SIGKILL, "running"),  # nobody could write: still "running"
    ],
)
def test_a_killed_step_leaves_the_build_incomplete_and_the_rerun_resumes_there(
    tmp_path: Path, sig: signal.Signals, code: int, state: str
) -> None:
    build = tmp_path / "build"
    assert kill_in_step_b(build, sig) == code
    doc = manifest(build)
    assert doc["state"] == "incomplete"
    assert status(build) == {"a": "complete", "b": state, "c": "pending"}
    assert set(doc["steps"]) == {"a"}  # only finished steps have a record
    if sig != signal.SIGKILL:
        assert next(e for e in doc["flow"] if e["step"] == "b")["error"] == sig.name
    why = "was killed before it finished" if sig == signal.SIGKILL else "was interrupted"
    with pytest.raises(IncompleteBuild, match=f"step b {why}.*resume with: resume-me$"):
        require_complete(build)
    calls: list[str] = []
    run_steps(flow(calls), context(build))  # the same flow, its step b no longer hanging
    assert calls == ["b", "c"]  # a was reused
    assert manifest(build)["state"] == "complete"
    assert status(build) == {"a": "complete", "b": "complete", "c": "complete"}


def test_the_manifest_records_inputs_tools_and_each_steps_status(tmp_path: Path) -> None:
    build = tmp_path / "build"
    run_steps(flow([]), context(build))
    doc = manifest(build)
    assert doc["state"] == "complete"
    assert [e["step"] for e in doc["flow"]] == ["a", "b", "c"]
    sha_a = hashlib.sha256(b"a").hexdigest()
    assert doc["steps"]["b"]["inputs"] == {"a.txt": sha_a, "data:b": "0" * 64}
    assert doc["inputs"]["a.txt"] == sha_a
    assert doc["steps"]["a"]["tools"]["numpy"] == np.__version__
    assert doc["steps"]["b"]["tools"] == {"tool-b": "1.0"}
    assert doc["tools"]["python"] == sys.version.split()[0]
    assert {"hwbnn", "numpy", "tool-b"} <= set(doc["tools"])
    # a step that raises is "failed" (the build "failed"), not finished, and not incomplete
    steps = flow([])
    boom = (steps[0], steps[1], Step("c", "after b", _raise, after=("b",)))
    with pytest.raises(RuntimeError):
        run_steps(boom, context(build), start="c")
    assert status(build)["c"] == "failed" and manifest(build)["state"] == "failed"
    assert manifest(build)["flow"][2]["error"] == "RuntimeError: no good"
    assert "c" not in manifest(build)["steps"]


def _raise(ctx: Any) -> Any:
    raise RuntimeError("no good\nsecond line")


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory, digits_binary: Any) -> Path:
    """A real RTL build of the session's digits MLP."""
    import hwbnn

    out = tmp_path_factory.mktemp("compiled") / "rtl"
    hwbnn.compile(digits_binary.onnx, out, target="rtl", target_cycles=256)
    return out


def test_hwbnn_commands_refuse_a_build_whose_step_was_killed(
    compiled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every command that reads the build, other than the one that resumes it (``hwbnn sim``,
    which runs the killed step again), refuses it with one line naming the killed step and the
    resuming command; exit status 1, nothing changed. (``hwbnn csim`` refuses an RTL-only build
    for that reason first.)"""
    build = tmp_path / "rtl"
    shutil.copytree(compiled, build)
    order = ["train", "export", "compile", "verify", "csim", "simulate", "bitstream"]
    # what a SIGKILL of `hwbnn sim` in its simulation leaves: the step marked running by a
    # process that no longer exists
    killed = python(
        "import sys; from hwbnn.build import start_step; "
        "start_step(sys.argv[1], 'simulate', sys.argv[2].split(','), sys.argv[3])",
        str(build),
        ",".join(order),
        f"hwbnn sim {build}",
    )
    assert killed.wait(timeout=60) == 0
    before = {p: p.stat().st_mtime_ns for p in build.rglob("*") if p.is_file()}
    x = tmp_path / "x.npy"
    np.save(x, np.zeros((2, 1, 8, 8), dtype=np.float32))
    commands = [
        ["eval", str(build)],
        ["eval", str(build), "--inputs", str(x)],
        ["bitstream", str(build), "--board", "icebreaker"],
        ["report", str(build)],
        ["compile", str(compiled / "model.onnx"), "-o", str(build), "--target", "rtl"],
    ]
    for argv in commands:
        assert main(argv) == 1, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1, (argv, err)
        assert err[0].startswith(f"hwbnn: error: {build}: incomplete build: step simulate was ")
        assert err[0].endswith(f"resume with: hwbnn sim {build}"), err
    after = {p: p.stat().st_mtime_ns for p in build.rglob("*") if p.is_file()}
    assert after == before


#: argv: "guarded" or "plain", then the hwbnn command. Sends SIGINT to itself at the moment
#: torch._dynamo starts importing, the import that Brevitas wraps in a bare ``except:``
#: (brevitas/__init__.py); "guarded" runs the hwbnn command, "plain" imports brevitas unguarded,
#: then works on for 2 s, printing "finished" if nothing stopped it.
SIGINT_IN_BREVITAS_IMPORT = """
import os, signal, sys, time
class SendSigint:
    def find_spec(self, name, path=None, target=None):
        if name == "torch._dynamo":
            sys.meta_path.remove(self)
            print("SIGINT sent while torch._dynamo imports", file=sys.stderr, flush=True)
            os.kill(os.getpid(), signal.SIGINT)
        return None
sys.meta_path.insert(0, SendSigint())
if sys.argv[1] == "plain":
    import brevitas
    time.sleep(2)
    print("finished")
    sys.exit(0)
from hwbnn.cli import main
sys.exit(main(sys.argv[2:]))
"""


def test_ctrl_c_while_brevitas_imports_exits_130(tmp_path: Path, digits_binary: Any) -> None:
    """Unguarded, Brevitas swallows the SIGINT and the program goes on to exit 0 (the probe's
    finding); ``hwbnn compile`` exits 130 with one line and writes no build."""
    plain = python(SIGINT_IN_BREVITAS_IMPORT, "plain")
    out, err = plain.communicate(timeout=300)
    assert "SIGINT sent" in err and out.strip() == "finished" and plain.returncode == 0
    build = tmp_path / "build"
    argv = ["compile", str(digits_binary.onnx), "-o", str(build)]
    guarded = python(SIGINT_IN_BREVITAS_IMPORT, "guarded", *argv)
    out, err = guarded.communicate(timeout=300)
    assert err.strip().splitlines() == [
        "SIGINT sent while torch._dynamo imports",
        "hwbnn: interrupted",
    ]
    assert guarded.returncode == 130
    assert not build.exists() and not list(tmp_path.glob(".build.*"))


def _seconds(argv: list[str]) -> float:
    """How long the command ``argv`` takes."""
    begin = time.monotonic()
    proc = start(argv)
    proc.communicate(timeout=300)
    return time.monotonic() - begin


#: signals of the whole-compile test; raise it for a measurement (``HWBNN_COMPILE_KILLS=40``)
COMPILE_KILLS = int(os.environ.get("HWBNN_COMPILE_KILLS", "2"))


def test_ctrl_c_or_sigterm_at_any_moment_of_a_compile_writes_nothing(
    tmp_path: Path, digits_binary: Any
) -> None:
    """SIGINT and SIGTERM, in turn, at random moments over the first 70% of a whole
    ``hwbnn compile`` (start-up imports, lowering, code generation) exit 130 / 143 with one
    line on stderr (or, before the interpreter has set up, die of the signal, silently); no
    temporary directory is left, and no build unless the compile had finished it."""
    argv = [sys.executable, "-m", "hwbnn.cli", "compile", str(digits_binary.onnx), "-o"]
    total = _seconds([*argv, str(tmp_path / "timing")])
    rng = random.Random(5)
    statuses = []
    for i in range(COMPILE_KILLS):
        sig = (signal.SIGINT, signal.SIGTERM)[i % 2]
        out = tmp_path / f"b{i}"
        proc = start([*argv, str(out)])
        time.sleep(total * (0.05 + 0.65 * rng.random()))
        proc.send_signal(sig)
        stdout, err = proc.communicate(timeout=120)
        if proc.returncode == -sig:  # before Python set its handlers: the signal's default
            assert err == "", (i, err)  # action, which a shell reports as 128 + sig as well
        else:
            assert proc.returncode == 128 + sig, (i, err)
            line = "hwbnn: interrupted" if sig == signal.SIGINT else "hwbnn: terminated (SIGTERM)"
            assert err.strip().splitlines() == [line], err
        assert not list(tmp_path.glob(f".b{i}.*"))  # no temporary or set-aside directory
        if out.exists():  # the signal came after the compile had finished its build
            assert stdout.rstrip().endswith(f"wrote {out}") and manifest(out)["state"] == "complete"
            require_complete(out)
        statuses.append(proc.returncode if not out.exists() else "complete")
    print("outcomes:", sorted(map(str, statuses)))  # for a measurement with -s
