"""hwbnn_input_threshold against the reference model: bit_i = code_i >= T_i, random valid/ready.

pytest draws thresholds (including 0 = always 1 and 2^B = always 0) and input codes (including
codes equal to their threshold), writes the threshold file with hwbnn.codegen.memfiles and the
data to an .npz file; the cocotb tests stream it through the DUT and compare exactly.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import cocotb
import numpy as np
import pytest

from hwbnn.codegen.memfiles import write_input_threshold_memfile
from hwbnn.ir.types import InputThreshold
from hwbnn.reference import run_layer
from hwbnn.resources import rtl_files
from hwbnn.sim.axis import axis_streams, received, send_words
from hwbnn.sim.packing import pack_beats, unpack_beats
from hwbnn.sim.runner import get_tb_args, run_cocotb
from hwbnn.sim.tb import param, start_clock_and_reset


@cocotb.test()
async def input_threshold_stream(dut):
    """Stream every frame; output bits, beat count and tlast must match the model."""
    args = get_tb_args()
    data = np.load(args["data"])
    x, expected = data["inputs"], data["expected"]
    n, simd, bits = param(dut, "N"), param(dut, "SIMD"), param(dut, "INPUT_BITS")
    assert param(dut, "THRESH_WIDTH") == bits + 1
    assert x.shape[1] == n
    beats_per_frame = n // simd
    await start_clock_and_reset(dut)
    rng = np.random.default_rng(args["seed"])
    source, sink, _, probe = axis_streams(
        dut,
        dut.clk,
        gap_prob=args["gap_prob"],
        backpressure_prob=args["backpressure_prob"],
        seed=int(rng.integers(2**31)),
    )
    for frame in x:
        send_words(source, pack_beats(frame, bits, simd))
    await probe.wait_frames(len(x), timeout_cycles=20_000)
    await probe.settle(20)
    beats = received(sink, probe)
    assert not probe.protocol_errors, probe.protocol_errors[:3]
    assert len(beats) == len(x) * beats_per_frame, "beat count"
    lasts = [b.last for b in beats]
    assert lasts == ([False] * (beats_per_frame - 1) + [True]) * len(x), "tlast"
    got = unpack_beats([b.data for b in beats], 1, simd).reshape(len(x), n)
    if not np.array_equal(got, expected):
        frame, element = np.argwhere(got != expected)[0]
        raise AssertionError(f"frame {frame} element {element} differs")
    if args["gap_prob"] == 0 and args["backpressure_prob"] == 0:
        cycles = [b.cycle for b in beats]
        assert cycles == list(range(cycles[0], cycles[0] + len(cycles))), "not 1 beat/cycle"


@cocotb.test()
async def input_threshold_short_frame(dut):
    """A frame cut short by tlast ends early; the next frame uses the right thresholds."""
    args = get_tb_args()
    data = np.load(args["data"])
    x, expected = data["inputs"], data["expected"]
    n, simd, bits = param(dut, "N"), param(dut, "SIMD"), param(dut, "INPUT_BITS")
    if n // simd < 2:
        dut._log.info("N/SIMD = 1: a frame cannot be cut short")
        return
    await start_clock_and_reset(dut)
    source, sink, _, probe = axis_streams(dut, dut.clk)
    send_words(source, pack_beats(x[0], bits, simd)[:1])
    send_words(source, pack_beats(x[1], bits, simd))
    await probe.wait_frames(2, timeout_cycles=10_000)
    await probe.settle(20)
    received(sink, probe)
    frames = probe.frames
    assert len(frames) == 2 and len(frames[0]) == 1, [len(f) for f in frames]
    assert not probe.protocol_errors, probe.protocol_errors[:3]
    got = unpack_beats([b.data for b in frames[1]], 1, simd).reshape(-1)
    assert np.array_equal(got, expected[1])


CASES = [
    # (N, SIMD, INPUT_BITS, gap_prob, backpressure_prob)
    (16, 4, 8, 0.3, 0.4),
    (12, 1, 3, 0.2, 0.5),
    (20, 20, 4, 0.4, 0.4),
    (24, 24, 8, 0.3, 0.3),  # one beat per frame: the compare written as gates
    (24, 8, 1, 0.5, 0.2),
    (30, 5, 8, 0.0, 0.0),
]


@pytest.mark.parametrize(("n", "simd", "input_bits", "gap_prob", "backpressure_prob"), CASES)
def test_hwbnn_input_threshold(
    tmp_path: Path, n: int, simd: int, input_bits: int, gap_prob: float, backpressure_prob: float
) -> None:
    seed = zlib.crc32(f"{n}-{simd}-{input_bits}".encode())
    rng = np.random.default_rng(seed)
    levels = 1 << input_bits
    frames = 12
    t = rng.integers(0, levels + 1, n)
    t[0], t[-1] = 0, levels  # always 1, always 0
    x = rng.integers(0, levels, (frames, n))
    x[1] = t.clip(0, levels - 1)  # codes at their thresholds
    x[2] = levels - 1
    expected = run_layer(InputThreshold("dut", t, levels), x)  # the golden model
    thresh_file = write_input_threshold_memfile(t, simd, input_bits, tmp_path, "in")
    np.savez(tmp_path / "data.npz", inputs=x, expected=expected)
    run_cocotb(
        sources=rtl_files("hwbnn_input_threshold"),
        toplevel="hwbnn_input_threshold",
        test_module=Path(__file__),
        build_dir=tmp_path / "sim",
        parameters={
            "N": n,
            "SIMD": simd,
            "INPUT_BITS": input_bits,
            "THRESH_FILE": str(thresh_file),
        },
        tb_args={
            "data": str(tmp_path / "data.npz"),
            "seed": seed,
            "gap_prob": gap_prob,
            "backpressure_prob": backpressure_prob,
        },
    )
