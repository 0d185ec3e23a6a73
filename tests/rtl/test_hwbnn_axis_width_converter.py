"""hwbnn_axis_width_converter: LSB-first repacking and tlast under random valid/ready.

Each frame is a random bit string of a whole number of wide words; the input beats are its
IN_WIDTH-bit slices and the expected output beats its OUT_WIDTH-bit slices, both LSB first.
"""

from __future__ import annotations

import random
from pathlib import Path

import cocotb
import pytest

from hwbnn.resources import rtl_files
from hwbnn.sim.axis import axis_streams, received, send_words
from hwbnn.sim.runner import get_tb_args, run_cocotb
from hwbnn.sim.tb import param, start_clock_and_reset


def slices(bits: int, total: int, width: int) -> list[int]:
    """Split the ``total``-bit integer ``bits`` into ``width``-bit words, low bits first."""
    return [(bits >> i) & ((1 << width) - 1) for i in range(0, total, width)]


def consecutive(cycles: list[int]) -> bool:
    return cycles == list(range(cycles[0], cycles[0] + len(cycles)))


@cocotb.test()
async def width_converter_stream(dut):
    """Random frames arrive repacked, with tlast on the last output beat of each frame."""
    args = get_tb_args()
    in_width = param(dut, "IN_WIDTH")
    out_width = param(dut, "OUT_WIDTH")
    wide = max(in_width, out_width)
    rng = random.Random(args["seed"])
    frames = []
    for _ in range(args["frames"]):
        total = wide * rng.randint(1, 4)
        frames.append((rng.getrandbits(total), total))
    await start_clock_and_reset(dut)
    source, sink, accepted, probe = axis_streams(
        dut,
        dut.clk,
        gap_prob=args["gap_prob"],
        backpressure_prob=args["backpressure_prob"],
        seed=rng.getrandbits(32),
    )
    for bits, total in frames:
        send_words(source, slices(bits, total, in_width))
    await probe.wait_frames(len(frames), timeout_cycles=20_000)
    await probe.settle(20)
    beats = received(sink, probe)
    expected = [slices(bits, total, out_width) for bits, total in frames]
    got = [[b.data for b in frame] for frame in probe.frames]
    assert got == expected, "output frames differ"
    assert len(beats) == sum(map(len, expected)), "extra beats after the last frame"
    assert not probe.protocol_errors, probe.protocol_errors[:3]
    if args["gap_prob"] == 0 and args["backpressure_prob"] == 0:
        # Full rate on the narrow side: no idle cycle between beats there.
        if in_width <= out_width:
            assert consecutive(accepted.accepted), "input side stalled"
        if out_width <= in_width:
            assert consecutive([b.cycle for b in beats]), "output side idled"


@pytest.mark.parametrize(
    ("in_width", "out_width", "gap_prob", "backpressure_prob"),
    [
        (8, 32, 0.0, 0.0),
        (32, 8, 0.0, 0.0),
        (8, 32, 0.2, 0.8),
        (32, 8, 0.3, 0.6),
        (1, 4, 0.2, 0.2),
        (6, 2, 0.5, 0.5),
        (3, 6, 0.3, 0.7),
        (12, 12, 0.3, 0.3),
        (1, 1, 0.0, 0.0),
    ],
)
def test_hwbnn_axis_width_converter(
    tmp_path: Path, in_width: int, out_width: int, gap_prob: float, backpressure_prob: float
) -> None:
    run_cocotb(
        sources=rtl_files("hwbnn_axis_width_converter"),
        toplevel="hwbnn_axis_width_converter",
        test_module=Path(__file__),
        build_dir=tmp_path,
        parameters={"IN_WIDTH": in_width, "OUT_WIDTH": out_width},
        tb_args={
            "seed": in_width * 100 + out_width,
            "frames": 30,
            "gap_prob": gap_prob,
            "backpressure_prob": backpressure_prob,
        },
    )
