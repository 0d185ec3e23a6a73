"""BWNH: binary weights by hashing (Hu, Wang and Cheng, "From Hashing to CNNs: Training Binary
Weight Networks via Hashing", AAAI 2018), then fine-tuning.

1. Full-precision weights: the first ``pretrain_fraction`` of the epochs train float latent
   weights (binary activations as always; the forward uses ``W`` itself, no sign).
2. Hashing, layer by layer in network order: with ``X`` (d x N) the inputs of layer l on
   ``samples`` training images (computed with layers 1..l-1 already binary) and ``W`` (d x m)
   its trained weights, find binary codes ``B`` in {-1, +1}^{d x m} and per-output-channel
   scales ``a`` that preserve the inner products ``X^T W``:
   ``min_{B, a} ||X^T W - X^T B diag(a)||_F^2``. With ``Q = X X^T`` and ``q_j = Q w_j``,
   alternately ``a_j = b_j^T q_j / (b_j^T Q b_j)`` and discrete cyclic coordinate descent over the
   bits, ``b_ij = sign(q_ij - a_j sum_{k != i} Q_ik b_kj)`` (exact minimiser of bit i with the
   others fixed), starting from ``B = sign(W)``, ``sweeps`` times.
   The latent weights become ``clip(a_j b_ij, -1, 1)``; BatchNorm statistics are re-estimated.
3. Fine-tuning: the remaining epochs train the binary network as usual.
The exported graph is the baseline's.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

from hwbnn.train.methods.base import Method, Slot, TrainContext, arg, check
from hwbnn.train.methods.binaryrelax import project_binary
from hwbnn.train.methods.hooks import (
    capture_inputs,
    latent_weight,
    override_forward_weight,
    require_binary_layers,
)


def hash_scales(q: torch.Tensor, big_q: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a_j = b_j^T q_j / (b_j^T Q b_j)`` for every column j (float64)."""
    return (b * q).sum(dim=0) / (b * (big_q @ b)).sum(dim=0)


def hash_weights(
    x: torch.Tensor, w: torch.Tensor, sweeps: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(B, a)`` for inputs ``x`` (d x N) and weights ``w`` (d x m); see the module docstring."""
    x64, w64 = x.double(), w.double()
    big_q = x64 @ x64.T
    q = big_q @ w64
    b = project_binary(w64)
    a = hash_scales(q, big_q, b)
    for _ in range(sweeps):
        for i in range(b.shape[0]):
            others = big_q[i] @ b - big_q[i, i] * b[i]
            b[i] = project_binary(q[i] - a * others)
        a = hash_scales(q, big_q, b)
    return b, a


def hashing_objective(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, a: torch.Tensor):
    """``||X^T W - X^T B diag(a)||_F^2``."""
    return ((x.T.double() @ (w.double() - b * a)) ** 2).sum()


class BWNH(Method):
    name = "bwnh"
    summary = "BWNH hashing initialisation from full-precision weights, then fine-tuning"
    slot = Slot.WEIGHTS

    @dataclass(frozen=True)
    class Args:
        pretrain_fraction: float = arg(0.5, "fraction of the epochs with float weights")
        sweeps: int = arg(3, "coordinate-descent sweeps over the bits")
        samples: int = arg(1024, "training images whose layer inputs define X")

    def __init__(self, args: Args | None = None) -> None:
        super().__init__(args)
        a = self.args
        check(0 < a.pretrain_fraction < 1, self.name, "pretrain_fraction must be in (0, 1)")
        check(a.sweeps >= 1 and a.samples >= 2, self.name, "needs sweeps >= 1, samples >= 2")
        self._handles: list[RemovableHandle] = []
        self.hashed = False

    def setup(self, ctx: TrainContext) -> None:
        self._layers = require_binary_layers(ctx.model, self.name)
        self._handles = [override_forward_weight(m, lambda w: w) for m in self._layers]

    def on_epoch_start(self, ctx: TrainContext) -> None:
        if not self.hashed and ctx.epoch >= round(self.args.pretrain_fraction * ctx.epochs):
            self.hash_layers(ctx)

    @torch.no_grad()
    def hash_layers(self, ctx: TrainContext) -> None:
        """Step 2: replace the float weights by hashed binary codes, layer by layer."""
        model = ctx.model
        x_all = torch.from_numpy(ctx.data.x_train[: self.args.samples])
        model.train()  # batch statistics over the samples; float weights for unhashed layers
        for layer, handle in zip(self._layers, self._handles, strict=True):
            store: list[torch.Tensor] = []
            (probe,) = capture_inputs([layer], store)
            model(x_all)
            probe.remove()
            x = store[0]
            if isinstance(layer, nn.Conv2d):
                padding = layer.padding
                assert not isinstance(padding, str), "BWNH needs numeric conv padding"
                patches = nn.functional.unfold(
                    x, layer.kernel_size, layer.dilation, padding, layer.stride
                )
                x = patches.transpose(1, 2).reshape(-1, patches.shape[1])
            w = latent_weight(layer)
            b, a = hash_weights(x.T, w.reshape(w.shape[0], -1).T, self.args.sweeps)
            w.copy_((b * a).T.reshape(w.shape).clamp(-1.0, 1.0).to(w.dtype))
            handle.remove()  # from now on the layer computes with sign(W) = B
        self._handles = []
        self.hashed = True
        recalibrate_batchnorm(model, x_all)

    def finish(self, ctx: TrainContext) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, x: torch.Tensor) -> None:
    """Running statistics of every BatchNorm = the statistics of ``model(x)`` in one batch."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average: one batch gives its exact statistics
    model.train()
    model(x)
    for m, momentum in zip(norms, momenta, strict=True):
        m.momentum = momentum
