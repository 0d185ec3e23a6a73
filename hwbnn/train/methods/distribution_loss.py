"""Distribution loss (Ding, Chin, Liu and Marculescu, "Regularizing Activation Distribution for
Training Binarized Deep Networks", CVPR 2019), as the authors' code defines it
(github.com/ruizhoud/DistributionLoss, ``models/distrloss_layer.py`` and the models that call
it), on the pre-sign outputs of the hidden layers (after their BatchNorm: what the sign sees).

For channel c of a hidden layer, ``mu_c`` and ``sigma_c`` are the mean and the biased standard
deviation of its pre-activations over the batch (and over the positions of a feature map),
``sigma_c = sqrt(var_c + 1e-10)``. The three terms:

- gradient mismatch (the bulk inside the STE's range, where its identity gradient is far from the
  sign's): ``L_M = ReLU(2 - |mu_c| - sigma_c)^2`` (the code's ``min(2 - mu - sigma,
  2 + mu - sigma)`` clamped at 0);
- saturation (the bulk far outside the STE's range, where its gradient is 0):
  ``L_S = ReLU(sigma_c - 4)^2``;
- degeneration (almost every value has the same sign): ``L_D = ReLU(mu_c^2 - sigma_c^2)``.

Each is averaged over the channels of a layer, the layer's sum ``mean_c L_M + mean_c L_S +
mean_c L_D`` is averaged over the hidden layers, and the trainer adds
``lam * mean_layers(...)`` to the cross-entropy (the authors' ``--distrloss`` weight, 2.0 in
their AlexNet command) in the first ``epochs`` epochs (their ``--distr_epoch``: 60 of 67; 0
here means every epoch). Training-only: the exported graph is the baseline's.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F
from torch.utils.hooks import RemovableHandle

from hwbnn.train.methods.base import Batch, Method, TrainContext, arg, check
from hwbnn.train.methods.hooks import activation_modules, capture_inputs

#: the bulk's edges and saturation bound of the authors' code, in units of the pre-activations
MISMATCH_EDGE = 2.0
SATURATION_SIGMA = 4.0
#: added to the variance before the square root (the authors' code)
VARIANCE_EPS = 1e-10


def channel_moments(a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and biased standard deviation of ``a`` of shape (N, C, ...), over the
    batch and every position."""
    per_channel = a.transpose(0, 1).reshape(a.shape[1], -1)
    mu = per_channel.mean(dim=1)
    sigma = (per_channel.var(dim=1, unbiased=False) + VARIANCE_EPS).sqrt()
    return mu, sigma


def distribution_terms(a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-channel ``(L_M, L_S, L_D)`` of pre-activations ``a`` of shape (N, C, ...)."""
    mu, sigma = channel_moments(a)
    mismatch = F.relu(MISMATCH_EDGE - mu.abs() - sigma) ** 2
    saturation = F.relu(sigma - SATURATION_SIGMA) ** 2
    degeneration = F.relu(mu**2 - sigma**2)
    return mismatch, saturation, degeneration


def distribution_loss(pre_activations: list[torch.Tensor]) -> torch.Tensor:
    """``mean_layers(mean_c L_M + mean_c L_S + mean_c L_D)`` (module docstring)."""
    per_layer = [
        m.mean() + s.mean() + d.mean() for m, s, d in map(distribution_terms, pre_activations)
    ]
    return torch.stack(per_layer).mean()


class DistributionLoss(Method):
    name = "distribution_loss"
    summary = "Ding et al. distribution loss (their code's three terms) on pre-sign BN outputs"

    @dataclass(frozen=True)
    class Args:
        lam: float = arg(2.0, "weight of the loss (the authors' --distrloss)")
        epochs: int = arg(0, "first epochs with the loss, 0: all (the authors' --distr_epoch)")

    def __init__(self, args: Args | None = None) -> None:
        super().__init__(args)
        a = self.args
        check(a.lam >= 0, self.name, f"lam must be >= 0, got {a.lam}")
        check(a.epochs >= 0, self.name, f"epochs must be >= 0, got {a.epochs}")
        self._store: list[torch.Tensor] = []
        self._handles: list[RemovableHandle] = []

    def setup(self, ctx: TrainContext) -> None:
        self._handles = capture_inputs(activation_modules(ctx.model, self.name), self._store)

    def loss(self, ctx: TrainContext, batch: Batch) -> torch.Tensor | None:
        pre, self._store[:] = list(self._store), []
        if not pre or (self.args.epochs and ctx.epoch >= self.args.epochs):
            return None
        return self.args.lam * distribution_loss(pre)

    def finish(self, ctx: TrainContext) -> None:
        for handle in self._handles:
            handle.remove()
