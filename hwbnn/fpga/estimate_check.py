"""The estimate against synthesis: a build's ``hwbnn_top`` through yosys alone (no place and
route), its cells counted as the estimate counts them.

Counted as the estimate's LUTs: on ECP5 the LUT4 slots (``LUT4`` + 2 per ``CCU2C`` carry cell,
which holds two LUT4s, + 4 per ``TRELLIS_DPR16X4`` LUT RAM; ``PFUMX``/``L6MUX21`` wide
multiplexers are free); on iCE40 ``SB_LUT4`` (an ``SB_CARRY`` shares its logic cell). FFs are
the flip-flop cells, block RAM ``DP16KD`` / ``SB_RAM40_4K``. Used by the CI test of the
estimate (tests/fpga/test_estimate_synth.py) and benchmarks/estimate_accuracy.py.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from hwbnn.codegen.rtl import TOP, rtl_sources
from hwbnn.errors import ConfigError
from hwbnn.fpga.board_top import BOARD_TOP, write_board_sources
from hwbnn.fpga.boards import Family
from hwbnn.fpga.link import LinkFormat
from hwbnn.fpga.tools import find_toolchain
from hwbnn.fpga.yosys import render_script, run_yosys

#: LUT4 slots per yosys cell, per family
LUT_SLOTS: dict[Family, dict[str, int]] = {
    Family.ECP5: {"LUT4": 1, "CCU2C": 2, "TRELLIS_DPR16X4": 4},
    Family.ICE40: {"SB_LUT4": 1},
}
BRAM_CELLS: dict[Family, str] = {Family.ECP5: "DP16KD", Family.ICE40: "SB_RAM40_4K"}


@dataclass(frozen=True)
class SynthCounts:
    """LUT4 slots, flip-flops and block RAMs of one synthesized design, and yosys' time."""

    luts: int
    ffs: int
    brams: int
    seconds: float


def count_cells(cells: dict[str, int], family: Family) -> tuple[int, int, int]:
    """(LUT4 slots, FFs, block RAMs) of yosys cell counts (see the module docstring)."""
    if family not in LUT_SLOTS:
        raise ConfigError(f"no yosys flow for {family.value}: only ECP5 and iCE40 are counted")
    luts = sum(n * cells.get(cell, 0) for cell, n in LUT_SLOTS[family].items())
    ffs = sum(n for cell, n in cells.items() if cell == "TRELLIS_FF" or cell.startswith("SB_DFF"))
    return luts, ffs, cells.get(BRAM_CELLS[family], 0)


def synthesize_top(build: Path, family: Family, work: Path, tools: str = "auto") -> SynthCounts:
    """Synthesize the ``hwbnn_top`` of the ``--target rtl`` build ``build`` for ``family`` with
    the project's yosys script (hwbnn.fpga.yosys) in ``work``; its counted cells."""
    sources = rtl_sources(build)
    work.mkdir(parents=True, exist_ok=True)
    for path in sources[0].parent.iterdir():  # the sources and their memory files
        if path.is_file():
            shutil.copyfile(path, work / path.name)
    return _synthesize(family, [p.name for p in sources], TOP, work, tools)


def synthesize_board_top(
    build: Path, family: Family, work: Path, clk_hz: int, tools: str = "auto"
) -> SynthCounts:
    """Synthesize the build's UART board top (``hwbnn_top`` and the bridge around it, as
    ``hwbnn bitstream`` writes it) for ``family`` in ``work``; its counted cells."""
    link = LinkFormat.from_build(build)
    names = write_board_sources(build, work, link, clk_hz)
    return _synthesize(family, names, BOARD_TOP, work, tools)


def _synthesize(family: Family, names: list[str], top: str, work: Path, tools: str) -> SynthCounts:
    toolchain = find_toolchain(family, tools)
    script = render_script(family, names, top, "synth.json", "stat.json")
    result = run_yosys(toolchain.synth, script, work)
    luts, ffs, brams = count_cells(result.cells, family)
    return SynthCounts(luts, ffs, brams, result.run.seconds)
