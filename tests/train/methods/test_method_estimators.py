"""Sign estimators: forward sign, gradient rules against hand computations (autograd through a
Brevitas binary activation with the estimator swapped in)."""

from __future__ import annotations

import math

import pytest
import torch
from brevitas.nn import QuantIdentity

from hwbnn.nn.quantizers import BinaryActQuant
from hwbnn.train.methods import build_method
from hwbnn.train.methods.hooks import swap_sign_estimator

X = [-1.5, -1.0, -0.5, 0.0, 0.25, 0.75, 1.0, 2.0]


def _forward_backward(gradient_rule) -> tuple[torch.Tensor, torch.Tensor]:
    act = QuantIdentity(act_quant=BinaryActQuant)
    restore = swap_sign_estimator(act, gradient_rule) if gradient_rule else None
    x = torch.tensor(X, requires_grad=True)
    y = act(x)
    y.sum().backward()
    if restore:
        restore()
    assert x.grad is not None
    return y.detach(), x.grad


def test_forward_is_the_hardware_sign_for_every_estimator() -> None:
    expected = torch.tensor([-1.0, -1, -1, 1, 1, 1, 1, 1])  # sign(0) = +1
    for name in ("ste", "approxsign", "swishsign"):
        y, _ = _forward_backward(build_method(name).gradient)
        assert torch.equal(y, expected), name


def test_clipped_ste_gradient_equals_brevitas_default() -> None:
    _, ours = _forward_backward(build_method("ste").gradient)
    _, brevitas = _forward_backward(None)
    hand = torch.tensor([0.0, 1, 1, 1, 1, 1, 1, 0])  # 1 where |x| <= 1
    assert torch.equal(ours, hand)
    assert torch.equal(brevitas, hand)


def test_approxsign_gradient() -> None:
    _, grad = _forward_backward(build_method("approxsign").gradient)
    hand = torch.tensor([0.0, 0.0, 1.0, 2.0, 1.5, 0.5, 0.0, 0.0])  # 2 - 2|x| inside (-1, 1)
    assert torch.equal(grad, hand)


def test_swishsign_gradient_by_hand_and_as_derivative_of_swishsign() -> None:
    method = build_method("swishsign", ["beta=2"])
    _, grad = _forward_backward(method.gradient)
    b = 2.0
    for x, g in zip(X, grad.tolist(), strict=True):
        hand = b * (2 - b * x * math.tanh(b * x / 2)) / (1 + math.cosh(b * x))
        assert g == pytest.approx(hand, rel=1e-6)
    assert grad[3].item() == pytest.approx(b)  # b at x = 0
    # the rule is the derivative of SS_b(x) = 2 s(bx) (1 + bx (1 - s(bx))) - 1
    x = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    s = torch.sigmoid(b * x)
    (2 * s * (1 + b * x * (1 - s)) - 1).sum().backward()
    assert torch.allclose(method.gradient(x.detach()), x.grad, rtol=1e-12, atol=1e-12)


def test_estimator_swap_is_undone_by_finish() -> None:
    act = QuantIdentity(act_quant=BinaryActQuant)
    tensor_quant = act.act_quant.fused_activation_quant_proxy.tensor_quant
    original = tensor_quant.tensor_clamp_impl
    restore = swap_sign_estimator(act, build_method("approxsign").gradient)
    assert tensor_quant.tensor_clamp_impl is not original
    restore()
    assert tensor_quant.tensor_clamp_impl is original
