"""The two losses CP-NAS adds in its training stage (Zhuo, Zhang et al., "CP-NAS:
Child-Parent Neural Architecture Search for 1-bit CNNs", IJCAI 2020).

Kernel-level Child-Parent loss: the reconstruction error between the binary Child's scaled
kernels and the full-precision Parent's kernels of the same operation on the same edge,
summed over the convolutions::

    L_CP = lambda / 2 * sum_l || W_P^l - a^l * sign(W_C^l) ||^2

with ``a^l`` per output channel c the XNOR-Net scale ``a_c = mean_j |W_C,cj|`` (Rastegari et
al., ECCV 2016: the L2-optimal scale of ``W_c ~ a_c sign(W_c)``) and ``sign(0) = +1``. The
Parent acts as the teacher: its kernels are detached, so the loss moves the Child's latent
kernels (through ``a`` exactly and through ``sign`` by the straight-through estimator,
gradient 1 where ``|W| <= 1``) towards the Parent's.

Centre loss (Wen et al., "A Discriminative Feature Learning Approach for Deep Face
Recognition", ECCV 2016) on the Child's pooled features ``f_i``::

    L_S = mu / 2 * 1/N * sum_i || f_i - c_{y_i} ||^2

with the class centres ``c_j`` moved after every step by ``c_j <- c_j - gamma * delta_j``,
``delta_j = sum_{i: y_i = j} (c_j - f_i) / (1 + n_j)`` (:meth:`CentreLoss.update`).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn


class _SignSTE(torch.autograd.Function):
    """``sign`` with ``sign(0) = +1``; gradient 1 where ``|x| <= 1`` (the clipped STE of
    Courbariaux et al., "Binarized Neural Networks", NeurIPS 2016)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # noqa: ANN001
        ctx.save_for_backward(x)
        return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # noqa: ANN001
        (x,) = ctx.saved_tensors
        return grad * (x.abs() <= 1).to(grad.dtype)


def sign_ste(x: torch.Tensor) -> torch.Tensor:
    return _SignSTE.apply(x)


def xnor_scaled(weight: torch.Tensor) -> torch.Tensor:
    """``a_c * sign(W_c)`` with ``a_c = mean |W_c|`` over each output channel (dim 0)."""
    scale = weight.abs().flatten(1).mean(dim=1).view(-1, *([1] * (weight.dim() - 1)))
    return scale * sign_ste(weight)


def kernel_cp_loss(
    pairs: Iterable[tuple[torch.Tensor, torch.Tensor]], weight: float = 1.0
) -> torch.Tensor:
    """``weight / 2 * sum ||W_P - a * sign(W_C)||^2`` over the ``(child, parent)`` kernel
    pairs (the parent's detached)."""
    total: torch.Tensor | None = None
    for child, parent in pairs:
        if child.shape != parent.shape:
            raise ValueError(f"child kernel {tuple(child.shape)} vs parent {tuple(parent.shape)}")
        term = (parent.detach() - xnor_scaled(child)).pow(2).sum()
        total = term if total is None else total + term
    if total is None:
        raise ValueError("no kernel pairs: the CP loss needs convolutions in both supernets")
    return 0.5 * weight * total


class CentreLoss(nn.Module):
    """Wen et al.'s centre loss with its own centre update (see the module docstring); the
    centres are a buffer (saved in the state dict), not trained by the optimiser."""

    centres: torch.Tensor

    def __init__(self, classes: int, features: int, weight: float = 1.0, rate: float = 0.5):
        super().__init__()
        self.weight, self.rate = weight, rate
        self.register_buffer("centres", torch.zeros(classes, features))

    def forward(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        diff = features - self.centres[labels]
        return 0.5 * self.weight * diff.pow(2).sum(dim=1).mean()

    @torch.no_grad()
    def update(self, features: torch.Tensor, labels: torch.Tensor) -> None:
        """``c_j <- c_j - rate * sum_{y_i = j} (c_j - f_i) / (1 + n_j)``."""
        f = features.detach()
        for j in labels.unique():
            members = f[labels == j]
            delta = (self.centres[j] - members).sum(dim=0) / (1 + len(members))
            self.centres[j] -= self.rate * delta
