"""Run yosys on a flow directory: render a script from ``flows/yosys/``, run it, read its log
and its ``stat -json`` cell counts.

Yosys writes its log with ``-l``; a run succeeded when it exited 0 and the log ends with
"End of script" (the YoWASP build's piped stdout stops early, the log file does not).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hwbnn.fpga.board_top import render_template
from hwbnn.fpga.boards import Family
from hwbnn.fpga.tools import Tool, ToolFailed, ToolRun, run_tool

SCRIPTS = {Family.ECP5: "yosys/synth_ecp5.ys.j2", Family.ICE40: "yosys/synth_ice40.ys.j2"}

#: yosys cell type -> resource class, per family (cells not listed are not counted)
CELL_CLASSES: dict[Family, dict[str, str]] = {
    Family.ECP5: {
        "LUT4": "lut",
        "CCU2C": "carry",  # two LUT4 slots each
        "PFUMX": "mux",
        "L6MUX21": "mux",
        "TRELLIS_FF": "ff",
        "TRELLIS_DPR16X4": "lutram",
        "DP16KD": "bram",
        "MULT18X18D": "dsp",
        "ALU54B": "dsp",
    },
    Family.ICE40: {
        "SB_LUT4": "lut",
        "SB_CARRY": "carry",
        "SB_RAM40_4K": "bram",
        "SB_SPRAM256KA": "spram",
        "SB_MAC16": "dsp",
    },
}


@dataclass(frozen=True)
class YosysResult:
    """Cell counts of the synthesized design (``stat -json``) and the run."""

    cells: dict[str, int]
    run: ToolRun
    log: Path

    def by_class(self, family: Family) -> dict[str, int]:
        """Cells summed per resource class (lut, carry, ff, bram, dsp, ...)."""
        classes = CELL_CLASSES.get(family, {})
        counts: dict[str, int] = {}
        for cell, count in self.cells.items():
            if cell.startswith("SB_DFF") or cell == "TRELLIS_FF":
                kind = "ff"
            else:
                kind = classes.get(cell, "")
            if kind:
                counts[kind] = counts.get(kind, 0) + count
        return counts


def render_script(
    family: Family,
    sources: Sequence[str],
    top: str,
    json_out: str,
    stat_out: str,
    netlist: str | None = None,
    parameters: Sequence[tuple[str, str | int]] = (),
) -> str:
    """The synthesis script for ``family`` (file names relative to the flow directory)."""
    return render_template(
        SCRIPTS[family],
        sources=list(sources),
        top=top,
        json=json_out,
        stat=stat_out,
        netlist=netlist,
        parameters=list(parameters),
    )


def log_errors(log: Path) -> list[str]:
    """The ERROR lines of a yosys log."""
    if not log.is_file():
        return []
    return [
        line.strip() for line in log.read_text(errors="replace").splitlines() if "ERROR" in line
    ]


def run_yosys(
    tool: Tool,
    script: str,
    workdir: Path,
    name: str = "synth",
    timeout_s: float | None = None,
    verbose: bool = False,
) -> YosysResult:
    """Write ``script`` to ``workdir/<name>.ys`` and run it there.

    Raises:
        ToolFailed: yosys failed (the message holds its first ERROR line and the log's path).
    """
    (workdir / f"{name}.ys").write_text(script)
    log = workdir / f"{name}.log"
    run = run_tool(
        tool, ["-q", "-l", log.name, "-s", f"{name}.ys"], workdir, name, timeout_s, verbose
    )
    text = log.read_text(errors="replace") if log.is_file() else ""
    if run.returncode != 0 or "End of script" not in text:
        errors = log_errors(log) or _tail(run.log)
        first = errors[0] if errors else f"exit status {run.returncode}"
        raise ToolFailed(f"yosys failed: {_shorten(first)} (log: {log})")
    stat = _stat_file(script, workdir)
    cells = read_stat(stat) if stat is not None else {}
    return YosysResult(cells, run, log)


def _stat_file(script: str, workdir: Path) -> Path | None:
    match = re.search(r"tee -q -o (\S+) stat -json", script)
    return workdir / match.group(1) if match else None


def read_stat(path: Path) -> dict[str, int]:
    """Cell counts by type of the top design in a ``stat -json`` file (``$scopeinfo`` and
    other internal ``$`` cells left out)."""
    doc: dict[str, Any] = json.loads(path.read_text())
    design: dict[str, Any] = doc.get("design") or next(iter(doc.get("modules", {}).values()), {})
    cells = design.get("num_cells_by_type", {})
    return {name: int(n) for name, n in cells.items() if not name.startswith("$")}


def _tail(path: Path, lines: int = 3) -> list[str]:
    if not path.is_file():
        return []
    return [line for line in path.read_text(errors="replace").splitlines() if line.strip()][-lines:]


def _shorten(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 4] + " ..."
