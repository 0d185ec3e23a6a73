"""Methods that own the forward weights or their initialisation: BinaryRelax, ADMM, BWNH and
CBCN, against hand computations on tiny tensors."""

from __future__ import annotations

import math

import pytest
import torch
from brevitas.nn import QuantConv2d

from hwbnn.errors import ConfigError
from hwbnn.nn.quantizers import BinaryWeightQuant
from hwbnn.train.methods import build_method
from hwbnn.train.methods.admm import project_scaled_binary
from hwbnn.train.methods.binaryrelax import relaxed_weights
from hwbnn.train.methods.bwnh import hash_scales, hash_weights, hashing_objective
from hwbnn.train.methods.cbcn import expand_circulant, make_circulant, materialize, rotate


def test_binaryrelax_relaxed_weights_and_gradient() -> None:
    w = torch.tensor([0.5, -0.2, 0.0], requires_grad=True)
    u = relaxed_weights(w, eta=1.0)
    # (eta Q(w) + w) / (1 + eta) with Q(w) = (+1, -1, +1): sign(0) = +1
    assert torch.allclose(u, torch.tensor([0.75, -0.6, 0.5]))
    (u * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert torch.equal(w.grad, torch.tensor([1.0, 2.0, 3.0]))  # dL/dw = dL/du


def test_binaryrelax_schedule() -> None:
    method = build_method("binaryrelax", ["eta0=2", "growth=1.5", "exact_fraction=0.25"])
    assert [method.eta_at(t) for t in range(3)] == [2.0, 3.0, 4.5]
    assert method.relaxed_epochs(8) == 6  # epochs 6 and 7 are exact
    default = build_method("binaryrelax")
    assert default.eta_at(2) == pytest.approx(1.04**2)


def test_admm_projection_dual_update_and_penalty() -> None:
    method = build_method("admm", ["rho=2"])
    w = torch.tensor([0.5, -0.1, 0.3], requires_grad=True)
    method._weights = [w]
    method.lam = [torch.zeros(3)]
    method.G = [project_scaled_binary(w.detach())]
    # alpha = mean |w| = 0.3
    assert torch.allclose(method.G[0], torch.tensor([0.3, -0.3, 0.3]))
    method.update()  # G = alpha sign(W + lambda) (unchanged), lambda = W - G
    assert torch.allclose(method.lam[0], torch.tensor([0.2, 0.2, 0.0]))
    penalty = method.penalty()  # (rho / 2) ||W - G + lambda||^2 = ||(0.4, 0.4, 0)||^2
    assert penalty.item() == pytest.approx(0.32)
    penalty.backward()
    assert torch.allclose(w.grad, torch.tensor([0.8, 0.8, 0.0]))  # rho (W - G + lambda)


def test_bwnh_scale_formula() -> None:
    big_q = torch.tensor([[2.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
    w = torch.tensor([[0.3], [-0.1]], dtype=torch.float64)
    b = torch.tensor([[1.0], [-1.0]], dtype=torch.float64)
    # a = b^T Q w / b^T Q b = (0.5 - 0.2) / 1
    assert hash_scales(big_q @ w, big_q, b).item() == pytest.approx(0.3)


def test_bwnh_coordinate_descent_flips_a_bit_by_hand() -> None:
    # X X^T = [[1, 0.9], [0.9, 1]]; w = (1, -0.05); q = Q w = (0.955, 0.85)
    x = torch.tensor([[1.0, 0.0], [0.9, math.sqrt(0.19)]], dtype=torch.float64)
    w = torch.tensor([[1.0], [-0.05]], dtype=torch.float64)
    # start b = sign(w) = (1, -1): a = 0.105 / 0.2 = 0.525; bit 0: sign(0.955 + 0.525 * 0.9) = +1;
    # bit 1: sign(0.85 - 0.525 * 0.9) = +1 (flips); then a = 1.805 / 3.8 = 0.475
    b, a = hash_weights(x, w, sweeps=1)
    assert b.flatten().tolist() == [1.0, 1.0]
    assert a.item() == pytest.approx(0.475)
    start = hashing_objective(
        x,
        w,
        torch.tensor([[1.0], [-1.0]], dtype=torch.float64),
        torch.tensor([0.525], dtype=torch.float64),
    )
    assert hashing_objective(x, w, b, a) < start


def test_cbcn_rotation_by_hand() -> None:
    k = torch.arange(1.0, 10.0).reshape(3, 3)
    assert rotate(k, 1).tolist() == [[4, 1, 2], [7, 5, 3], [8, 9, 6]]  # 45 degrees clockwise
    assert torch.equal(rotate(k, 2), torch.rot90(k, -1))  # 90 degrees clockwise
    assert torch.equal(rotate(k, 8), k)


def test_cbcn_expansion_and_circulant_gradient() -> None:
    base = torch.arange(1.0, 19.0).reshape(2, 1, 3, 3).requires_grad_(True)
    w = expand_circulant(base, copies=4)
    assert w.shape == (8, 1, 3, 3)
    for k in range(2):
        for m in range(4):
            assert torch.equal(w[4 * k + m, 0], torch.rot90(base[k, 0], -m).detach())
    upstream = torch.randn(8, 1, 3, 3)
    (w * upstream).sum().backward()
    # dL/dB_k = sum_m R^{-2m}(dL/dW_{4k+m}): rotate each copy's gradient back
    for k in range(2):
        hand = sum(torch.rot90(upstream[4 * k + m, 0], m) for m in range(4))
        assert torch.allclose(base.grad[k, 0], hand)


def test_cbcn_on_a_tiny_conv_layer_deploys_as_plain_conv() -> None:
    conv = QuantConv2d(1, 4, 3, bias=False, weight_quant=BinaryWeightQuant)
    layers = make_circulant(conv, copies=4)
    original = conv.parametrizations.weight.original
    assert original.shape == (1, 1, 3, 3)
    expected = expand_circulant(original.detach(), 4)
    x = torch.randn(2, 1, 5, 5)
    reference = torch.nn.functional.conv2d(x, torch.where(expected >= 0, 1.0, -1.0))
    assert torch.equal(conv(x), reference)
    materialize(layers)
    assert isinstance(conv.weight, torch.nn.Parameter) and conv.weight.shape == (4, 1, 3, 3)
    assert torch.equal(conv.weight.detach(), expected)
    assert torch.equal(conv(x), reference)


def test_cbcn_needs_convolutions() -> None:
    with pytest.raises(ConfigError, match="no 3x3 binary convolutions"):
        make_circulant(torch.nn.Sequential(torch.nn.Linear(2, 2)), 4)
    conv = QuantConv2d(1, 6, 3, bias=False, weight_quant=BinaryWeightQuant)
    with pytest.raises(ConfigError, match="6 output channels, not a multiple of copies=4"):
        make_circulant(conv, 4)
