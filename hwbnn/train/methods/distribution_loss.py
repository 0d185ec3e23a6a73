"""Distribution loss (Ding, Chin, Liu and Marculescu, "Regularizing Activation Distribution for
Training Binarized Deep Networks", CVPR 2019) on the pre-sign outputs of the hidden layers
(after their BatchNorm, i.e. the values the sign sees).

For channel c of a hidden layer, with batch mean ``mu_c`` and standard deviation ``sigma_c`` of
its pre-activations, the bulk ``[mu_c - k sigma_c, mu_c + k sigma_c]`` must avoid three shapes:

- degeneration (almost every value has the same sign): ``L_D = ReLU(|mu_c| - k sigma_c)^2``,
- saturation (the bulk reaches far beyond the STE's range [-1, 1], where the gradient is 0):
  ``L_S = ReLU(|mu_c| + k sigma_c - s)^2``,
- gradient mismatch (the whole bulk inside (-1, 1), where the STE's identity gradient is far
  from the sign's): ``L_M = ReLU(1 - |mu_c| - k sigma_c)^2``,

``L_DL = lambda * sum_layers mean_c (L_D + L_S + L_M)``. ``sigma`` is the biased batch
estimate (BatchNorm's); ``k`` and ``s`` are the paper's kind of hyper-parameters (our defaults).
Training-only: the exported graph is the baseline's.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F
from torch.utils.hooks import RemovableHandle

from hwbnn.train.methods.base import Batch, Method, TrainContext, arg, check
from hwbnn.train.methods.hooks import activation_modules, capture_inputs


def distribution_terms(
    a: torch.Tensor, k: float, s: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-channel ``(L_D, L_S, L_M)`` of pre-activations ``a`` of shape (N, C, ...)."""
    per_channel = a.transpose(0, 1).reshape(a.shape[1], -1)
    mu = per_channel.mean(dim=1)
    sigma = per_channel.var(dim=1, unbiased=False).add(1e-10).sqrt()
    spread = k * sigma
    degeneration = F.relu(mu.abs() - spread) ** 2
    saturation = F.relu(mu.abs() + spread - s) ** 2
    mismatch = F.relu(1.0 - mu.abs() - spread) ** 2
    return degeneration, saturation, mismatch


def distribution_loss(pre_activations: list[torch.Tensor], k: float, s: float) -> torch.Tensor:
    """``sum_layers mean_c (L_D + L_S + L_M)``."""
    terms = []
    for a in pre_activations:
        degeneration, saturation, mismatch = distribution_terms(a, k, s)
        terms.append((degeneration + saturation + mismatch).mean())
    return torch.stack(terms).sum()


class DistributionLoss(Method):
    name = "distribution_loss"
    summary = "Ding et al. distribution loss on pre-sign BatchNorm outputs"

    @dataclass(frozen=True)
    class Args:
        lam: float = arg(1.0, "weight lambda of the distribution loss")
        k: float = arg(1.0, "bulk half-width in standard deviations")
        s: float = arg(3.0, "saturation bound of the bulk")

    def __init__(self, args: Args | None = None) -> None:
        super().__init__(args)
        a = self.args
        check(a.lam >= 0 and a.k > 0, self.name, "needs lam >= 0 and k > 0")
        check(a.s > 1, self.name, f"s must be > 1 (the STE range), got {a.s}")
        self._store: list[torch.Tensor] = []
        self._handles: list[RemovableHandle] = []

    def setup(self, ctx: TrainContext) -> None:
        self._handles = capture_inputs(activation_modules(ctx.model, self.name), self._store)

    def loss(self, ctx: TrainContext, batch: Batch) -> torch.Tensor | None:
        pre, self._store[:] = list(self._store), []
        if not pre:
            return None
        return self.args.lam * distribution_loss(pre, self.args.k, self.args.s)

    def finish(self, ctx: TrainContext) -> None:
        for handle in self._handles:
            handle.remove()
