"""Loss terms against hand computations: distribution loss, weight quantization loss,
projection / kernel loss with centre loss, knowledge distillation."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from hwbnn.train.methods import build_method
from hwbnn.train.methods.base import Batch
from hwbnn.train.methods.distill import kd_loss
from hwbnn.train.methods.distribution_loss import distribution_loss, distribution_terms
from hwbnn.train.methods.projection_loss import center_loss, projection_error, update_centers
from hwbnn.train.methods.wq_loss import quantization_error


def test_distribution_terms_by_hand() -> None:
    # channel 0: values (1, 3): mu 2, sigma 1; channel 1: (-1, 1): mu 0, sigma 1;
    # channel 2: (0.1, -0.1): mu 0, sigma 0.1; channel 3: (0, 10): mu 5, sigma 5
    a = torch.tensor([[1.0, -1.0, 0.1, 0.0], [3.0, 1.0, -0.1, 10.0]])
    m, s, d = distribution_terms(a)
    mu = torch.tensor([2.0, 0.0, 0.0, 5.0])
    sigma = torch.tensor([1.0, 1.0, 0.1, 5.0])
    # the authors' form of the mismatch term: min(2 - mu - sigma, 2 + mu - sigma) clamped at 0
    by_code = torch.minimum(2 - mu - sigma, 2 + mu - sigma).clamp(min=0) ** 2
    assert torch.allclose(m, by_code)
    assert torch.allclose(m, torch.tensor([0.0, 1.0, 3.61, 0.0]))  # ReLU(2 - |mu| - sigma)^2
    assert torch.allclose(s, torch.tensor([0.0, 0.0, 0.0, 1.0]))  # ReLU(sigma - 4)^2
    assert torch.allclose(d, torch.tensor([3.0, 0.0, 0.0, 0.0]))  # ReLU(mu^2 - sigma^2)
    # layers averaged: (1.1525 + 0.25 + 0.75) for all four channels, (0.5 + 0 + 1.5) for two
    total = distribution_loss([a, a[:, :2]])
    assert total.item() == pytest.approx((2.1525 + 2.0) / 2, rel=1e-6)


def test_distribution_terms_of_conv_maps_pool_over_positions() -> None:
    a = torch.tensor([1.0, 3.0]).reshape(1, 1, 1, 2)  # one channel, two positions: mu 2, sigma 1
    _, _, d = distribution_terms(a)
    assert d.tolist() == pytest.approx([3.0])


def test_distribution_loss_stops_after_its_epochs() -> None:
    method = build_method("distribution_loss", ["lam=0.5", "epochs=2"])
    a = torch.tensor([[1.0, -1.0], [3.0, 1.0]])
    batch = Batch(a, torch.zeros(2, dtype=torch.long), a)
    ctx = SimpleNamespace(epoch=1)
    method._store[:] = [a]
    assert method.loss(ctx, batch).item() == pytest.approx(0.5 * (0.5 + 0 + 1.5))
    ctx.epoch = 2  # the third epoch: no loss, and the captured activations are dropped
    method._store[:] = [a]
    assert method.loss(ctx, batch) is None
    assert method._store == []


def test_weight_quantization_loss_and_gradient() -> None:
    w = torch.tensor([[0.5, -0.25], [1.0, 0.0]], requires_grad=True)
    # alpha = (0.375, 0.5); W - alpha sign(W) = ((0.125, 0.125), (0.5, -0.5)) (sign(0) = +1)
    err = quantization_error(w)
    assert err.item() == pytest.approx(0.53125)
    err.backward()
    assert torch.allclose(w.grad, torch.tensor([[0.25, 0.25], [1.0, -1.0]]))


def test_projection_loss_and_scale_gradient() -> None:
    w = torch.tensor([[0.5, -0.25]], requires_grad=True)
    c = torch.tensor(0.5, requires_grad=True)
    err = projection_error(w, c)  # (0.5 - 0.5)^2 + (-0.25 + 0.5)^2
    assert err.item() == pytest.approx(0.0625)
    err.backward()
    # d/dC = -2 sum (W - C sign W) sign W = -2 * (0 * 1 + 0.25 * -1)
    assert c.grad.item() == pytest.approx(0.5)
    assert torch.allclose(w.grad, torch.tensor([[0.0, 0.5]]))


def test_center_loss_and_update() -> None:
    features = torch.tensor([[1.0, 1.0], [-1.0, 1.0], [1.0, -1.0]])
    labels = torch.tensor([0, 0, 1])
    centers = torch.zeros(2, 2)
    # (1/2) mean ||f_i - c_{y_i}||^2 = (1/2) * (2 + 2 + 2) / 3
    assert center_loss(features, labels, centers).item() == pytest.approx(1.0)
    update_centers(features, labels, centers, rate=0.5)
    # class 0: delta = ((0 - 1) + (0 + 1), (0 - 1) + (0 - 1)) / 3 = (0, -2/3)
    assert torch.allclose(centers[0], torch.tensor([0.0, 1 / 3]))
    # class 1: delta = (-1, 1) / 2
    assert torch.allclose(centers[1], torch.tensor([0.25, -0.25]))


def test_projection_loss_method_scales_are_trained_parameters() -> None:
    from hwbnn.train.methods.base import TrainContext

    method = build_method("projection_loss", ["lam=2", "scale=scalar"])
    layer = torch.nn.Sequential()
    from brevitas.nn import QuantLinear

    from hwbnn.nn.quantizers import BinaryWeightQuant

    linear = QuantLinear(2, 1, bias=False, weight_quant=BinaryWeightQuant)
    with torch.no_grad():
        linear.weight.copy_(torch.tensor([[0.5, -0.25]]))
    layer.append(linear)
    ctx = TrainContext(layer, None, None, None, epochs=1, steps_per_epoch=1)
    method.setup(ctx)
    assert [p.item() for p in method.parameters()] == [0.375]  # c starts at mean |W|
    batch = Batch(torch.zeros(1), torch.zeros(1), torch.zeros(1))
    # lam/2 * ((0.5 - 0.375)^2 + (-0.25 + 0.375)^2)
    assert method.loss(ctx, batch).item() == pytest.approx(0.03125)


def test_distillation_loss_by_hand() -> None:
    student = torch.tensor([[0.0, 0.0]])
    teacher = torch.tensor([[math.log(3.0), 0.0]])  # softmax (0.75, 0.25)
    kl = 0.75 * math.log(0.75 / 0.5) + 0.25 * math.log(0.25 / 0.5)
    assert kd_loss(student, teacher, 1.0).item() == pytest.approx(kl, rel=1e-6)
    # T = 2 on logits scaled by 2: same distributions, times T^2
    assert kd_loss(2 * student, 2 * teacher, 2.0).item() == pytest.approx(4 * kl, rel=1e-6)
    assert kd_loss(teacher, teacher, 3.0).item() == pytest.approx(0.0, abs=1e-7)
