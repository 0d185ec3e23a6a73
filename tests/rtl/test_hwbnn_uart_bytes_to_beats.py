"""hwbnn_uart_bytes_to_beats against a Python model, under random valid/ready.

Random bytes go in (random gaps), beats come out (random backpressure); every beat must be
the little-endian value of its BYTES bytes cut to BEAT_WIDTH bits, and tlast must mark every
FRAME_BEATS-th beat. Sizes are read back from the DUT. A second test checks that the bytes of
the next beat are taken while a finished beat waits (only its last byte stalls).
"""

from __future__ import annotations

import random
from pathlib import Path

import cocotb
import pytest
from cocotb.triggers import ClockCycles

from hwbnn.resources import rtl_files
from hwbnn.sim.axis import AxisProbe, axis_source, axis_streams, received, send_words, wait_sent
from hwbnn.sim.runner import get_tb_args, run_cocotb
from hwbnn.sim.tb import param, start_clock_and_reset


def pack_model(data: list[int], width: int) -> list[int]:
    """Beats from bytes: BYTES bytes little-endian per beat, masked to ``width`` bits."""
    size = (width + 7) // 8
    return [
        int.from_bytes(bytes(data[i : i + size]), "little") & ((1 << width) - 1)
        for i in range(0, len(data) - size + 1, size)
    ]


@cocotb.test()
async def pack_stream(dut):
    args = get_tb_args()
    width, frame = param(dut, "BEAT_WIDTH"), param(dut, "FRAME_BEATS")
    size = param(dut, "BYTES")
    assert size == (width + 7) // 8
    rng = random.Random(args["seed"])
    beats = 3 * frame + 2
    data = [rng.randrange(256) for _ in range(beats * size)]
    data[:size] = [0xFF] * size  # high padding bits set: they must be dropped
    await start_clock_and_reset(dut)
    source, sink, _, probe = axis_streams(
        dut, dut.clk, gap_prob=0.4, backpressure_prob=0.5, seed=rng.randrange(2**31)
    )
    send_words(source, data)  # s_axis has no tlast
    await wait_sent(source, timeout_cycles=100 * len(data) + 100)
    await ClockCycles(dut.clk, 50)
    await probe.settle(20)
    received(sink, probe)
    assert not probe.protocol_errors, probe.protocol_errors[:3]
    assert [b.data for b in probe.beats] == pack_model(data, width)
    assert [b.last for b in probe.beats] == [(i + 1) % frame == 0 for i in range(beats)]


@cocotb.test()
async def pack_overlaps_next_beat(dut):
    """With the output held, BYTES - 1 bytes of the next beat are still taken."""
    size = param(dut, "BYTES")
    await start_clock_and_reset(dut)
    source = axis_source(dut, dut.clk)  # m_axis_tready held at 0 since the reset
    taken = AxisProbe(source.bus, dut.clk, junk_seed=1)
    send_words(source, [i % 256 for i in range(2 * size)])
    await ClockCycles(dut.clk, 10 * size + 10)
    assert len(taken.beats) == 2 * size - 1, f"{len(taken.beats)} bytes taken"
    assert dut.m_axis_tvalid.value == 1
    dut.m_axis_tready.value = 1
    await wait_sent(source, timeout_cycles=100)


#: (BEAT_WIDTH, FRAME_BEATS); 300 bits are 38 bytes: three copies of the shift and load strobes;
#: 1,400 bits are 175 bytes: 11 copies from 3 first-level copies
CASES = [(1, 1), (5, 64), (8, 3), (9, 4), (16, 2), (45, 5), (300, 2), (1400, 2)]


@pytest.mark.parametrize(("width", "frame"), CASES, ids=[f"w{w}-f{f}" for w, f in CASES])
def test_hwbnn_uart_bytes_to_beats(tmp_path: Path, width: int, frame: int) -> None:
    run_cocotb(
        sources=rtl_files("hwbnn_uart_bytes_to_beats"),
        toplevel="hwbnn_uart_bytes_to_beats",
        test_module=Path(__file__),
        build_dir=tmp_path,
        parameters={"BEAT_WIDTH": width, "FRAME_BEATS": frame},
        tb_args={"seed": 7 * width + frame},
    )
