"""Projection loss (PCNN: Gu, Li, Zhang, Han, Cao, Liu and Doermann, "Projection Convolutional
Neural Networks for 1-bit CNNs via Discrete Back Propagation", AAAI 2019) and the kernel loss of
RBCN (Liu, Ding, Xia, Zhang, Zhuang, Han and Doermann, "RBCN: Rectified Binary Convolutional
Networks for Enhancing the Performance of 1-bit DCNNs", IJCAI 2019), with optional centre loss.

- projection / kernel loss: ``L_P = (lambda / 2) sum_layers ||W - C * sign(W)||^2`` with a
  learned projection scale ``C``: one per output channel (``scale=channel``, PCNN) or one scalar
  ``c`` per layer (``scale=scalar``, RBCN); ``C`` starts at ``mean |W|`` and is trained with the
  network (``dL/dC = -lambda sum (W - C sign W) sign W``),
- centre loss (Wen et al., ECCV 2016, used by PCNN), if ``center > 0``: on the features ``f``
  that enter the last binary layer, ``L_C = (center / 2) mean_i ||f_i - c_{y_i}||^2``, class
  centres updated after every step by ``c_j <- c_j - rate * sum_{i: y_i = j} (c_j - f_i) /
  (1 + n_j)``.

Training-only: the forward is the baseline's (compose with ``xnorpp`` for a scale in the
forward pass); the exported graph is the baseline's.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from hwbnn.train.methods.base import Batch, Method, TrainContext, arg, check
from hwbnn.train.methods.binaryrelax import project_binary
from hwbnn.train.methods.hooks import capture_inputs, latent_weight, require_binary_layers
from hwbnn.train.methods.wq_loss import channel_mean_abs


def projection_error(w: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """``||W - C sign(W)||^2``; ``scale`` is broadcast on ``w`` (per channel or a scalar)."""
    return ((w - scale * project_binary(w)) ** 2).sum()


def center_loss(features: torch.Tensor, labels: torch.Tensor, centers: torch.Tensor):
    """``(1/2) mean_i ||f_i - c_{y_i}||^2`` (without the weight)."""
    return 0.5 * ((features - centers[labels]) ** 2).sum(dim=1).mean()


@torch.no_grad()
def update_centers(
    features: torch.Tensor, labels: torch.Tensor, centers: torch.Tensor, rate: float
) -> None:
    """Wen et al.'s centre update, in place."""
    for j in labels.unique():
        mine = features[labels == j]
        delta = (centers[j] - mine).sum(dim=0) / (1 + len(mine))
        centers[j] -= rate * delta


class ProjectionScale(StrEnum):
    """The learned scale of the projection: one per output channel (PCNN) or one (RBCN)."""

    CHANNEL = "channel"
    SCALAR = "scalar"


class ProjectionLoss(Method):
    name = "projection_loss"
    summary = "PCNN projection / RBCN kernel loss with learned scale, optional centre loss"

    @dataclass(frozen=True)
    class Args:
        lam: float = arg(1e-4, "weight lambda of the projection loss")
        scale: ProjectionScale = arg(
            ProjectionScale.CHANNEL, "per output channel (PCNN) or scalar (RBCN)"
        )
        center: float = arg(0.0, "weight of the centre loss (0: off)")
        center_rate: float = arg(0.5, "centre update rate")

    def __init__(self, args: Args | None = None) -> None:
        super().__init__(args)
        a = self.args
        check(a.lam >= 0 and a.center >= 0, self.name, "lam and center must be >= 0")
        check(0 < a.center_rate <= 1, self.name, "center_rate must be in (0, 1]")
        self.scales: list[nn.Parameter] = []
        self._features: list[torch.Tensor] = []
        self._handles: list[RemovableHandle] = []

    def setup(self, ctx: TrainContext) -> None:
        layers = require_binary_layers(ctx.model, self.name)
        self._weights = [latent_weight(m) for m in layers]
        with torch.no_grad():
            for w in self._weights:
                init = (
                    channel_mean_abs(w)
                    if self.args.scale == ProjectionScale.CHANNEL
                    else w.abs().mean()
                )
                self.scales.append(nn.Parameter(init.clone()))
        if self.args.center > 0:
            last = layers[-1]
            width = last.in_features if isinstance(last, nn.Linear) else last.in_channels
            assert isinstance(width, int)
            self.centers = torch.zeros(ctx.config.classes, width)
            self._handles = capture_inputs([last], self._features)

    def parameters(self) -> list[nn.Parameter]:
        return list(self.scales)

    def loss(self, ctx: TrainContext, batch: Batch) -> torch.Tensor | None:
        errors = [projection_error(w, c) for w, c in zip(self._weights, self.scales, strict=True)]
        total = 0.5 * self.args.lam * torch.stack(errors).sum()
        if self._features:
            features = self._features[-1].flatten(1)
            total = total + self.args.center * center_loss(features, batch.y, self.centers)
        return total

    def after_step(self, ctx: TrainContext, batch: Batch) -> None:
        if self._features:
            features = self._features[-1].flatten(1)
            update_centers(features, batch.y, self.centers, self.args.center_rate)
            self._features.clear()

    def finish(self, ctx: TrainContext) -> None:
        for handle in self._handles:
            handle.remove()
