"""Random conv nets: valid IR with the requested geometry, and not degenerate."""

from __future__ import annotations

import numpy as np
import pytest

from hwbnn.ir.types import MatrixVector, MaxPool, SlidingWindow
from hwbnn.reference import Reference
from hwbnn.sim.random_nets import ConvSpec, random_conv_net


@pytest.mark.parametrize("binarize", [True, False])
def test_random_conv_net_geometry_and_variety(binarize):
    rng = np.random.default_rng(1)
    convs = [ConvSpec(4, 3, 1, 1), ConvSpec(8, 3, 2, 0, pool=2)]
    net = random_conv_net(rng, (2, 9, 9), convs, [16], 5, binarize_input=binarize)
    kinds = [type(layer) for layer in net.layers if not binarize or layer.name != "input_threshold"]
    assert (
        kinds
        == [SlidingWindow, MatrixVector, SlidingWindow, MatrixVector, MaxPool] + [MatrixVector] * 2
    )
    swg1 = net.layers[-5]
    assert isinstance(swg1, SlidingWindow) and swg1.out_shape == (4, 4, 36)
    assert net.layers[0].kind.value == ("input_threshold" if binarize else "sliding_window")
    codes = rng.integers(0, 256, (40, 2 * 9 * 9))
    acc = Reference(net).run_codes(codes).accumulators
    assert len(np.unique(acc, axis=0)) > 5
