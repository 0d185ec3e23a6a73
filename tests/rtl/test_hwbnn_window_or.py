"""hwbnn_window_or against hwbnn.reference.or_pool, under random valid/ready.

pytest draws random binary images for a :class:`~hwbnn.ir.types.MaxPool`, builds the input
stream as the pool's sliding windows (hwbnn.reference.run_layer of a SlidingWindow with the
pool's padding and pad code 0: what hwbnn_sliding_window feeds the module in a generated top)
and takes the expected output from run_layer of the MaxPool. The cocotb test streams the windows
(tlast at each frame end) and compares every output beat and tlast. Sizes are read back from the
DUT. Cases cover kernels 1..3, strides 1..3 (overlapping and not), padded pools (DARTS' 3x3 pad
1, stride 1 and 2), a 1x1 stride-2 pool (every second pixel), channels 1..12, SIMD from 1 to all
channels and SIMD = m*C (m window positions per beat, m | K*K); the cases without gaps and
backpressure must take one cycle per input beat.
"""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import cocotb
import numpy as np
import pytest

from hwbnn.ir.types import MaxPool, SlidingWindow
from hwbnn.reference import run_layer
from hwbnn.resources import rtl_files
from hwbnn.sim.axis import axis_streams, received, send_words
from hwbnn.sim.packing import pack_beats, unpack_beats
from hwbnn.sim.runner import get_tb_args, run_cocotb
from hwbnn.sim.tb import param, start_clock_and_reset


@cocotb.test()
async def window_or_stream(dut):
    """Every output beat exact, tlast only at frame ends; full rate when nothing stalls."""
    args = get_tb_args()
    data = np.load(args["data"])
    windows, expected = data["windows"], data["expected"]
    simd, k, c = param(dut, "SIMD"), param(dut, "KERNEL"), param(dut, "CHANNELS")
    simd_out = param(dut, "SIMD_OUT")  # min(SIMD, C): SIMD = m*C ORs m positions per beat
    assert windows.shape[1] * c == expected.shape[1] * k * k * c
    in_beats, out_beats = windows.shape[1] // simd, expected.shape[1] // simd_out

    await start_clock_and_reset(dut)
    rng = np.random.default_rng(args["seed"])
    source, sink, inputs, probe = axis_streams(
        dut,
        dut.clk,
        gap_prob=args["gap_prob"],
        backpressure_prob=args["backpressure_prob"],
        seed=int(rng.integers(2**31)),
    )
    for frame in windows:
        send_words(source, pack_beats(frame, 1, simd))
    await probe.wait_frames(len(windows), timeout_cycles=10 * len(windows) * in_beats + 1000)
    await probe.settle(in_beats + 20)
    received(sink, probe)

    assert not probe.protocol_errors, probe.protocol_errors[:3]
    assert len(probe.beats) == len(windows) * out_beats, f"{len(probe.beats)} beats"
    assert [b.last for b in probe.beats] == ([False] * (out_beats - 1) + [True]) * len(windows)
    got = unpack_beats([b.data for b in probe.beats], 1, simd_out).reshape(expected.shape)
    if not np.array_equal(got, expected):
        frame, element = np.argwhere(got != expected)[0]
        pixel, channel = divmod(int(element), c)
        raise AssertionError(
            f"frame {frame} output pixel {pixel} channel {channel}: got {got[frame, element]}, "
            f"expected {expected[frame, element]}"
        )
    if args["gap_prob"] == 0 and args["backpressure_prob"] == 0:
        accepted = inputs.accepted
        assert accepted == list(range(accepted[0], accepted[0] + len(accepted))), "input stalled"


@dataclass(frozen=True)
class Case:
    h: int
    w: int
    c: int
    k: int
    s: int
    simd: int = 1
    frames: int = 6
    gap_prob: float = 0.3
    backpressure_prob: float = 0.5
    pad: tuple[int, int, int, int] = (0, 0, 0, 0)

    @property
    def id(self) -> str:
        stall = "-nostall" if self.gap_prob == self.backpressure_prob == 0 else ""
        pad = "-p" + "".join(map(str, self.pad)) if any(self.pad) else ""
        return f"{self.h}x{self.w}x{self.c}-k{self.k}s{self.s}{pad}-simd{self.simd}{stall}"


def run_case(case: Case, tmp_path: Path) -> None:
    seed = zlib.crc32(case.id.encode())
    rng = np.random.default_rng(seed)
    pool = MaxPool("dut", (case.h, case.w, case.c), case.k, case.s, padding=case.pad)
    window = SlidingWindow("dut_window", pool.in_shape, case.k, case.s, case.pad, pad_code=0)
    x = rng.integers(0, 2, (case.frames, pool.in_elements))
    # sparse frames too, so that an OR of all -1 (0) occurs often
    x[::2] &= rng.integers(0, 2, x[::2].shape) & rng.integers(0, 2, x[::2].shape)
    np.savez(tmp_path / "data.npz", windows=run_layer(window, x), expected=run_layer(pool, x))
    run_cocotb(
        sources=rtl_files("hwbnn_window_or"),
        toplevel="hwbnn_window_or",
        test_module=Path(__file__),
        build_dir=tmp_path / "sim",
        parameters={"CHANNELS": case.c, "KERNEL": case.k, "SIMD": case.simd},
        tb_args=asdict(case) | {"data": str(tmp_path / "data.npz"), "seed": seed},
    )


CASES = [
    Case(4, 4, 1, 2, 2),
    Case(6, 6, 4, 2, 2, simd=2),
    Case(7, 5, 6, 3, 2, simd=3),  # overlapping windows, floor mode
    Case(6, 6, 5, 3, 3, simd=5),  # SIMD = channels
    Case(5, 5, 12, 2, 1, simd=4),  # stride 1
    Case(3, 3, 3, 1, 1, simd=1),  # 1x1: every beat is a whole window
    Case(8, 8, 8, 2, 2, simd=2, gap_prob=0.0, backpressure_prob=0.0),
    Case(4, 4, 4, 1, 1, simd=4, gap_prob=0.0, backpressure_prob=0.0),
    # SIMD = m*C: m window positions per input beat, one window's C bits per output beat
    Case(6, 6, 4, 2, 2, simd=8),  # K = 2, m = 2
    Case(7, 6, 3, 2, 2, simd=12),  # K = 2, m = 4: a whole window per beat
    Case(7, 5, 6, 3, 2, simd=18),  # K = 3, m = 3, overlapping windows
    Case(6, 6, 2, 3, 1, simd=18),  # K = 3, m = 9
    Case(8, 8, 4, 3, 1, simd=12, gap_prob=0.0, backpressure_prob=0.0),
    # padded pools (bit 0 outside the image) and a 1x1 stride-2 pool
    Case(6, 6, 4, 3, 1, simd=2, pad=(1, 1, 1, 1)),  # DARTS max_pool_3x3, stride 1
    Case(7, 6, 2, 3, 2, simd=2, pad=(1, 1, 1, 1)),  # stride 2
    Case(5, 4, 2, 2, 1, simd=4, pad=(1, 0, 0, 1)),  # SIMD = 2C, asymmetric
    Case(6, 5, 3, 1, 2, simd=3),  # every second pixel
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hwbnn_window_or(tmp_path: Path, case: Case) -> None:
    run_case(case, tmp_path)
