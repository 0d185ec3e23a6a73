"""hwbnn_window_majority against hwbnn.reference.images.majority_pool, under random
valid/ready.

pytest draws random binary images for a :class:`~hwbnn.ir.types.MajorityPool` (per-channel
thresholds drawn around the sign's ceil(K*K/2), including 0 and K*K+1), builds the input stream
as the pool's padded sliding windows (hwbnn.reference.run_layer of a SlidingWindow with pad
code 0: what hwbnn_sliding_window feeds the module in a generated top) and takes the expected
output from run_layer of the MajorityPool. The cocotb test (the window pools' bench,
tests/rtl/window_pool_bench.py) streams the windows (tlast at each frame end) and compares every
output beat and tlast. Sizes are read back from the DUT. Cases cover K = 3 at strides 1 and 2
with padding, K = 2 and 1, SIMD from 1 to all channels and SIMD = m*C (m window positions per
beat, m | K*K); the cases without gaps and backpressure must take one cycle per input beat.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import cocotb
import numpy as np
import pytest
from window_pool_bench import check_window_pool, pool_data, run_window_pool

from hwbnn.codegen.majority import majority_thresholds
from hwbnn.ir.types import MajorityPool
from hwbnn.sim.runner import Bits, simulator_available


@cocotb.test()
async def window_majority_stream(dut):
    """Every output beat exact, tlast only at frame ends; full rate when nothing stalls."""
    await check_window_pool(dut)


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
    x = rng.integers(0, 2, (case.frames, pool.in_elements))
    x[::2] &= rng.integers(0, 2, x[::2].shape)
    return pool, pool_data(pool, x)


def run_case(case: Case, tmp_path: Path, simulator: str = "icarus") -> None:
    seed = zlib.crc32(case.id.encode())
    pool, data = make_data(case, seed)
    parameters = {
        "CHANNELS": case.c,
        "KERNEL": case.k,
        "SIMD": case.simd,
        "THRESHOLDS": Bits(*majority_thresholds(pool)),
    }
    module = "hwbnn_window_majority"
    run_window_pool(module, Path(__file__), case, seed, data, parameters, tmp_path, simulator)


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
