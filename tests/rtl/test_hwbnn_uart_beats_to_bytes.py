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

from hwbnn.resources import rtl_files
from hwbnn.sim.axis import axis_streams, received, send_words, wait_sent
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
    source, sink, _, probe = axis_streams(
        dut, dut.clk, gap_prob=0.4, backpressure_prob=0.5, seed=rng.randrange(2**31)
    )
    send_words(source, beats)  # s_axis has no tlast
    await wait_sent(source, timeout_cycles=100 * len(beats) * size + 100)
    await ClockCycles(dut.clk, 10 * size)
    await probe.settle(20)
    received(sink, probe)
    assert not probe.protocol_errors, probe.protocol_errors[:3]
    assert [b.data for b in probe.beats] == unpack_model(beats, width)


@cocotb.test()
async def unpack_back_to_back(dut):
    """Beats queued back to back, sink always ready: one byte every cycle."""
    width, size = param(dut, "BEAT_WIDTH"), param(dut, "BYTES")
    beats = [(0x5A5A5A5A5A5A5A5A >> k) & ((1 << width) - 1) for k in range(6)]
    await start_clock_and_reset(dut)
    source, sink, _, probe = axis_streams(dut, dut.clk)
    send_words(source, beats)
    await wait_sent(source, timeout_cycles=100)
    await ClockCycles(dut.clk, 2 * size + 5)
    received(sink, probe)
    cycles = [b.cycle for b in probe.beats]
    assert [b.data for b in probe.beats] == unpack_model(beats, width)
    assert not probe.protocol_errors, probe.protocol_errors[:3]
    assert cycles == list(range(cycles[0], cycles[0] + len(cycles))), f"gaps: {cycles}"


CASES = [1, 7, 8, 9, 16, 45]


@pytest.mark.parametrize("width", CASES, ids=[f"w{w}" for w in CASES])
def test_hwbnn_uart_beats_to_bytes(tmp_path: Path, width: int) -> None:
    run_cocotb(
        sources=rtl_files("hwbnn_uart_beats_to_bytes"),
        toplevel="hwbnn_uart_beats_to_bytes",
        test_module=Path(__file__),
        build_dir=tmp_path,
        parameters={"BEAT_WIDTH": width},
        tb_args={"seed": width},
    )
