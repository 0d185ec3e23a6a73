"""PC-DARTS' partial channels, channel shuffle and edge normalisation on stand-in operations."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from hwbnn.search.partial import (
    PartialMixedOp,
    channel_shuffle,
    edge_weights,
    masked_softmax,
    node_edge_ranges,
)


class Scale(nn.Module):
    def __init__(self, factor: float, stride: int = 1) -> None:
        super().__init__()
        self.factor, self.stride = factor, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.factor * x[:, :, :: self.stride, :: self.stride]


class Refuse(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise AssertionError("an abandoned operation ran")


def channels_valued(c: int, size: int = 2) -> torch.Tensor:
    """(1, c, size, size) with channel i filled with i + 1."""
    return torch.arange(1.0, c + 1).view(1, c, 1, 1).expand(1, c, size, size).clone()


def test_channel_shuffle():
    x = channels_valued(6, 1)
    # 3 groups of 2: channel g * 2 + r -> r * 3 + g: order 1, 3, 5, 2, 4, 6
    assert channel_shuffle(x, 3).flatten().tolist() == [1, 3, 5, 2, 4, 6]
    assert torch.equal(channel_shuffle(x, 1), x)


def test_partial_channels_go_through_ops_and_the_rest_bypasses():
    x = channels_valued(4)
    mixed = PartialMixedOp([Scale(1.0), Scale(2.0), None], channels=4, k=2, stride=1)
    w = torch.tensor([0.25, 0.75, 0.0])
    y = mixed(x, w)
    # channels 1, 2 (values 1, 2) through 0.25 x + 0.75 * 2x = 1.75 x -> 1.75, 3.5;
    # channels 3, 4 bypass; concat (1.75, 3.5, 3, 4), shuffled in 2 groups: (1.75, 3, 3.5, 4)
    assert y.shape == x.shape
    assert y[0, :, 0, 0].tolist() == [1.75, 3.0, 3.5, 4.0]


def test_k1_is_the_darts_mixed_op():
    x = torch.randn(2, 4, 3, 3)
    ops = [Scale(1.0), Scale(-3.0), None]
    w = torch.tensor([0.5, 0.2, 0.3])
    y = PartialMixedOp(ops, channels=4, k=1, stride=1)(x, w)
    assert torch.allclose(y, 0.5 * x + 0.2 * (-3.0 * x))


def test_reduction_edge_pools_the_bypass_and_halves_the_image():
    x = torch.arange(32.0).view(1, 2, 4, 4)
    mixed = PartialMixedOp([Scale(1.0, 2)], channels=2, k=2, stride=2)
    y = mixed(x, torch.tensor([1.0]))
    assert y.shape == (1, 2, 2, 2)
    assert torch.equal(y[0, 0], x[0, 0, ::2, ::2])  # the op's output (channel 0)
    assert torch.equal(y[0, 1], nn.functional.max_pool2d(x[:, 1:], 2, 2)[0, 0])


def test_abandoned_and_zero_ops_do_not_run_and_sampling_runs_one():
    x = channels_valued(2)
    mixed = PartialMixedOp([Scale(1.0), Refuse(), Scale(5.0)], channels=2, k=1, stride=1)
    y = mixed(x, torch.tensor([0.4, 0.0, 0.6]))
    assert torch.allclose(y, 0.4 * x + 0.6 * 5.0 * x)
    assert torch.equal(mixed(x, torch.tensor([0.4, 0.0, 0.6]), sample=2), 5.0 * x)
    only_zero = PartialMixedOp([None], channels=2, k=1, stride=2)
    assert torch.equal(only_zero(x, torch.tensor([1.0])), torch.zeros(1, 2, 1, 1))


def test_k_must_divide_channels():
    with pytest.raises(ValueError):
        PartialMixedOp([Scale(1.0)], channels=6, k=4, stride=1)


def test_edge_normalisation_per_node():
    assert [list(r) for r in node_edge_ranges(3)] == [[0, 1], [2, 3, 4], [5, 6, 7, 8]]
    beta = torch.tensor([0.0, 0.0, 0.0, 0.0, 0.0])
    assert torch.allclose(edge_weights(beta, 2), torch.tensor([0.5, 0.5, 1 / 3, 1 / 3, 1 / 3]))
    beta = torch.tensor([0.0, float(torch.log(torch.tensor(3.0))), 0.0, 0.0, 0.0])
    assert torch.allclose(edge_weights(beta, 2)[:2], torch.tensor([0.25, 0.75]))


def test_masked_softmax_gives_abandoned_ops_no_weight():
    alpha = torch.tensor([[0.0, 0.0, 7.0]])
    active = torch.tensor([[True, True, False]])
    assert torch.equal(masked_softmax(alpha, active), torch.tensor([[0.5, 0.5, 0.0]]))
