"""Weight quantization loss (Zheng et al.): a penalty pulling the latent weights of every
binary layer towards their scaled binary projection,

    L_WQ = lambda * sum_layers sum_c ||W_c - alpha_c sign(W_c)||^2,  alpha_c = mean_j |W_cj|,

with ``alpha_c`` (output channel c) the minimiser over the scale, treated as a constant in the
gradient (``dL/dW = 2 lambda (W - alpha sign(W))``; the derivative through the minimiser is 0).
Training-only: the exported graph is the baseline's.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from hwbnn.train.methods.base import Batch, Method, TrainContext, arg, check
from hwbnn.train.methods.binaryrelax import project_binary
from hwbnn.train.methods.hooks import latent_weight, require_binary_layers


def channel_mean_abs(w: torch.Tensor) -> torch.Tensor:
    """``alpha_c = mean |W_c|`` over every axis but the first, shaped to broadcast on ``w``."""
    return w.abs().reshape(w.shape[0], -1).mean(dim=1).reshape(-1, *([1] * (w.dim() - 1)))


def quantization_error(w: torch.Tensor) -> torch.Tensor:
    """``sum_c ||W_c - alpha_c sign(W_c)||^2`` with ``alpha`` detached."""
    return ((w - channel_mean_abs(w).detach() * project_binary(w)) ** 2).sum()


class WeightQuantLoss(Method):
    name = "wq_loss"
    summary = "weight quantization loss lambda ||W - alpha sign(W)||^2"

    @dataclass(frozen=True)
    class Args:
        lam: float = arg(1e-4, "weight lambda of the loss")

    def __init__(self, args: Args | None = None) -> None:
        super().__init__(args)
        check(self.args.lam >= 0, self.name, f"lam must be >= 0, got {self.args.lam}")

    def setup(self, ctx: TrainContext) -> None:
        self._weights = [latent_weight(m) for m in require_binary_layers(ctx.model, self.name)]

    def loss(self, ctx: TrainContext, batch: Batch) -> torch.Tensor | None:
        return self.args.lam * torch.stack([quantization_error(w) for w in self._weights]).sum()
