"""ADMM training (Leng, Dou, Li, Zhu and Jin, "Extremely Low Bit Neural Network: Squeeze the
Last Bit Out with ADMM", AAAI 2018).

The constraint ``W in C = {alpha * b : b in {-1, +1}^n}`` is split off with an auxiliary copy
``G`` and a scaled dual variable ``lambda`` per binary layer; augmented Lagrangian
``L(W, G, lambda) = f(W) + (rho / 2) ||W - G + lambda||^2 - (rho / 2) ||lambda||^2``.

ADMM phase (epochs ``0 .. E_a - 1``, ``E_a = round((1 - exact_fraction) * epochs)``):

- forward weights: the float latent ``W`` (binary activations as always),
- loss: ``f(W) + (rho / 2) sum_layers ||W - G + lambda||^2``; gradient ``rho (W - G + lambda)``,
- every ``update_every`` steps (0: once per epoch):
  ``G = alpha sign(W + lambda)`` with ``alpha = mean |W + lambda|`` (per layer: the Euclidean
  projection onto C), then ``lambda <- lambda + W - G``.

Exact phase: ``W <- G`` and the ordinary binary forward ``sign(W)`` (clipped STE) without the
penalty, so BatchNorm statistics match the deployed weights; the exported graph is the
baseline's (G's positive per-layer scale is absorbed by the BatchNorm).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.utils.hooks import RemovableHandle

from hwbnn.train.methods.base import Batch, Method, Slot, TrainContext, arg, check
from hwbnn.train.methods.binaryrelax import project_binary
from hwbnn.train.methods.hooks import latent_weight, override_forward_weight, require_binary_layers


def project_scaled_binary(v: torch.Tensor) -> torch.Tensor:
    """``alpha sign(v)`` with ``alpha = mean |v|``: the nearest point of C to ``v``."""
    return v.abs().mean() * project_binary(v)


class ADMM(Method):
    name = "admm"
    summary = "ADMM with auxiliary binary copy G, dual lambda, penalty rho (Leng et al.)"
    slot = Slot.WEIGHTS

    @dataclass(frozen=True)
    class Args:
        rho: float = arg(1e-2, "penalty rho of the augmented Lagrangian")
        update_every: int = arg(0, "steps between G/lambda updates (0: once per epoch)")
        exact_fraction: float = arg(0.2, "fraction of the epochs trained exactly binary at the end")

    def __init__(self, args: Args | None = None) -> None:
        super().__init__(args)
        check(self.args.rho > 0, self.name, f"rho must be > 0, got {self.args.rho}")
        check(self.args.update_every >= 0, self.name, "update_every must be >= 0")
        check(0 <= self.args.exact_fraction <= 1, self.name, "exact_fraction must be in [0, 1]")
        self.G: list[torch.Tensor] = []
        self.lam: list[torch.Tensor] = []
        self.active = False
        self._handles: list[RemovableHandle] = []

    def setup(self, ctx: TrainContext) -> None:
        self._layers = require_binary_layers(ctx.model, self.name)
        self._weights = [latent_weight(layer) for layer in self._layers]
        with torch.no_grad():
            self.lam = [torch.zeros_like(w) for w in self._weights]
            self.G = [project_scaled_binary(w) for w in self._weights]
        self.active = True
        self._handles = [override_forward_weight(m, lambda w: w) for m in self._layers]

    def penalty(self) -> torch.Tensor:
        """``(rho / 2) sum ||W - G + lambda||^2``."""
        triples = zip(self._weights, self.G, self.lam, strict=True)
        terms = [((w - g + lam) ** 2).sum() for w, g, lam in triples]
        return 0.5 * self.args.rho * torch.stack(terms).sum()

    @torch.no_grad()
    def update(self) -> None:
        """The G and lambda steps of ADMM."""
        for i, w in enumerate(self._weights):
            self.G[i] = project_scaled_binary(w + self.lam[i])
            self.lam[i] = self.lam[i] + w - self.G[i]

    def loss(self, ctx: TrainContext, batch: Batch) -> torch.Tensor | None:
        return self.penalty() if self.active else None

    def after_step(self, ctx: TrainContext, batch: Batch) -> None:
        every = self.args.update_every
        if self.active and every and (ctx.step + 1) % every == 0:
            self.update()

    def on_epoch_end(self, ctx: TrainContext, metrics: dict[str, float]) -> None:
        if self.active and not self.args.update_every:
            self.update()

    def on_epoch_start(self, ctx: TrainContext) -> None:
        admm_epochs = round((1.0 - self.args.exact_fraction) * ctx.epochs)
        if self.active and ctx.epoch >= admm_epochs:
            with torch.no_grad():
                for w, g in zip(self._weights, self.G, strict=True):
                    w.copy_(g.clamp(-1.0, 1.0))
            self.finish(ctx)

    def finish(self, ctx: TrainContext) -> None:
        self.active = False
        for handle in self._handles:
            handle.remove()
        self._handles = []
