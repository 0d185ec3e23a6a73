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

With tb_args ``stimulus`` (a hwbnn.sim.stimulus file) the stress phase replays its masks
instead of drawing its own gaps and backpressure, as the compiled harness (hwbnn.sim.fast) does.

The streams are cocotbext-axi's source and sink with seeded pause generators, each port watched
by a hwbnn.sim.axis.AxisProbe (protocol checks, accept cycles, junk on the idle input). Each
phase waits for all its output frames (or a cycle budget), then a few more initiation intervals
to catch extra beats. The results file (JSON) holds, per phase, every accepted output beat
``[data, last, cycle]``, the accept cycle of every input beat (both probes count cycles
alike), the frames received, the AXI4-Stream and block-control protocol violations seen and the
wall-clock time. When the environment variable ``HWBNN_PROGRESS_FILE`` is set, the number of
output frames received so far (both phases together, so it ends at stress + throughput frames)
is written there as a decimal integer, atomically, at most every PROGRESS_SECONDS and at the end.
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path
from typing import Any

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge

from hwbnn.sim.axis import (
    AxisProbe,
    axis_sink,
    axis_source,
    park,
    received,
    send_words,
    stop,
)
from hwbnn.sim.packing import pack_beats
from hwbnn.sim.runner import get_tb_args
from hwbnn.sim.stimulus import Stimulus, pauses
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
#: Environment variable naming the progress file (frames received so far, both phases).
PROGRESS_ENV = "HWBNN_PROGRESS_FILE"
#: Least wall-clock time between two rewrites of the progress file.
PROGRESS_SECONDS = 0.5


def timeout_budget(frames: int, sizes: dict[str, int], gap: float, backpressure: float) -> int:
    """Cycles a phase of ``frames`` frames may take before it times out, with input idle and
    output stall fractions ``gap`` and ``backpressure`` (also the fast engine's rule)."""
    per_frame = sizes["II_CYCLES"] + sizes["IN_BEATS"] + sizes["OUT_BEATS"]
    slowdown = 1.0 / (1.0 - max(gap, backpressure))
    return int(8 * (frames + sizes["LAYERS"] + 2) * per_frame * slowdown) + 1000


async def _reset(dut: Any, ports: DutPorts) -> None:
    """Hold the reset for RESET_CYCLES; return right after the edge that releases it."""
    clk, rst = getattr(dut, ports.clock), getattr(dut, ports.reset)
    park(dut, ports.in_prefix, ports.out_prefix)
    rst.value = int(not ports.reset_active_low)
    await ClockCycles(clk, RESET_CYCLES)
    rst.value = int(ports.reset_active_low)
    await RisingEdge(clk)


class ProgressFile:
    """Frames received so far, for a progress bar: ``update(frames)`` writes ``done + frames``
    as a decimal integer to ``path`` (default: the file named by ``HWBNN_PROGRESS_FILE``;
    nothing when unset), atomically (a temporary file, then os.replace), at most every
    PROGRESS_SECONDS unless ``force``. ``done`` counts the frames of the finished phases."""

    def __init__(self, path: Path | None = None) -> None:
        name = os.environ.get(PROGRESS_ENV)
        self.path = path if path is not None else Path(name) if name else None
        self.done = 0  # frames of the finished phases
        self._written = -1.0

    def update(self, frames: int, force: bool = False) -> None:
        if self.path is None:
            return
        now = time.monotonic()
        if not force and now - self._written < PROGRESS_SECONDS:
            return
        self._written = now
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(f"{self.done + frames}\n")
        os.replace(tmp, self.path)


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
    progress: ProgressFile,
    stimulus: Stimulus | None = None,
) -> dict[str, Any]:
    """Stream ``frames`` (codes) through the DUT and record what comes out; ``stimulus``
    replaces the random gaps and backpressure."""
    clk = getattr(dut, ports.clock)
    seeds = [rng.getrandbits(31) for _ in range(3)]
    if stimulus is not None:
        gap_prob = backpressure_prob = 0.0
    source = axis_source(dut, clk, ports.in_prefix, gap_prob=gap_prob, seed=seeds[0])
    sink = axis_sink(dut, clk, ports.out_prefix, backpressure_prob=backpressure_prob, seed=seeds[1])
    if stimulus is not None:
        source.set_pause_generator(pauses(stimulus.valid))
        sink.set_pause_generator(pauses(stimulus.ready))
        gap_prob = float(1.0 - stimulus.valid.mean())
        backpressure_prob = float(1.0 - stimulus.ready.mean())
    in_probe = AxisProbe(source.bus, clk, junk_seed=seeds[2])
    out_probe = AxisProbe(
        sink.bus, clk, beats_per_frame=None if ports.out_tlast else sizes["OUT_BEATS"]
    )
    control.begin(len(frames))
    for frame in frames:
        send_words(source, pack_beats(frame, sizes["IN_BITS"], sizes["IN_SIMD"]))
    per_frame = sizes["II_CYCLES"] + sizes["IN_BEATS"] + sizes["OUT_BEATS"]
    budget = timeout_budget(len(frames), sizes, gap_prob, backpressure_prob)
    start = time.perf_counter()
    timed_out = False
    # Poll every few cycles (cheaper than waking up on every edge); overshooting is harmless.
    step = max(1, min(per_frame, 64))
    waited = 0
    while out_probe.frame_count < len(frames):
        if waited >= budget:
            timed_out = True
            break
        await ClockCycles(clk, step)
        waited += step
        progress.update(out_probe.frame_count)
    await out_probe.settle(2 * per_frame + 50)  # extra (duplicated) beats would show up here
    seconds = time.perf_counter() - start
    stop(source)
    stop(sink)
    in_probe.stop()
    out_probe.stop()
    errors = (in_probe.protocol_errors + out_probe.protocol_errors)[:20]
    try:
        beats = received(sink, out_probe)
    except AssertionError as exc:
        errors.append(f"output: {exc}")
        beats = out_probe.beats
    errors += await control.finish()
    progress.done += out_probe.frame_count
    width, out_width = len(sink.bus.tdata), sizes["OUT_WIDTH"]
    if width < out_width:
        errors.append(f"output TDATA has {width} bits, fewer than OUT_WIDTH = {out_width}")
    padded = [k for k, b in enumerate(beats) if b.data >> out_width]
    if padded:
        errors.append(f"output beat {padded[0]}: TDATA bits above {out_width} are not 0")
    return {
        "name": name,
        "frames_sent": len(frames),
        "frames_received": out_probe.frame_count,
        "gap_prob": gap_prob,
        "backpressure_prob": backpressure_prob,
        "timed_out": timed_out,
        "budget_cycles": budget,
        "cycles": out_probe.cycle,
        "wall_seconds": seconds,
        "beats": [[b.data, int(b.last), b.cycle] for b in beats],
        "accepted": in_probe.accepted,
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
    progress = ProgressFile()
    progress.update(0, force=True)
    stimulus = Stimulus.load(args["stimulus"]) if args.get("stimulus") else None
    phases = [
        await _phase(dut, ports, control, "stress", stress, sizes, *gaps, rng, progress, stimulus)
    ]
    if len(throughput):
        await _reset(dut, ports)
        phases.append(
            await _phase(
                dut, ports, control, "throughput", throughput, sizes, 0.0, 0.0, rng, progress
            )
        )
    Path(args["results"]).write_text(json.dumps({"sizes": sizes, "phases": phases}))
    progress.update(0, force=True)
