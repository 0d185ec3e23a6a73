"""cocotb testbench for generated tops (``hwbnn_top``, hwbnn.codegen.rtl); run by hwbnn.sim.top.

The bench only drives and records; the caller decodes and judges (against hwbnn.reference).
Sizes are read back from the DUT's localparams. Two phases, each after a reset:

1. ``stress``: every input frame, with random idle cycles on s_axis (``gap_prob``) and random
   tready drops on m_axis (``backpressure_prob``), both seeded;
2. ``throughput``: ``ii_frames`` frames back to back with tready held high, for the
   initiation interval (output frame spacing) and the latency.

Each phase waits for all its output frames (or a cycle budget), then a few more initiation
intervals to catch extra beats. The results file (JSON) holds, per phase, every accepted output
beat ``[data, last, cycle]``, the accept cycle of every input beat (the source and the sink
count cycles alike), the AXI4-Stream protocol violations seen and the wall-clock time.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles, RisingEdge

from hwbnn.sim.axis import AxisSink, AxisSource
from hwbnn.sim.packing import pack_beats
from hwbnn.sim.runner import get_tb_args
from hwbnn.sim.tb import param, start_clock_and_reset

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


async def _reset(dut: Any) -> None:
    dut.rst.value = 1
    await ClockCycles(dut.clk, RESET_CYCLES)
    dut.rst.value = 0
    await RisingEdge(dut.clk)


async def _phase(
    dut: Any,
    name: str,
    frames: np.ndarray,
    sizes: dict[str, int],
    gap_prob: float,
    backpressure_prob: float,
    rng: random.Random,
) -> dict[str, Any]:
    """Stream ``frames`` (codes) through the DUT and record what comes out."""
    source = AxisSource(dut, dut.clk, gap_prob=gap_prob, seed=rng.getrandbits(31))
    sink = AxisSink(dut, dut.clk, backpressure_prob=backpressure_prob, seed=rng.getrandbits(31))
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
        await ClockCycles(dut.clk, step)
        waited += step
    await sink.settle(2 * per_frame + 50)  # extra (duplicated) beats would show up here
    seconds = time.perf_counter() - start
    source.stop()
    sink.stop()
    dut.s_axis_tvalid.value = 0
    dut.m_axis_tready.value = 0
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
        "protocol_errors": sink.protocol_errors[:20],
    }


@cocotb.test()
async def top_stream(dut: Any) -> None:
    """Run both phases and write the results file named by tb_args["results"]."""
    args = get_tb_args()
    data = np.load(args["inputs"])
    stress, throughput = data["stress"], data["throughput"]
    sizes = {name: param(dut, name) for name in SIZES}
    rng = random.Random(args["seed"])
    await start_clock_and_reset(dut, RESET_CYCLES)
    phases = [
        await _phase(dut, "stress", stress, sizes, args["gap_prob"], args["backpressure_prob"], rng)
    ]
    if len(throughput):
        await _reset(dut)
        phases.append(await _phase(dut, "throughput", throughput, sizes, 0.0, 0.0, rng))
    Path(args["results"]).write_text(json.dumps({"sizes": sizes, "phases": phases}))
