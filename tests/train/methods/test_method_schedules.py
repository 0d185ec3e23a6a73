"""Schedules and model variants: Alizadeh et al.'s two stages, the BatchNorm variants, the
full-precision baseline."""

from __future__ import annotations

import math

import pytest
import torch

from hwbnn.nn.mlp import BinaryMLP, MeanCenter, MLPConfig
from hwbnn.train.methods import build_method
from hwbnn.train.methods.base import TrainContext
from hwbnn.train.trainer import TrainConfig


def test_two_stage_plateau_rule() -> None:
    method = build_method("two_stage", ["patience=2", "min_delta=0.01"])
    # best 1.0; 0.5 < 0.99 improves; 0.499 and 0.498 are not below 0.495: two stale epochs
    assert [method.plateau(v) for v in (1.0, 0.5, 0.499, 0.498)] == [False, False, False, True]


def test_two_stage_learning_rate_and_clipping() -> None:
    method = build_method("two_stage", ["lr_factor=10", "patience=1", "max_fraction=0.5"])
    model = torch.nn.Linear(1, 1)
    ctx = TrainContext(model, None, None, TrainConfig(lr=0.01), epochs=10, steps_per_epoch=10)
    method.setup(ctx)
    assert ctx.clip_weights is False
    assert method.learning_rate(ctx) == pytest.approx(0.1)  # stage 1: lr * lr_factor
    ctx.step = 10
    method.on_epoch_end(ctx, {"train_loss": 1.0})  # the first loss sets the best
    assert method.stage == 1
    ctx.epoch, ctx.step = 1, 20
    method.on_epoch_end(ctx, {"train_loss": 1.0})  # stalled once: a plateau with patience 1
    assert method.stage == 2 and method.switch_step == 20 and ctx.clip_weights is True
    # stage 2: cosine from lr to lr/100 over the 80 remaining steps
    assert method.learning_rate(ctx) == pytest.approx(0.01)
    ctx.step = 60
    assert method.learning_rate(ctx) == pytest.approx(0.0001 + (0.01 - 0.0001) / 2)
    ctx.step = 99
    expected = 0.0001 + (0.01 - 0.0001) * (1 + math.cos(math.pi * 79 / 80)) / 2
    assert method.learning_rate(ctx) == pytest.approx(expected)


def test_two_stage_switches_at_max_fraction_without_plateau() -> None:
    method = build_method("two_stage", ["max_fraction=0.5"])
    ctx = TrainContext(torch.nn.Linear(1, 1), None, None, TrainConfig(), 4, 10)
    for epoch, loss in enumerate([1.0, 0.5]):
        ctx.epoch, ctx.step = epoch, 10 * (epoch + 1)
        method.on_epoch_end(ctx, {"train_loss": loss})
    assert method.stage == 2 and method.switch_step == 20


def test_mean_center_train_and_eval() -> None:
    center = MeanCenter(2)
    with torch.no_grad():
        center.bias.copy_(torch.tensor([0.5, 0.0]))
    x = torch.tensor([[1.0, 2.0], [3.0, 6.0]])
    assert torch.equal(center(x), torch.tensor([[-0.5, -2.0], [1.5, 2.0]]))  # x - (2, 4) + b
    assert torch.allclose(center.running_mean, torch.tensor([0.2, 0.4]))  # momentum 0.1
    center.eval()
    assert torch.allclose(center(x), x - torch.tensor([0.2, 0.4]) + torch.tensor([0.5, 0.0]))


@pytest.mark.parametrize(
    ("variant", "kind"), [("batch", torch.nn.BatchNorm1d), ("center", MeanCenter), ("none", None)]
)
def test_bn_variants_build_the_hidden_layers(variant: str, kind) -> None:
    config = build_method("bn", [f"variant={variant}"]).configure(MLPConfig((1, 8, 8), (16,), 10))
    model = BinaryMLP(config)
    norms = [m for m in model.hidden if isinstance(m, torch.nn.BatchNorm1d | MeanCenter)]
    assert [type(m) for m in norms] == ([kind] if kind else [])
    assert isinstance(model.output_norm, torch.nn.BatchNorm1d)  # per-class affine stays


def test_default_model_is_unchanged_module_for_module() -> None:
    names = [n for n, _ in BinaryMLP(MLPConfig((1, 8, 8), (16,), 10)).state_dict().items()]
    assert names[:2] == ["hidden.0.weight", "hidden.1.weight"]
    assert "output_scale.gamma" not in names


def test_full_precision_model() -> None:
    config = build_method("fp").configure(MLPConfig((1, 8, 8), (16,), 10))
    model = BinaryMLP(config)
    assert config.precision == "float"
    assert [type(m) for m in model.hidden] == [torch.nn.Linear, torch.nn.BatchNorm1d, torch.nn.ReLU]
    assert model.activations() == [model.hidden[2]]
