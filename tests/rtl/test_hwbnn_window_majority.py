"""hwbnn_window_majority against hwbnn.reference.images.majority_pool, under random
valid/ready.

pytest draws random binary images for a :class:`~hwbnn.ir.types.MajorityPool` (per-channel
thresholds drawn around the sign's ceil(K*K/2), including 0 and K*K+1), builds the input stream
as the pool's padded sliding windows (hwbnn.reference.run_layer of a SlidingWindow with pad
code 0: what hwbnn_sliding_window feeds the module in a generated top) and takes the expected
output from run_layer of the MajorityPool. The cocotb test streams the windows (tlast at each
frame end) and compares every output beat and tlast. Sizes are read back from the DUT. Cases
cover K = 3 at strides 1 and 2 with padding, K = 2 and 1, SIMD from 1 to all channels and
SIMD = m*C (m window positions per beat, m | K*K); the cases without gaps and backpressure
must take one cycle per input beat.
"""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import cocotb
import numpy as np
import pytest

from hwbnn.codegen.majority import majority_thresholds
from hwbnn.ir.types import MajorityPool, SlidingWindow
from hwbnn.reference import run_layer
from hwbnn.resources import rtl_files
from hwbnn.sim.axis import axis_streams, received, send_words
from hwbnn.sim.packing import pack_beats, unpack_beats
from hwbnn.sim.runner import Bits, get_tb_args, run_cocotb, simulator_available
from hwbnn.sim.tb import param, start_clock_and_reset


@cocotb.test()
async def window_majority_stream(dut):
    """Every output beat exact, tlast only at frame ends; full rate when nothing stalls."""
    args = get_tb_args()
    data = np.load(args["data"])
    windows, expected = data["windows"], data["expected"]
    simd, k, c = param(dut, "SIMD"), param(dut, "KERNEL"), param(dut, "CHANNELS")
    simd_out = param(dut, "SIMD_OUT")  # min(SIMD, C): SIMD = m*C counts m positions per beat
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
    pad: tuple[int, int, int, int] = (1, 1, 1, 1)
    simd: int = 1
    frames: int = 5
    gap_prob: float = 0.3
    backpressure_prob: float = 0.5

    @property
    def id(self) -> str:
        stall = "-nostall" if self.gap_prob == self.backpressure_prob == 0 else ""
        pad = "".join(map(str, self.pad))
        return f"{self.h}x{self.w}x{self.c}-k{self.k}s{self.s}p{pad}-simd{self.simd}{stall}"


def make_data(case: Case, seed: int) -> tuple[MajorityPool, dict[str, np.ndarray]]:
    """The pool (thresholds: the sign's, its neighbours, 0 and K*K+1) and the windows it reads
    and its expected output for random frames (every other one sparse, so both sides of the
    thresholds occur)."""
    rng = np.random.default_rng(seed)
    positions = case.k * case.k
    choices = np.array([0, positions + 1, *range(max(0, positions // 2 - 1), positions + 1)])
    t = rng.choice(choices, size=case.c)
    t[0] = -(-positions // 2)  # the plain sign
    pool = MajorityPool("dut", (case.h, case.w, case.c), case.k, case.s, case.pad, t)
    window = SlidingWindow("dut_window", pool.in_shape, case.k, case.s, case.pad)
    x = rng.integers(0, 2, (case.frames, pool.in_elements))
    x[::2] &= rng.integers(0, 2, x[::2].shape)
    return pool, {"windows": run_layer(window, x), "expected": run_layer(pool, x)}


def run_case(case: Case, tmp_path: Path, simulator: str = "icarus") -> None:
    seed = zlib.crc32(case.id.encode())
    pool, data = make_data(case, seed)
    np.savez(tmp_path / "data.npz", **data)
    run_cocotb(
        sources=rtl_files("hwbnn_window_majority"),
        toplevel="hwbnn_window_majority",
        test_module=Path(__file__),
        build_dir=tmp_path / "sim",
        parameters={
            "CHANNELS": case.c,
            "KERNEL": case.k,
            "SIMD": case.simd,
            "THRESHOLDS": Bits(*majority_thresholds(pool)),
        },
        simulator=simulator,
        tb_args=asdict(case) | {"data": str(tmp_path / "data.npz"), "seed": seed},
    )


CASES = [
    Case(5, 5, 1, 3, 1),  # the avg_pool_3x3 of a normal cell
    Case(6, 6, 4, 3, 2, simd=2),  # of a reduction cell
    Case(7, 5, 6, 3, 2, simd=3, pad=(1, 0, 2, 1)),
    Case(5, 6, 4, 3, 1, simd=4),  # SIMD = channels
    Case(5, 5, 12, 2, 1, simd=4, pad=(0, 0, 1, 1)),
    Case(3, 3, 3, 1, 1, simd=1, pad=(0, 0, 0, 0)),  # 1x1: every beat is a whole window
    Case(6, 6, 8, 3, 1, simd=2, gap_prob=0.0, backpressure_prob=0.0),
    # SIMD = m*C: m window positions per input beat, one window's C bits per output beat
    Case(6, 6, 2, 3, 2, simd=6),  # m = 3
    Case(5, 5, 2, 3, 1, simd=18),  # m = 9: a whole window per beat
    Case(6, 6, 4, 3, 1, simd=12, gap_prob=0.0, backpressure_prob=0.0),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hwbnn_window_majority(tmp_path: Path, case: Case) -> None:
    run_case(case, tmp_path)


@pytest.mark.verilator
@pytest.mark.skipif(not simulator_available("verilator"), reason="verilator not found")
def test_hwbnn_window_majority_verilator(tmp_path: Path) -> None:
    run_case(Case(8, 8, 8, 3, 2, simd=4, frames=3), tmp_path, "verilator")
