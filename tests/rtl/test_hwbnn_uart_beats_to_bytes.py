"""hwbnn_uart_beats_to_bytes against a Python model, under random valid/ready.

Random beats go in (random gaps), bytes come out (random backpressure); every beat must come
out as its BYTES little-endian bytes, the padding bits 0. Sizes are read back from the DUT.
A second test checks that back-to-back beats leave no idle cycle on the byte side.
"""

from __future__ import annotations

import random
from pathlib import Path

import cocotb
import pytest
from cocotb.triggers import ClockCycles

from hwbnn.resources import share_dir
from hwbnn.sim.axis import AxisSink, AxisSource
from hwbnn.sim.runner import get_tb_args, run_cocotb
from hwbnn.sim.tb import param, start_clock_and_reset


def unpack_model(beats: list[int], width: int) -> list[int]:
    size = (width + 7) // 8
    return [byte for beat in beats for byte in beat.to_bytes(size, "little")]


@cocotb.test()
async def unpack_stream(dut):
    args = get_tb_args()
    width, size = param(dut, "BEAT_WIDTH"), param(dut, "BYTES")
    assert size == (width + 7) // 8
    rng = random.Random(args["seed"])
    beats = [rng.getrandbits(width) for _ in range(40)] + [(1 << width) - 1, 0]
    await start_clock_and_reset(dut)
    source = AxisSource(dut, dut.clk, gap_prob=0.4, seed=rng.randrange(2**31))
    sink = AxisSink(dut, dut.clk, backpressure_prob=0.5, seed=rng.randrange(2**31))
    for beat in beats:
        source.send(beat)
    await source.wait_idle(timeout_cycles=100 * len(beats) * size + 100)
    await ClockCycles(dut.clk, 10 * size)
    await sink.settle(20)
    assert not sink.protocol_errors, sink.protocol_errors[:3]
    assert [b.data for b in sink.beats] == unpack_model(beats, width)


@cocotb.test()
async def unpack_back_to_back(dut):
    """Beats queued back to back, sink always ready: one byte every cycle."""
    width, size = param(dut, "BEAT_WIDTH"), param(dut, "BYTES")
    beats = [(0x5A5A5A5A5A5A5A5A >> k) & ((1 << width) - 1) for k in range(6)]
    await start_clock_and_reset(dut)
    source = AxisSource(dut, dut.clk)
    sink = AxisSink(dut, dut.clk)
    for beat in beats:
        source.send(beat)
    await source.wait_idle(timeout_cycles=100)
    await ClockCycles(dut.clk, 2 * size + 5)
    cycles = [b.cycle for b in sink.beats]
    assert [b.data for b in sink.beats] == unpack_model(beats, width)
    assert cycles == list(range(cycles[0], cycles[0] + len(cycles))), f"gaps: {cycles}"


CASES = [1, 7, 8, 9, 16, 45]


@pytest.mark.parametrize("width", CASES, ids=[f"w{w}" for w in CASES])
def test_hwbnn_uart_beats_to_bytes(tmp_path: Path, width: int) -> None:
    run_cocotb(
        sources=[share_dir("rtl") / "hwbnn_uart_beats_to_bytes.v"],
        toplevel="hwbnn_uart_beats_to_bytes",
        test_module=Path(__file__),
        build_dir=tmp_path,
        parameters={"BEAT_WIDTH": width},
        tb_args={"seed": width},
    )
