"""A conv net whose sliding windows emit several window positions per beat (SIMD = m*C, m > 1),
end to end in the fast Verilator engine (hwbnn.sim.fast): the generated top is exact against
the reference under random gaps and backpressure, and its measured cycles per frame are the
analytical interval."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hwbnn.codegen import write_build
from hwbnn.ir.folding import Folding, LayerFolding, check_folding, initiation_interval
from hwbnn.ir.types import SlidingWindow
from hwbnn.sim.random_nets import ConvSpec, random_conv_net
from hwbnn.sim.runner import simulator_available
from hwbnn.sim.top import SimConfig
from hwbnn.verify.rtl import verify_rtl


@pytest.mark.verilator
@pytest.mark.skipif(not simulator_available("verilator"), reason="verilator not found")
def test_conv_net_with_window_positions_per_beat_is_exact(tmp_path: Path) -> None:
    # 8-bit (3, 8, 8) codes into a padded 3x3 conv (window m = 9: a whole window per beat),
    # a 3x3 conv (window m = 3: a window row per beat) with a 2x2 OR pool (m = 4), a dense head.
    convs = (ConvSpec(4, 3, 1, 1), ConvSpec(8, 3, 1, 0, pool=2))
    net = random_conv_net(np.random.default_rng(5), (3, 8, 8), convs, (), 4, 256, False)
    names = [layer.name for layer in net.layers]
    folds = {"swg0": (1, 27), "conv0": (4, 27), "swg1": (1, 12), "conv1": (8, 12)}
    folds |= {"pool1": (1, 32), "fc0": (4, 72)}  # the pool's window: m = 4, a whole window
    folding = Folding(tuple(LayerFolding(*folds[n]) for n in names))
    check_folding(net, folding)
    windows = [layer for layer in net.layers if isinstance(layer, SlidingWindow)]
    assert [layer.channels for layer in windows] == [3, 4]  # so SIMD 27 and 12 are m = 9, 3
    build = tmp_path / "mmv"
    write_build(net, folding, build)
    rng = np.random.default_rng(6)
    codes = rng.integers(0, 256, (12, net.input.elements))
    cfg = SimConfig(seed=3, gap_prob=0.3, backpressure_prob=0.4, ii_frames=8, fast=True)
    record = verify_rtl(build, codes, cfg)
    assert record.ok, record.problem
    assert record.engine == "verilator-fast" and record.frames == 12
    assert record.details["ii_within_tolerance"], record.details
    # swg0: 64 pixels in, 64 windows out; swg1: 64 pixels in, 36 windows of 3 beats out
    assert initiation_interval(net, folding) == 108
