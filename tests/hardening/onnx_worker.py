"""A compile worker for the ONNX fuzz tests: runs ``hwbnn compile`` on fuzzed files in one
long-lived child process, under a watchdog, a memory limit and a file-access monitor.

The child (``multiprocessing`` spawn, so it shares no onnxruntime or torch state with pytest)
receives one :class:`Case` at a time, writes its files into a fresh directory and runs the
command line in-process (``hwbnn.cli.main(["compile", MODEL, "-o", BUILD])``, what
``hwbnn compile`` runs), capturing its output; it answers with an :class:`Outcome`.

Guards, each turned into an outcome instead of a stuck or dead test run:

- time: a CPU-time timer (``ITIMER_VIRTUAL``; the command line's interrupt guard owns
  SIGALRM) inside the child turns a Python-level endless loop into a ``hang`` naming where it
  was; the parent kills a child that does not answer in time (a hang in C
  code) or that died (a crash) and starts a new one for the next case;
- memory: the child's address space is limited (``RLIMIT_AS``) to what it holds after its
  imports plus ``MEMORY_BUDGET``, so an unbounded allocation is a MemoryError (``other``) or
  a crash, never the machine swapping;
- files: an audit hook (``sys.addaudithook``) records every ``open`` whose resolved path is
  one of the case's ``sentinels`` (files outside the model's folder that a case points to);
  a compile that opens one is ``read_outside``, whatever its result.

Outcome kinds: ``compiled`` (exit 0; for ``Case.check`` the build's reference gives the same
labels as qonnx ``execute_onnx`` on random input codes), ``error`` (non-zero exit, one line
``hwbnn: error: ...`` on stderr, no build directory left), and the failures ``wrong``
(compiled but disagrees with execute_onnx, a refused case compiled, or a failed compile left
files), ``other`` (an exception escaped, or the error output is not one line),
``read_outside``, ``hang`` and ``crash``.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import resource
import shutil
import signal
import sys
import tempfile
import traceback
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

MODEL = "model/model.onnx"  # the model's path inside a case directory
BUILD = "build"  # the build directory's path inside a case directory
GOOD = ("compiled", "error")
MEMORY_BUDGET = 3 * 2**30  # bytes of address space a compile may add to the imported child
#: absolute paths fuzzed external data points to; opening any of them is a finding
SYSTEM_SENTINELS = ("/etc/passwd", "/etc/hostname", "/dev/zero", "/proc/self/environ")
OUTSIDE_FILE = "outside.bin"  # a sentinel file in the case directory, outside the model folder


@dataclass(frozen=True)
class Case:
    """A fuzzed model: ``files`` relative to the case directory (``MODEL`` is the model; other
    files sit next to it or outside its folder), ``links`` symbolic links (path -> target,
    relative to the case directory). ``check``: compare a successful compile with execute_onnx;
    ``refuse``: the case must end in an error (e.g. data outside the model's folder)."""

    name: str
    files: dict[str, bytes] = field(repr=False)
    links: dict[str, str] = field(default_factory=dict, repr=False)
    check: bool = True
    refuse: bool = False


@dataclass(frozen=True)
class Outcome:
    kind: str
    detail: str = ""


def _write_case(root: Path, case: Case) -> Path:
    for rel, data in case.files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    for rel, target in case.links.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target)
    return root / MODEL


def _compare(build_dir: Path, model: Path, frames: int = 8) -> str:
    """'' when the build's reference and qonnx execute_onnx on the model file (read by onnx
    itself, external data included) give the same labels on random input codes."""
    import numpy as np

    import hwbnn
    from hwbnn.export import clean_qonnx, load_qonnx, run_qonnx

    build = hwbnn.open(build_dir)
    fmt = build.net.input
    rng = np.random.default_rng(0)
    x = fmt.values[rng.integers(0, fmt.levels, (frames, *fmt.shape))]
    ref = build.predict(x)
    try:
        onnx_out = run_qonnx(clean_qonnx(load_qonnx(model)), x).reshape(frames, -1)
    except Exception as exc:  # the compiled model must run in the engine that defines it
        return f"compiled, but execute_onnx fails: {type(exc).__name__}: {exc}"[:300]
    labels = onnx_out.argmax(axis=1)
    if not np.array_equal(ref.labels, labels):
        return f"labels differ: reference {ref.labels.tolist()}, execute_onnx {labels.tolist()}"
    return ""


def compile_case(root: Path, case: Case, arm: Callable[[], None] = lambda: None) -> Outcome:
    """Run ``hwbnn compile`` on ``case`` in the directory ``root``; see the module docstring.
    ``arm`` is called once the case's files are written (it starts the open monitor)."""
    from hwbnn.cli import main

    model = _write_case(root, case)
    arm()
    out = root / BUILD
    stdout, stderr = io.StringIO(), io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(stderr):
        code = main(["compile", str(model), "-o", str(out)])
    lines = stderr.getvalue().strip().splitlines()
    if code != 0:
        if len(lines) != 1 or not lines[0].startswith("hwbnn: error: "):
            return Outcome("other", f"exit {code}, stderr is not one error line: {lines[-5:]}")
        if out.exists():
            return Outcome("wrong", f"failed compile left {out}: {lines[0]}")
        return Outcome("error", lines[0].removeprefix("hwbnn: error: "))
    if any("Traceback" in line for line in lines):
        return Outcome("other", f"exit 0 with a traceback on stderr: {lines[-3:]}")
    if case.refuse:
        return Outcome("wrong", "compiled a model that must be refused")
    if case.check:
        problem = _compare(out, model)
        if problem:
            return Outcome("wrong", problem)
    return Outcome("compiled")


class _Deadline(BaseException):
    """Raised by the CPU-time timer; a BaseException, so no ``except Exception`` in hwbnn
    swallows it."""


def _alarm(signum: int, frame: Any) -> None:
    raise _Deadline()


class OpenMonitor:
    """An audit hook recording opens of the sentinel paths (resolved, so a link counts)."""

    def __init__(self) -> None:
        self.sentinels: set[str] = set()
        self.opened: list[str] = []
        self._busy = False

    def arm(self, sentinels: set[str]) -> None:
        self.sentinels = sentinels

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if event != "open" or self._busy or not self.sentinels:
            return
        path = args[0] if args else None
        if not isinstance(path, (str, bytes, os.PathLike)):
            return  # a file descriptor
        self._busy = True  # realpath itself must not recurse into the hook
        try:
            resolved = os.path.realpath(os.fsdecode(path))
            if resolved in self.sentinels:
                self.opened.append(resolved)
        finally:
            self._busy = False


def export_seeds(directory: Path) -> dict[str, bytes]:
    """The fuzz seeds (:func:`onnx_fuzz.export_seeds`), exported in the child (which imports
    torch anyway) so that the test process does not."""
    from onnx_fuzz import export_seeds as export

    return export(directory)


def _serve(conn: Connection, deadline: int, test_dir: str) -> None:
    """The child's loop: a request in, an answer out, until the parent sends None. Requests:
    a Case (answer: Outcome), or ("seeds", directory) (answer: {name: bytes})."""
    import warnings

    sys.path.insert(0, test_dir)  # onnx_fuzz, for the seeds
    warnings.simplefilter("ignore")
    import onnxruntime

    import hwbnn.cli  # noqa: F401  # every import before the memory limit is measured
    import hwbnn.export  # noqa: F401

    onnxruntime.set_default_logger_severity(3)
    signal.signal(signal.SIGVTALRM, _alarm)
    monitor = OpenMonitor()
    sys.addaudithook(monitor)
    with open("/proc/self/statm") as handle:
        mapped = int(handle.read().split()[0]) * resource.getpagesize()
    limit = mapped + MEMORY_BUDGET
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    system = {os.path.realpath(p) for p in SYSTEM_SENTINELS}  # /proc/self -> /proc/<pid>
    scratch = Path(tempfile.mkdtemp(prefix="hwbnn-fuzz-"))
    try:
        while (request := conn.recv()) is not None:
            if isinstance(request, tuple):
                conn.send(export_seeds(Path(request[1])))
                continue
            root = Path(tempfile.mkdtemp(dir=scratch))
            sentinels = {os.path.realpath(root / OUTSIDE_FILE), *system}
            monitor.opened.clear()
            signal.setitimer(signal.ITIMER_VIRTUAL, deadline)
            try:
                outcome = compile_case(root, request, partial(monitor.arm, sentinels))
            except _Deadline:
                where = traceback.format_exc().strip().splitlines()[-3:]
                outcome = Outcome("hang", f"over {deadline} s of CPU in " + " | ".join(where))
            except BaseException as exc:  # the finding: anything that escapes the CLI
                tb = traceback.format_exc().strip().splitlines()
                outcome = Outcome("other", f"{type(exc).__name__}: {exc}"[:300] + " | " + tb[-3])
            finally:
                signal.setitimer(signal.ITIMER_VIRTUAL, 0)
                monitor.sentinels = set()
            if monitor.opened:
                outcome = Outcome("read_outside", f"opened {sorted(set(monitor.opened))}")
            shutil.rmtree(root, ignore_errors=True)
            conn.send(outcome)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


class CompileWorker:
    """The parent's handle on the child; :meth:`run` restarts it after a hang or a crash."""

    def __init__(self, deadline: int = 30) -> None:
        self.deadline = deadline
        self._ctx = multiprocessing.get_context("spawn")
        self._proc: Any = None
        self._conn: Connection | None = None

    def _start(self) -> Connection:
        parent, child = self._ctx.Pipe()
        args = (child, self.deadline, str(Path(__file__).parent))
        self._proc = self._ctx.Process(target=_serve, args=args, daemon=True)
        self._proc.start()
        child.close()
        self._conn = parent
        return parent

    def seeds(self, directory: Path) -> dict[str, bytes]:
        """The fuzz seeds, exported by the child into ``directory``."""
        conn = self._conn or self._start()
        conn.send(("seeds", str(directory)))
        if not conn.poll(600):
            self.stop(kill=True)
            raise TimeoutError("exporting the fuzz seeds took over 600 s")
        return conn.recv()

    def run(self, case: Case) -> Outcome:
        """The outcome of ``case`` (see the module docstring)."""
        conn = self._conn or self._start()
        conn.send(case)
        # the child's own timer answers first; this catches hangs in C code and crashes
        if conn.poll(self.deadline + 60):
            try:
                return conn.recv()
            except (EOFError, OSError):
                self._proc.join(10)
                code = self._proc.exitcode
                self.stop(kill=True)
                return Outcome("crash", f"worker died with exit code {code}")
        self.stop(kill=True)
        return Outcome("hang", f"no answer within {self.deadline + 60} s (killed)")

    def stop(self, kill: bool = False) -> None:
        """End the child: asked to finish, or killed (``kill``, or when it does not finish)."""
        if self._proc is None:
            return
        if self._conn is not None and not kill:
            try:
                self._conn.send(None)
                self._proc.join(10)
            except OSError:
                pass
        if self._proc.is_alive():
            self._proc.kill()
        self._proc.join()
        self._proc, self._conn = None, None
