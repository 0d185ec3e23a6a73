"""CI-BCNN channel interactions (hwbnn.nn.ci_bcnn): the rule on a 4-channel example by hand
(deadzone, topological order, sign, magnitude), its level matrices, the straight-through
gradient, the checks of a graph, and the conv-net config field."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from hwbnn.nn import ConvConfig, build_model, model_config
from hwbnn.nn.ci_bcnn import ChannelInteraction, InteractionGraph, channel_levels, grid_value

# 3 -> 0 (-), 0 -> 1 (+), 1 -> 2 (-), 0 -> 2 (-): levels 0: {3}, 1: {0}, 2: {1}, 3: {2}
EXAMPLE = InteractionGraph(4, ((3, 0, -1), (0, 1, 1), (1, 2, -1), (0, 2, -1)), 2, 3)
# two pixels (N=2, C=4): the first crosses the deadzone everywhere, the second nowhere
Y = np.array([[1, -2, 5, 4], [1, 0, 0, 1]]).reshape(2, 4, 1, 1)
# pixel 0 by hand, m = 2, c = 3, in topological order:
#   Y'3 = 4                                  t(4) = +1
#   Y'0 = 1 - 3 t(Y'3) = -2                  t(-2) = -1 (the deadzone's edge counts)
#   Y'1 = -2 + 3 t(Y'0) = -5                 t(-5) = -1 (t of the raw Y0 = 1 would be 0)
#   Y'2 = 5 - 3 t(Y'1) - 3 t(Y'0) = 11       (with the raw Y0, Y1: 5 + 3 + 0 = 8)
# pixel 1: t(1) = t(0) = 0 for every source, so nothing changes
EXPECTED = np.array([[-2, -5, 11, 4], [1, 0, 0, 1]]).reshape(2, 4, 1, 1)


def test_four_channel_example_by_hand() -> None:
    assert channel_levels(EXAMPLE.signs()).tolist() == [1, 2, 3, 0]
    assert np.array_equal(EXAMPLE.apply(Y), EXPECTED)
    layer = ChannelInteraction(4, 1, 1)
    layer.set_graph(EXAMPLE)
    assert layer.graph() == InteractionGraph.from_signs(EXAMPLE.signs(), 2, 3)
    for training in (False, True):  # the straight-through path computes the same forward
        layer.train(training)
        out = layer(torch.tensor(Y, dtype=torch.float32, requires_grad=training))
        assert np.array_equal(out.detach().numpy(), EXPECTED)


def test_level_matrices_by_hand() -> None:
    w1, w2, w3 = EXAMPLE.level_matrices()  # W_k[j, i] = c * s_ij for edges into level k
    assert w1.tolist() == [[0, 0, 0, -3], [0] * 4, [0] * 4, [0] * 4]
    assert w2.tolist() == [[0] * 4, [3, 0, 0, 0], [0] * 4, [0] * 4]
    assert w3.tolist() == [[0] * 4, [0] * 4, [-3, -3, 0, 0], [0] * 4]
    assert InteractionGraph(4, (), 2, 3).level_matrices() == []


def test_straight_through_gradient() -> None:
    # edge 0 -> 1 (+), m = 2, c = 3: dY'1/dY0 = c / m where |Y0| <= m, else 0; dY'1/dY1 = 1
    layer = ChannelInteraction(2, 1, 1)
    layer.set_graph(InteractionGraph(2, ((0, 1, 1),), 2, 3))
    layer.train()
    y = torch.tensor([[[[1.0, 5.0]], [[0.0, 0.0]]]], requires_grad=True)  # (1, 2, 1, 2)
    layer(y)[:, 1].sum().backward()
    assert y.grad is not None
    assert y.grad[0, :, 0].tolist() == [[1.5, 0.0], [1.0, 1.0]]


@pytest.mark.parametrize(
    ("edges", "message"),
    [
        (((0, 1, 1), (1, 2, 1), (2, 0, -1)), "cycle through channel"),
        (((0, 1, 1), (0, 1, -1)), "given twice"),
        (((1, 1, 1),), "bad edge"),
        (((0, 1, 2),), "bad edge"),
        (((0, 3, 1),), "bad edge"),
    ],
)
def test_bad_graphs_are_refused(edges, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        InteractionGraph(3, edges, 1, 1)


def test_config_field_builds_interaction_layers() -> None:
    base = model_config("digits-cnn", (1, 8, 8), 10, 17, 5)
    config = dataclasses.replace(base, ci_deadzone=0.25, ci_magnitude=0.125)
    assert ConvConfig.from_dict(config.to_dict()) == config  # what a checkpoint stores
    layers = [m for m in build_model(config).modules() if isinstance(m, ChannelInteraction)]
    # fan-ins 1*3*3 = 9 and 16*3*3 = 144: m = round(0.25 N), c = round(0.125 N), at least 1
    assert [(g.channels, g.deadzone, g.magnitude) for g in (m.graph() for m in layers)] == [
        (16, 2, 1),
        (16, 36, 18),
        (32, 36, 18),
    ]
    assert (grid_value(0.01, 9), grid_value(0.5, 9)) == (1, 5)  # floor(4.5 + 0.5) = 5
    assert not any(isinstance(m, ChannelInteraction) for m in build_model(base).modules())
    with pytest.raises(ValueError, match="DBF scales them"):
        dataclasses.replace(config, dbf_bases=8)
    with pytest.raises(ValueError, match=r"fractions of the fan-in in \(0, 1\]"):
        dataclasses.replace(base, ci_magnitude=0.1, ci_deadzone=0.0)
