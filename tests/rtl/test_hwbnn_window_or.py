"""hwbnn_window_or against hwbnn.reference.or_pool, under random valid/ready.

pytest draws random binary images for a :class:`~hwbnn.ir.types.MaxPool`, builds the input
stream as the pool's sliding windows (hwbnn.reference.run_layer of a SlidingWindow with the
pool's padding and pad code 0: what hwbnn_sliding_window feeds the module in a generated top)
and takes the expected output from run_layer of the MaxPool. The cocotb test (the window pools'
bench, tests/rtl/window_pool_bench.py) streams the windows (tlast at each frame end) and
compares every output beat and tlast. Sizes are read back from the DUT. Cases cover kernels
1..3, strides 1..3 (overlapping and not), padded pools (DARTS' 3x3 pad 1, stride 1 and 2), a
1x1 stride-2 pool (every second pixel), channels 1..12, SIMD from 1 to all channels and
SIMD = m*C (m window positions per beat, m | K*K); the cases without gaps and backpressure must
take one cycle per input beat.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import cocotb
import numpy as np
import pytest
from window_pool_bench import check_window_pool, pool_data, run_window_pool

from hwbnn.ir.types import MaxPool


@cocotb.test()
async def window_or_stream(dut):
    """Every output beat exact, tlast only at frame ends; full rate when nothing stalls."""
    await check_window_pool(dut)


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
    x = rng.integers(0, 2, (case.frames, pool.in_elements))
    # sparse frames too, so that an OR of all -1 (0) occurs often
    x[::2] &= rng.integers(0, 2, x[::2].shape) & rng.integers(0, 2, x[::2].shape)
    parameters = {"CHANNELS": case.c, "KERNEL": case.k, "SIMD": case.simd}
    run_window_pool(
        "hwbnn_window_or", Path(__file__), case, seed, pool_data(pool, x), parameters, tmp_path
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
