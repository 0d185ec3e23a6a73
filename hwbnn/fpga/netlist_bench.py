"""cocotb bench of a synthesized ``hwbnn_top`` netlist; run by hwbnn.fpga.netlist.

The netlist has no parameters to read back, so the stream sizes come with the bench
arguments (hwbnn.fpga.link.LinkFormat). Every frame goes in with random idle cycles
(``gap_prob``) while the output sees random tready drops (``backpressure_prob``), through
cocotbext-axi's source and sink with seeded pause generators; hwbnn.sim.axis.AxisProbe watches
both ports. The bench records every output beat ``[data, last]`` and the protocol violations,
and the caller judges.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge

from hwbnn.sim.axis import AxisProbe, axis_sink, axis_source, received, send_words
from hwbnn.sim.packing import pack_beats
from hwbnn.sim.runner import get_tb_args


@cocotb.test()
async def netlist_stream(dut: Any) -> None:
    args = get_tb_args()
    codes = np.load(args["codes"])
    frames = len(codes)
    rng = random.Random(args["seed"])
    Clock(dut.clk, 10, unit="ns").start()
    dut.rst.value = 1
    dut.s_axis_tvalid.value = 0
    dut.m_axis_tready.value = 0
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    await RisingEdge(dut.clk)
    seeds = [rng.randrange(2**31) for _ in range(3)]
    source = axis_source(dut, dut.clk, gap_prob=args["gap_prob"], seed=seeds[0])
    sink = axis_sink(dut, dut.clk, backpressure_prob=args["backpressure_prob"], seed=seeds[1])
    in_probe = AxisProbe(source.bus, dut.clk, junk_seed=seeds[2])
    probe = AxisProbe(sink.bus, dut.clk)
    for frame in codes:
        send_words(source, pack_beats(frame, args["in_bits"], args["in_simd"]))
    ii = args.get("initiation_interval", 0) or args["in_beats"] * args["out_beats"]
    budget = 4 * frames * (ii + args["in_beats"] + args["out_beats"]) + 10_000
    try:
        await probe.wait_frames(frames, timeout_cycles=budget)
    except TimeoutError:
        dut._log.error("only %d output beats after %d cycles", len(probe.beats), budget)
    await probe.settle(2 * args["out_beats"] + 50)
    errors = (in_probe.protocol_errors + probe.protocol_errors)[:20]
    try:
        beats = received(sink, probe)
    except AssertionError as exc:
        errors.append(f"output: {exc}")
        beats = probe.beats
    doc = {"beats": [[b.data, int(b.last)] for b in beats], "protocol_errors": errors}
    Path(args["results"]).write_text(json.dumps(doc))
