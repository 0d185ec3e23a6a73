"""hwbnn.nn.dbf: a DBF layer's integer output is its output without the power-of-two scales."""

from __future__ import annotations

import torch

from hwbnn.nn.dbf import BasisCodes, DBFLinear


def test_integer_dot_drops_the_power_of_two_scales() -> None:
    torch.manual_seed(0)
    layer = DBFLinear(16, 4, bases=8, alpha_bits=4, codes=BasisCodes.OVSF).eval()
    with torch.no_grad():  # max |alpha| per channel 0.3: s_c = 2^ceil(log2 0.3) / 2^3 = 1/16
        alpha = torch.rand(4, 8) * 0.6 - 0.3
        alpha[:, 0] = 0.3
        layer.combine.weight.copy_(alpha)
    x = torch.where(torch.rand(5, 16) < 0.5, -1.0, 1.0)
    with torch.no_grad():
        d = layer.basis(x)  # exact integers
        q = torch.clamp(torch.round(alpha * 16), -7, 7)
        expected = d @ q.T
        assert torch.equal(layer.integer_dot(x), expected)
        assert torch.equal(layer(x), expected / 16)  # what torch's forward gives
