"""The estimate of the majority pool (hwbnn_window_majority after a padded sliding window):
the fitted unit cost against the recorded synth_ecp5 counts, the folding chooser pricing it
with the device estimate, and a plan's estimate counting it."""

from __future__ import annotations

import numpy as np
import pytest

from hwbnn.fpga.boards import LFE5U_85F
from hwbnn.fpga.estimate import estimate, estimate_unit, majority_cost
from hwbnn.fpga.estimate_cost import estimate_cost, unit_of
from hwbnn.ir.folding import LayerFolding, choose_folding, initiation_interval
from hwbnn.ir.types import MajorityPool
from hwbnn.plan import UnitKind, build_plan
from hwbnn.plan.build import majority_unit
from hwbnn.sim.random_nets import ConvSpec, random_conv_net

#: yosys 0.70 (YoWASP) synth_ecp5 of rtl/hwbnn_window_majority.v out of context, K = 3,
#: thresholds 5: (C, SIMD, LUT4 + 2 per CCU2C, TRELLIS_FF)
SYNTH = [
    (8, 2, 59, 42),
    (16, 2, 60, 75),
    (16, 4, 101, 76),
    (8, 8, 187, 47),
    (64, 16, 363, 280),
    (32, 32, 709, 167),
    (4, 12, 117, 25),  # SIMD = 3*C: 3 window positions per beat
    (4, 36, 217, 24),  # a whole window per beat
]


@pytest.mark.parametrize(("c", "simd", "luts", "ffs"), SYNTH)
def test_unit_cost_is_close_to_synthesis(c: int, simd: int, luts: int, ffs: int) -> None:
    pool = MajorityPool("maj", (8, 8, c), 3, 1, (1, 1, 1, 1), np.full(c, 5))
    got_luts, got_ffs = majority_cost(majority_unit(0, pool, LayerFolding(1, simd), 0))
    assert -0.10 <= (got_luts - luts) / luts <= 0.10
    assert abs(got_ffs - ffs) <= 4


def _net():
    convs = [ConvSpec(8, 3, 1, 1, majority=1), ConvSpec(16, 3, 1, 1, majority=2)]
    return random_conv_net(np.random.default_rng(2), (1, 8, 8), convs, (), 10, 17)


def test_the_chooser_prices_majority_pools() -> None:
    net = _net()
    pool = next(la for la in net.layers if isinstance(la, MajorityPool))
    cost = estimate_cost(net, LFE5U_85F)
    cheap, wide = cost(pool, LayerFolding(1, 1)), cost(pool, LayerFolding(1, 8))
    assert cheap[0] < wide[0]
    unit = unit_of(net, pool, LayerFolding(1, 8))
    assert unit is not None and unit.kind is UnitKind.MAJORITY_POOL
    assert cost(pool, LayerFolding(1, 8)) == (
        estimate_unit(unit, LFE5U_85F).luts,
        estimate_unit(unit, LFE5U_85F).brams,
    )
    folding = choose_folding(net, 300, cost)
    assert initiation_interval(net, folding) <= 300


def test_plan_estimate_counts_the_pools() -> None:
    net = _net()
    folding = choose_folding(net, 300)
    plan = build_plan(net, folding)
    est = estimate(net, folding, LFE5U_85F)
    pools = [u for u in plan.units if u.kind is UnitKind.MAJORITY_POOL]
    assert len(pools) == 2
    for u in pools:  # the window generator, the pool and (in the plan) its FIFO
        layer = next(la for la in est.layers if la.name == u.name)
        alone = estimate_unit(u, LFE5U_85F)
        assert layer.luts >= alone.luts > majority_cost(u)[0]
        assert layer.ffs >= alone.ffs > majority_cost(u)[1]
