"""cocotb testbench for generated tops (``hwbnn_top``, hwbnn.codegen.rtl); run by hwbnn.sim.top.

The bench only drives and records; the caller decodes and judges (against hwbnn.reference).
Sizes are read back from the DUT's localparams, unless tb_args gives them (``sizes``, for a
DUT without localparams such as Verilog exported by Vitis HLS). tb_args ``ports`` (a
hwbnn.sim.vitis.DutPorts as a dict) names the clock, reset, streams and block control of a DUT
whose ports are not our top's (clk, rst, s_axis_*, m_axis_*); hwbnn.sim.vitis.BlockControl
then drives ap_ctrl_hs (on ports or through AXI4-Lite), and a stream without tlast is framed
by beat counts. Output TDATA wider than ``OUT_WIDTH`` (Vitis rounds it up to whole bytes) must
carry 0 in the extra bits. Two phases, each after a reset:

1. ``stress``: every input frame, with random idle cycles on s_axis (``gap_prob``) and random
   tready drops on m_axis (``backpressure_prob``), both seeded;
2. ``throughput``: ``ii_frames`` frames back to back with tready held high, for the
   initiation interval (output frame spacing) and the latency.

Each phase waits for all its output frames (or a cycle budget), then a few more initiation
intervals to catch extra beats. The results file (JSON) holds, per phase, every accepted output
beat ``[data, last, cycle]``, the accept cycle of every input beat (the source and the sink
count cycles alike), the AXI4-Stream and block-control protocol violations seen and the
wall-clock time.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge

from hwbnn.sim.axis import AxisSink, AxisSource
from hwbnn.sim.packing import pack_beats
from hwbnn.sim.runner import get_tb_args
from hwbnn.sim.tb import CLOCK_PERIOD_NS, param
from hwbnn.sim.vitis import NATIVE, BlockControl, DutPorts

#: localparams of a generated top the bench reads back (and reports).
SIZES = (
    "IN_ELEMENTS",
    "IN_BITS",
    "IN_SIMD",
    "IN_WIDTH",
    "IN_BEATS",
    "CLASSES",
    "OUT_PE",
    "ACC_WIDTH",
    "OUT_WIDTH",
    "OUT_BEATS",
    "LAYERS",
    "II_CYCLES",
)
RESET_CYCLES = 4


async def _reset(dut: Any, ports: DutPorts) -> None:
    """Hold the reset for RESET_CYCLES; return right after the edge that releases it."""
    clk, rst = getattr(dut, ports.clock), getattr(dut, ports.reset)
    rst.value = int(not ports.reset_active_low)
    await ClockCycles(clk, RESET_CYCLES)
    rst.value = int(ports.reset_active_low)
    await RisingEdge(clk)


async def _phase(
    dut: Any,
    ports: DutPorts,
    control: BlockControl,
    name: str,
    frames: np.ndarray,
    sizes: dict[str, int],
    gap_prob: float,
    backpressure_prob: float,
    rng: random.Random,
) -> dict[str, Any]:
    """Stream ``frames`` (codes) through the DUT and record what comes out."""
    clk = getattr(dut, ports.clock)
    source = AxisSource(
        dut,
        clk,
        ports.in_prefix,
        gap_prob=gap_prob,
        seed=rng.getrandbits(31),
        uppercase=ports.uppercase,
    )
    sink = AxisSink(
        dut,
        clk,
        ports.out_prefix,
        backpressure_prob=backpressure_prob,
        seed=rng.getrandbits(31),
        uppercase=ports.uppercase,
        beats_per_frame=None if ports.out_tlast else sizes["OUT_BEATS"],
    )
    control.begin(len(frames))
    for frame in frames:
        source.send_frame(pack_beats(frame, sizes["IN_BITS"], sizes["IN_SIMD"]))
    per_frame = sizes["II_CYCLES"] + sizes["IN_BEATS"] + sizes["OUT_BEATS"]
    slowdown = 1.0 / (1.0 - max(gap_prob, backpressure_prob))
    budget = int(8 * (len(frames) + sizes["LAYERS"] + 2) * per_frame * slowdown) + 1000
    start = time.perf_counter()
    timed_out = False
    # Poll every few cycles (cheaper than waking up on every edge); overshooting is harmless.
    step = max(1, min(per_frame, 64))
    waited = 0
    while sum(b.last for b in sink.beats) < len(frames):
        if waited >= budget:
            timed_out = True
            break
        await ClockCycles(clk, step)
        waited += step
    await sink.settle(2 * per_frame + 50)  # extra (duplicated) beats would show up here
    seconds = time.perf_counter() - start
    source.stop()
    sink.stop()
    source.tvalid.value = 0
    sink.tready.value = 0
    errors = sink.protocol_errors[:20] + await control.finish()
    width, out_width = len(sink.tdata), sizes["OUT_WIDTH"]
    if width < out_width:
        errors.append(f"output TDATA has {width} bits, fewer than OUT_WIDTH = {out_width}")
    padded = [k for k, b in enumerate(sink.beats) if b.data >> out_width]
    if padded:
        errors.append(f"output beat {padded[0]}: TDATA bits above {out_width} are not 0")
    return {
        "name": name,
        "frames_sent": len(frames),
        "gap_prob": gap_prob,
        "backpressure_prob": backpressure_prob,
        "timed_out": timed_out,
        "budget_cycles": budget,
        "cycles": sink.cycle,
        "wall_seconds": seconds,
        "beats": [[b.data, int(b.last), b.cycle] for b in sink.beats],
        "accepted": list(source.accepted),
        "protocol_errors": errors,
    }


@cocotb.test()
async def top_stream(dut: Any) -> None:
    """Run both phases and write the results file named by tb_args["results"]."""
    args = get_tb_args()
    data = np.load(args["inputs"])
    stress, throughput = data["stress"], data["throughput"]
    ports = DutPorts.from_dict(args["ports"]) if args.get("ports") else NATIVE
    if args.get("sizes"):
        sizes = {name: int(args["sizes"][name]) for name in SIZES}
    else:
        sizes = {name: param(dut, name) for name in SIZES}
    rng = random.Random(args["seed"])
    clk = getattr(dut, ports.clock)
    Clock(clk, CLOCK_PERIOD_NS, unit="ns").start()
    control = BlockControl(dut, clk, ports)
    await _reset(dut, ports)
    gaps = (args["gap_prob"], args["backpressure_prob"])
    phases = [await _phase(dut, ports, control, "stress", stress, sizes, *gaps, rng)]
    if len(throughput):
        await _reset(dut, ports)
        phases.append(
            await _phase(dut, ports, control, "throughput", throughput, sizes, 0.0, 0.0, rng)
        )
    Path(args["results"]).write_text(json.dumps({"sizes": sizes, "phases": phases}))
