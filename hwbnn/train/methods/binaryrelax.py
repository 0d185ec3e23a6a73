"""BinaryRelax (Yin, Zhang, Lyu, Osher, Qi and Xin, "BinaryRelax: A Relaxation Approach for
Training Deep Neural Networks with Quantized Weights", SIAM J. Imaging Sciences 2018).

Relaxed phase (epochs ``0 .. E_r - 1``, ``E_r = round((1 - exact_fraction) * epochs)``):

- forward weights: ``u = (eta_t Q(w) + w) / (1 + eta_t)``, the proximal point between the float
  weights ``w`` and their projection ``Q(w) = sign(w)`` onto the deployable set {-1, +1}^n (the
  scale of the hardware's weights is 1; per-channel scales live in the BatchNorm after them),
- gradient: the paper's update ``w <- w - lr * grad f(u)``, i.e. ``dL/dw := dL/du``,
- schedule: ``eta_t = eta0 * growth^t`` at epoch t (``growth`` 1.04: u moves towards Q(w)).

Exact phase (the remaining epochs): ``u = Q(w)``, the ordinary binary forward with the clipped
STE, so the BatchNorm statistics are those of the deployed binary weights. Evaluation always uses
``Q(w)``; the exported graph is the baseline's.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.utils.hooks import RemovableHandle

from hwbnn.train.methods.base import Method, Slot, TrainContext, arg, check
from hwbnn.train.methods.hooks import override_forward_weight, require_binary_layers


def project_binary(w: torch.Tensor) -> torch.Tensor:
    """``Q(w)``: +1 where ``w >= 0``, -1 elsewhere (the hardware's sign)."""
    return torch.where(w >= 0, 1.0, -1.0).to(w.dtype)


def relaxed_weights(w: torch.Tensor, eta: float) -> torch.Tensor:
    """``u = (eta Q(w) + w) / (1 + eta)`` with the gradient ``dL/dw = dL/du``."""
    target = (eta * project_binary(w) + w) / (1.0 + eta)
    return w + (target - w).detach()


class BinaryRelax(Method):
    name = "binaryrelax"
    summary = "BinaryRelax relaxed weights (eta Q(w) + w)/(1 + eta), then exact quantization"
    slot = Slot.WEIGHTS

    @dataclass(frozen=True)
    class Args:
        eta0: float = arg(1.0, "relaxation weight eta at epoch 0")
        growth: float = arg(1.04, "factor of eta per epoch")
        exact_fraction: float = arg(0.2, "fraction of the epochs trained with exact quantization")

    def __init__(self, args: Args | None = None) -> None:
        super().__init__(args)
        a = self.args
        check(a.eta0 > 0 and a.growth >= 1, self.name, "needs eta0 > 0 and growth >= 1")
        check(0 <= a.exact_fraction <= 1, self.name, "exact_fraction must be in [0, 1]")
        self.eta = a.eta0
        self._handles: list[RemovableHandle] = []

    def relaxed_epochs(self, epochs: int) -> int:
        return round((1.0 - self.args.exact_fraction) * epochs)

    def eta_at(self, epoch: int) -> float:
        return self.args.eta0 * self.args.growth**epoch

    def setup(self, ctx: TrainContext) -> None:
        self._layers = require_binary_layers(ctx.model, self.name)

    def on_epoch_start(self, ctx: TrainContext) -> None:
        relaxed = ctx.epoch < self.relaxed_epochs(ctx.epochs)
        self.eta = self.eta_at(ctx.epoch)
        if relaxed and not self._handles:
            self._handles = [
                override_forward_weight(layer, lambda w: relaxed_weights(w, self.eta))
                for layer in self._layers
            ]
        if not relaxed:
            self.finish(ctx)

    def finish(self, ctx: TrainContext) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
