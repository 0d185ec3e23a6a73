"""hwbnn_axis_fifo: order, tlast, capacity and full throughput under random valid/ready.

The cocotb tests (``fifo_*``) run inside the simulator; ``test_hwbnn_axis_fifo`` drives them
from pytest, one build directory per case.
"""

from __future__ import annotations

import random
from pathlib import Path

import cocotb
import pytest
from cocotb.triggers import ClockCycles

from hwbnn.resources import rtl_files
from hwbnn.sim.axis import AxisProbe, axis_sink, axis_source, received, send_words
from hwbnn.sim.runner import get_tb_args, run_cocotb
from hwbnn.sim.tb import param, start_clock_and_reset


@cocotb.test()
async def fifo_stream(dut):
    """Random frames through the FIFO under random gaps and backpressure arrive unchanged."""
    args = get_tb_args()
    width = param(dut, "DATA_WIDTH")
    rng = random.Random(args["seed"])
    frames = [
        [rng.getrandbits(width) for _ in range(rng.randint(1, 9))] for _ in range(args["frames"])
    ]
    await start_clock_and_reset(dut)
    source = axis_source(dut, dut.clk, gap_prob=args["gap_prob"], seed=rng.getrandbits(32))
    sink = axis_sink(
        dut, dut.clk, backpressure_prob=args["backpressure_prob"], seed=rng.getrandbits(32)
    )
    AxisProbe(source.bus, dut.clk, junk_seed=rng.getrandbits(32))
    probe = AxisProbe(sink.bus, dut.clk)
    for frame in frames:
        send_words(source, frame)
    await probe.wait_frames(len(frames), timeout_cycles=20_000)
    await probe.settle(20)
    beats = received(sink, probe)
    got = [[b.data for b in f] for f in probe.frames]
    assert got == frames, "frames differ"
    assert len(beats) == sum(map(len, frames)), "extra beats after the last frame"
    assert not probe.protocol_errors, probe.protocol_errors[:3]
    if args["gap_prob"] == 0 and args["backpressure_prob"] == 0:
        cycles = [b.cycle for b in beats]
        assert cycles == list(range(cycles[0], cycles[0] + len(cycles))), "not 1 beat/cycle"


@cocotb.test()
async def fifo_capacity(dut):
    """With tready low the FIFO takes exactly DEPTH + 1 beats, then delivers them in order."""
    depth = param(dut, "DEPTH")
    width = param(dut, "DATA_WIDTH")
    rng = random.Random(1)
    words = [rng.getrandbits(width) for _ in range(depth + 4)]
    await start_clock_and_reset(dut)
    source = axis_source(dut, dut.clk)
    accepted = AxisProbe(source.bus, dut.clk, junk_seed=2)
    send_words(source, words)
    await ClockCycles(dut.clk, depth + 10)  # m_axis_tready held at 0 since the reset
    assert len(accepted.beats) == depth + 1, f"took {len(accepted.beats)} beats"
    sink = axis_sink(dut, dut.clk)
    probe = AxisProbe(sink.bus, dut.clk)
    await probe.wait_frames(1, timeout_cycles=1000)
    await probe.settle(5)
    beats = received(sink, probe)
    assert [b.data for b in beats] == words
    assert [b.last for b in beats] == [False] * (len(words) - 1) + [True]
    assert not probe.protocol_errors, probe.protocol_errors[:3]


@pytest.mark.parametrize(
    ("data_width", "depth", "gap_prob", "backpressure_prob"),
    [
        (8, 16, 0.0, 0.0),
        (8, 16, 0.3, 0.5),
        (1, 2, 0.5, 0.3),
        (37, 4, 0.1, 0.7),
        (72, 32, 0.6, 0.1),
        (5, 13, 0.3, 0.5),  # not a power of 2: exact capacity
        (3, 3, 0.0, 0.0),
    ],
)
def test_hwbnn_axis_fifo(
    tmp_path: Path, data_width: int, depth: int, gap_prob: float, backpressure_prob: float
) -> None:
    run_cocotb(
        sources=rtl_files("hwbnn_axis_fifo"),
        toplevel="hwbnn_axis_fifo",
        test_module=Path(__file__),
        build_dir=tmp_path,
        parameters={"DATA_WIDTH": data_width, "DEPTH": depth},
        tb_args={
            "seed": data_width * 1000 + depth,
            "frames": 40,
            "gap_prob": gap_prob,
            "backpressure_prob": backpressure_prob,
        },
    )
