"""hwbnn_axis_width_converter: LSB-first repacking and tlast under random valid/ready.

Each frame is a random bit string of a whole number of wide words; the input beats are its
IN_WIDTH-bit slices and the expected output beats its OUT_WIDTH-bit slices, both LSB first.
"""

from __future__ import annotations

import random
from pathlib import Path

import cocotb
import pytest

from hwbnn.resources import share_dir
from hwbnn.sim.axis import AxisSink, AxisSource
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
    source = AxisSource(dut, dut.clk, gap_prob=args["gap_prob"], seed=rng.getrandbits(32))
    sink = AxisSink(
        dut, dut.clk, backpressure_prob=args["backpressure_prob"], seed=rng.getrandbits(32)
    )
    for bits, total in frames:
        source.send_frame(slices(bits, total, in_width))
    await sink.wait_frames(len(frames), timeout_cycles=20_000)
    await sink.settle(20)
    expected = [slices(bits, total, out_width) for bits, total in frames]
    got = [[b.data for b in frame] for frame in sink.frames]
    assert got == expected, "output frames differ"
    assert len(sink.beats) == sum(map(len, expected)), "extra beats after the last frame"
    assert not sink.protocol_errors, sink.protocol_errors[:3]
    if args["gap_prob"] == 0 and args["backpressure_prob"] == 0:
        # Full rate on the narrow side: no idle cycle between beats there.
        if in_width <= out_width:
            assert consecutive(source.accepted), "input side stalled"
        if out_width <= in_width:
            assert consecutive([b.cycle for b in sink.beats]), "output side idled"


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
        sources=[share_dir("rtl") / "hwbnn_axis_width_converter.v"],
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
