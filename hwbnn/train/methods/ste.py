"""Clipped straight-through estimator (Brevitas' default; Courbariaux et al., "Binarized Neural
Networks", NeurIPS 2016; Hubara et al. 2016).

- forward: ``q(x) = sign(x)`` (+1 for ``x >= 0``),
- gradient: ``dq/dx = 1 if |x| <= 1 else 0`` (the identity, cancelled outside [-1, 1]).

This is what hwbnn's quantizers do without any method; ``--method ste`` swaps in this explicit
rule (same math, same result bit for bit) and is the base class of the other sign estimators,
which change only the gradient rule. Estimators act on the hidden activations' signs; the model
after training is unchanged (the original Brevitas clamps are put back).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from hwbnn.train.methods.base import Method, Slot, TrainContext
from hwbnn.train.methods.hooks import swap_sign_estimator


class ClippedSTE(Method):
    name = "ste"
    summary = "clipped straight-through estimator (the default)"
    slot = Slot.ESTIMATOR

    def gradient(self, x: torch.Tensor) -> torch.Tensor:
        """``dq/dx`` of the estimator at ``x``."""
        return (x.abs() <= 1).to(x.dtype)

    def setup(self, ctx: TrainContext) -> None:
        self._restore: Callable[[], None] = swap_sign_estimator(ctx.model, self.gradient)

    def finish(self, ctx: TrainContext) -> None:
        self._restore()
