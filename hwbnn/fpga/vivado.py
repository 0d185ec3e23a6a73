"""A Vivado build script (non-project mode TCL) for the Xilinx boards (PYNQ-Z1, PYNQ-Z2).

Vivado cannot run here: ``hwbnn bitstream BUILD --board pynq-z2`` writes the sources, the
constraints (``constraints.xdc``: pins and the clock period) and ``build.tcl`` (read sources,
``synth_design``, ``opt_design``, ``place_design``, ``phys_opt_design``, ``route_design``,
utilization and timing reports, ``write_bitstream``) into ``BUILD/bitstream/<board>/`` and
says how to run it; it makes no bitstream and claims none.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hwbnn import __version__
from hwbnn.fpga.board_top import BOARD_TOP, render_template
from hwbnn.fpga.boards import Board

TCL = "build.tcl"
XDC = "constraints.xdc"
COMMAND = f"vivado -mode batch -source {TCL}"


def write_vivado_project(
    work: Path, board: Board, sources: Sequence[str], clock_mhz: float
) -> dict[str, str]:
    """Write ``constraints.xdc`` and ``build.tcl`` into ``work`` (which holds ``sources``)."""
    period_ns = 1000.0 / clock_mhz
    xdc = render_template(f"boards/{board.constraints}", period_ns=f"{period_ns:.3f}")
    (work / XDC).write_text(xdc)
    tcl = render_template(
        "vivado/build.tcl.j2",
        version=__version__,
        board=board.name,
        part=board.device.name,
        top=BOARD_TOP,
        sources=list(sources),
        xdc=XDC,
        clock_mhz=f"{clock_mhz:g}",
    )
    (work / TCL).write_text(tcl)
    return {"tcl": TCL, "xdc": XDC, "command": COMMAND, "part": board.device.name}
