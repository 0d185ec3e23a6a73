"""The analytical resource model: memory tiling, adder trees, and its trend over foldings."""

from __future__ import annotations

import numpy as np
import pytest

from hwbnn.flows.boards import ICE40UP5K, LFE5U_85F, XC7Z020
from hwbnn.flows.estimate import adder_tree_luts, estimate, memory_cost
from hwbnn.ir.folding import choose_folding, max_cycles
from hwbnn.sim.random_nets import random_mlp


@pytest.mark.parametrize(
    ("device", "depth", "width", "expected"),
    [
        (LFE5U_85F, 16384, 1, (1, 0)),  # one DP16KD as 16384 x 1
        (LFE5U_85F, 512, 64, (2, 0)),  # two 512 x 36
        (ICE40UP5K, 8192, 1, (4, 0)),  # four 2048 x 2 (one bit used)
        (ICE40UP5K, 256, 32, (2, 0)),  # two 256 x 16
        (XC7Z020, 1024, 72, (2, 0)),  # 1024 x 36 twice
        (LFE5U_85F, 64, 8, (0, 32)),  # small: 4 LUT4s of 16 entries per bit
        (XC7Z020, 64, 8, (0, 8)),  # small: one LUT6 of 64 entries per bit
    ],
)
def test_memory_cost(device, depth: int, width: int, expected: tuple[int, int]) -> None:
    assert memory_cost(depth, width, device) == expected


def test_adder_tree() -> None:
    assert adder_tree_luts(1, 2) == 0
    assert adder_tree_luts(2, 2) == 3
    assert adder_tree_luts(4, 2) == 2 * 3 + 4


def test_estimate_grows_with_parallelism() -> None:
    net = random_mlp(np.random.default_rng(0), 784, (64, 64, 64), 10)
    top = max_cycles(net)
    estimates = [estimate(net, choose_folding(net, top // 4**k), LFE5U_85F) for k in range(5)]
    luts = [e.luts for e in estimates]
    lanes = [e.lanes for e in estimates]
    assert lanes == sorted(lanes) and lanes[0] < lanes[-1]
    assert luts == sorted(luts) and luts[-1] > 2 * luts[0]
    assert all(e.brams >= 1 for e in estimates)
    assert estimates[0].initiation_interval == top
    assert estimates[-1].frames_per_second(100) == pytest.approx(
        100e6 / estimates[-1].initiation_interval
    )
