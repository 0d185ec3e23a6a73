"""10,000 frames through a generated top under random, bursty gaps and backpressure, exact.

The compiled Verilator harness (hwbnn.sim.fast, the same engine as ``hwbnn sim --fast``)
replays a stimulus file (hwbnn.sim.stimulus) made here of bursts: every few dozen to few
thousand cycles the input idle probability and the output stall probability change, between
none, some, most and (for the output) all cycles, so FIFOs and line buffers run full, then
drain, then starve, many times over. Every output frame is judged against the reference
(hwbnn.verify.rtl.judge_run): all 10,000 come out exactly once, in order, equal, with no
framing or protocol error, and the run takes the cycles the stimulus implies (at least the
slowest layer's interval per frame). The net is a residual graph (convolutions with line
buffers, a fork and its shortcut FIFO, an add join), where a lost or stale beat has the most
places to hide. The run shows the progress bar of ``hwbnn sim --fast`` (frames done of the
total and tqdm's elapsed<remaining estimate), checked here. Slow (mostly the Verilator build
of the harness), on Verilator.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from hwbnn.codegen import write_build
from hwbnn.driver.driver import labels_from_accumulators
from hwbnn.ir.folding import choose_folding
from hwbnn.ir.types import Network
from hwbnn.reference import Reference
from hwbnn.sim.fast import simulate_fast
from hwbnn.sim.random_graphs import random_graph_net
from hwbnn.sim.runner import simulator_available
from hwbnn.sim.stimulus import PAUSE_DELAY, Stimulus
from hwbnn.sim.top import SimConfig
from hwbnn.verify.rtl import judge_run

FRAMES = 10_000
#: tqdm's bar as it ends: "N/N [MM:SS<MM:SS" (frames done of the total, elapsed<remaining)
BAR_END = re.compile(r"(\d+)/(\d+) \[\d+:\d\d<\d+:\d\d")
#: Input idle and output stall probabilities a burst picks from (1.0: the consumer stops).
GAPS = (0.0, 0.1, 0.5, 0.9)
STALLS = (0.0, 0.2, 0.6, 0.95, 1.0)


def bursty_stimulus(seed: int, period: int) -> Stimulus:
    """Masks of ``period`` cycles in bursts of 20 to 3,000 cycles, each with its own idle and
    stall probability (GAPS, STALLS)."""
    rng = np.random.default_rng(seed)
    valid = np.empty(period, dtype=bool)
    ready = np.empty(period, dtype=bool)
    at = 0
    while at < period:
        end = min(period, at + int(rng.integers(20, 3000)))
        valid[at:end] = rng.random(end - at) >= rng.choice(GAPS)
        ready[at:end] = rng.random(end - at) >= rng.choice(STALLS)
        at = end
    ready[PAUSE_DELAY] = True  # as hwbnn.sim.stimulus.make_stimulus
    return Stimulus(valid, ready)


def residual_graph() -> Network:
    """A Bi-Real block (fork, 3x3 convolutions with line buffers, shortcut FIFO, side-input
    threshold) and an add-join block on a 6x6 image, then the output layer."""
    return random_graph_net(np.random.default_rng(22), (1, 6, 6), 4, ("identity", "add"), 3)


@pytest.mark.slow
@pytest.mark.verilator
@pytest.mark.skipif(not simulator_available("verilator"), reason="verilator not found")
def test_ten_thousand_frames_under_bursty_backpressure(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    net = residual_graph()
    folding = choose_folding(net, 150)
    build = tmp_path / "build"
    write_build(net, folding, build)
    rng = np.random.default_rng(23)
    codes = rng.integers(0, net.input.levels, (FRAMES, net.input.elements))
    reference = Reference(net).run_codes(codes)
    expected = reference.accumulators
    assert len(np.unique(expected, axis=0)) > 100  # outputs vary from frame to frame
    stimulus = bursty_stimulus(24, 1 << 22).save(tmp_path / "stimulus.npz")
    cfg = SimConfig(ii_frames=8, fast=True)
    run = simulate_fast(build, codes, cfg, stimulus=stimulus, progress=True)
    # the progress bar of `hwbnn sim --fast`: frames done of the total, elapsed<remaining
    ends = BAR_END.findall(capfd.readouterr().err.replace("\r", "\n"))
    assert (str(FRAMES + 8), str(FRAMES + 8)) in ends, ends[-3:]
    record = judge_run(run, expected)
    assert record.ok, record.first_mismatch
    assert not record.details["framing_errors"] and not record.details["protocol_errors"]
    stress = run.phases[0]
    assert stress.frames == stress.frames_received == len(stress.accumulators) == FRAMES
    assert stress.beats_received == FRAMES * run.sizes["OUT_BEATS"]
    assert np.array_equal(stress.accumulators, expected[stress.inputs])
    out = net.output_layer
    assert out.out_scale is not None and out.out_bias is not None
    labels = labels_from_accumulators(stress.accumulators, out.out_scale, out.out_bias)
    assert np.array_equal(labels, reference.labels[stress.inputs])
    details = record.details["phases"][0]
    assert details["lost"] == details["duplicated"] == details["reordered"] == 0
    assert details["corrupted"] == 0
    stalled = 1.0 - float(np.mean(Stimulus.load(stimulus).ready))
    print(f"{FRAMES} frames in {stress.cycles} cycles; output stalled in {stalled:.0%} of the mask")
    # stalls slow the stream down: more cycles than back to back, within the timeout budget
    assert stress.cycles > FRAMES * run.initiation_interval
    assert record.cycles_per_frame is not None
    assert abs(record.cycles_per_frame - run.initiation_interval) <= 2
