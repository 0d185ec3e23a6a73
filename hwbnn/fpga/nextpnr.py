"""Run nextpnr (ECP5, iCE40) and read what it reports: utilization, achieved clock, errors.

nextpnr writes ``--report`` JSON (``fmax``: achieved and constrained MHz per clock;
``utilization``: used and available cells per cell type) and its ``-l`` log. Timing failures
do not stop it (``--timing-allow-fail``): the flow reports them. A design that does not fit
makes nextpnr stop with "no BELs remaining" (or an over-full utilisation table); that becomes
a :class:`DesignTooLarge` error with one line naming the resource.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hwbnn.errors import HwbnnError
from hwbnn.fpga.boards import Board, Family
from hwbnn.fpga.tools import Tool, ToolFailed, ToolRun, run_tool

#: nextpnr cell type -> resource name in report.json, per family
RESOURCE_CELLS: dict[Family, dict[str, str]] = {
    Family.ECP5: {
        "TRELLIS_COMB": "lut",
        "TRELLIS_FF": "ff",
        "DP16KD": "bram",
        "MULT18X18D": "dsp",
        "TRELLIS_IO": "io",
        "TRELLIS_RAMW": "lutram",
    },
    Family.ICE40: {
        "ICESTORM_LC": "lut",
        "ICESTORM_RAM": "bram",
        "ICESTORM_SPRAM": "spram",
        "ICESTORM_DSP": "dsp",
        "SB_IO": "io",
    },
}

_MAX_FREQ = re.compile(
    r"Max frequency for clock '([^']+)': ([0-9.]+) MHz \((PASS|FAIL) at ([0-9.]+)"
)
_UTIL = re.compile(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)\s+(\d+)%")


class DesignTooLarge(HwbnnError):
    """The design needs more of some resource than the device has."""


@dataclass(frozen=True)
class ClockTiming:
    name: str
    achieved_mhz: float
    constraint_mhz: float

    @property
    def met(self) -> bool:
        return self.achieved_mhz >= self.constraint_mhz


@dataclass(frozen=True)
class PnrReport:
    """What nextpnr reported: per-cell-type use, and per-clock timing."""

    utilization: dict[str, dict[str, int]]
    clocks: list[ClockTiming]
    run: ToolRun | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def timing_met(self) -> bool:
        return bool(self.clocks) and all(c.met for c in self.clocks)

    @property
    def achieved_mhz(self) -> float | None:
        return min((c.achieved_mhz for c in self.clocks), default=None)

    def resources(self, family: Family) -> dict[str, dict[str, int]]:
        """Used/available per resource name (lut, ff, bram, dsp, io, ...)."""
        out: dict[str, dict[str, int]] = {}
        for cell, name in RESOURCE_CELLS.get(family, {}).items():
            if cell in self.utilization:
                out[name] = dict(self.utilization[cell])
        return out


def pnr_args(board: Board, freq_mhz: float, seed: int) -> tuple[list[str], str]:
    """nextpnr arguments for ``board`` (files relative to the flow directory) and the name
    of the placed-and-routed output it writes."""
    common = ["--json", "synth.json", "--report", "pnr_report.json", "-l", "pnr.log", "-q"]
    common += ["--freq", f"{freq_mhz:g}", "--seed", str(seed), "--timing-allow-fail"]
    if board.family is Family.ECP5:
        # router2: router1 had routed 6% of a CNV at 79% of the 85F after 18 minutes
        ecp5 = [*board.pnr_args, "--lpf", board.constraints, "--textcfg", "pnr.config"]
        return [*ecp5, "--router", "router2", *common], "pnr.config"
    if board.family is Family.ICE40:
        return [*board.pnr_args, "--pcf", board.constraints, "--asc", "pnr.asc", *common], (
            "pnr.asc"
        )
    raise ValueError(f"nextpnr has no flow for {board.family.value}")


def run_nextpnr(
    tool: Tool,
    board: Board,
    freq_mhz: float,
    seed: int,
    workdir: Path,
    timeout_s: float | None,
    verbose: bool = False,
) -> PnrReport:
    """Place and route ``workdir/synth.json`` for ``board``.

    Raises:
        DesignTooLarge: the design does not fit the device.
        ToolFailed: any other nextpnr failure (first ERROR line, and the log's path).
    """
    args, output = pnr_args(board, freq_mhz, seed)
    run = run_tool(tool, args, workdir, "pnr", timeout_s, verbose)
    log = workdir / "pnr.log"
    text = log.read_text(errors="replace") if log.is_file() else ""
    errors = [line.strip() for line in text.splitlines() if line.startswith("ERROR")]
    if run.returncode != 0 or not (workdir / output).is_file():
        overfull = _overfull(text)
        placement = next(
            (e for e in errors if "no BELs remaining" in e or "Unable to place" in e), ""
        )
        if overfull or placement:
            raise DesignTooLarge(_too_large_message(board, overfull, placement))
        if not errors:
            out = run.log.read_text(errors="replace") if run.log.is_file() else ""
            errors = [line for line in out.splitlines() if "ERROR" in line] or [
                f"exit status {run.returncode}"
            ]
        raise ToolFailed(f"nextpnr failed: {_shorten(errors[0])} (log: {log})")
    report = read_report(workdir / "pnr_report.json", text)
    return PnrReport(report.utilization, report.clocks, run, errors)


def read_report(path: Path, log_text: str = "") -> PnrReport:
    """Utilization and clocks from nextpnr's ``--report`` file; clocks from the log's
    "Max frequency" lines (the last per clock) where the report has none."""
    doc: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}
    utilization = {
        cell: {"used": int(v["used"]), "available": int(v["available"])}
        for cell, v in doc.get("utilization", {}).items()
    }
    clocks = [
        ClockTiming(name, float(v["achieved"]), float(v["constraint"]))
        for name, v in doc.get("fmax", {}).items()
    ]
    if not clocks:
        last: dict[str, ClockTiming] = {}
        for match in _MAX_FREQ.finditer(log_text):
            name, achieved, _, constraint = match.groups()
            last[name] = ClockTiming(name, float(achieved), float(constraint))
        clocks = list(last.values())
    return PnrReport(utilization, clocks)


def _overfull(log_text: str) -> list[tuple[str, int, int]]:
    """Cell types the utilisation table shows above 100 %: (type, used, available)."""
    rows = []
    for line in log_text.splitlines():
        match = _UTIL.match(line)
        if match and int(match.group(2)) > int(match.group(3)):
            rows.append((match.group(1), int(match.group(2)), int(match.group(3))))
    return rows


def _too_large_message(board: Board, overfull: list[tuple[str, int, int]], error: str) -> str:
    what = "; ".join(
        f"{cell} {used}/{avail} ({100 * used // avail}%)" for cell, used, avail in overfull
    )
    cell_type = re.search(r"cell type '(\w+)'", error)
    if not what and cell_type:
        what = f"out of {cell_type.group(1)}"
    return (
        f"design too large for {board.device.name} ({board.name}): {what or _shorten(error)}; "
        f"fold it further (a larger --target-cycles) or pick a larger board"
    )


def _shorten(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    # nextpnr names cells by long generated paths: keep the message to one readable line
    text = re.sub(r"'[^']{60,}'", "'...'", text)
    return text if len(text) <= limit else text[: limit - 4] + " ..."
