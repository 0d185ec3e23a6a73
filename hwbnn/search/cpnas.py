"""CP-NAS (Zhuo, Zhang et al., "CP-NAS: Child-Parent Neural Architecture Search for 1-bit
CNNs", IJCAI 2020): a binary Child and a full-precision Parent supernet share one
architecture (alpha, beta, the active operations: :class:`~hwbnn.search.supernet.Architecture`).

Training stage: both are trained on the training half; the Child's loss adds the kernel-level
Child-Parent loss (the reconstruction error between the Child's XNOR-scaled binary kernels and
the Parent's, :func:`hwbnn.search.losses.kernel_cp_loss`, weight lambda = ``cp_weight``) and
the centre loss on its pooled features (:class:`hwbnn.search.losses.CentreLoss`, weight mu =
``centre_weight``); the Parent's is its cross entropy. The shared architecture is trained on
the validation half by the sum of both cross entropies (plus the optional hardware term).

Reduction: every sampled sub-network is run through the Child and the Parent, giving each
active operation its mean accuracies ``A_C`` and ``A_P``; every edge abandons the operation of
least indicator ``z = beta * A_P + (1 - beta) * A_C``
(:func:`hwbnn.search.reduce.cpnas_indicator`, beta = ``indicator_beta``).

Simplification: the kernels are paired by module name over the whole supernets (every
candidate convolution, the preprocessing and the stem), abandoned operations included (they
no longer run, so the term only keeps their unused kernels near the Parent's).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from hwbnn.nn.genotype import CellKind
from hwbnn.search.bnas import BnasSearch, _accuracy
from hwbnn.search.config import SearchConfig
from hwbnn.search.losses import CentreLoss, kernel_cp_loss
from hwbnn.search.reduce import cpnas_indicator
from hwbnn.search.supernet import Sample


class CpnasSearch(BnasSearch):
    def __init__(self, cfg: SearchConfig, in_channels: int, classes: int) -> None:
        super().__init__(cfg, in_channels, classes)
        self.parent = self._net(cfg, in_channels, classes, binary=False)
        self.centre = CentreLoss(classes, self.child.features, weight=cfg.centre_weight)
        self._features: tuple[torch.Tensor, torch.Tensor] | None = None
        child, parent = self.child.kernels(), self.parent.kernels()
        if child.keys() != parent.keys():
            raise ValueError("the Child and Parent supernets do not have the same kernels")
        self._pairs = [(child[name], parent[name]) for name in child]

    def modules(self) -> dict[str, nn.Module]:
        return {
            "arch": self.arch,
            "child": self.child,
            "parent": self.parent,
            "centre": self.centre,
        }

    def networks(self) -> Iterator[nn.Module]:
        yield self.child
        yield self.parent

    def weight_parameters(self) -> list[nn.Parameter]:
        return [*self.child.parameters(), *self.parent.parameters()]

    def weight_loss(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits, features = self.child(x, self.arch)
        parent_logits, _ = self.parent(x, self.arch)
        loss = (
            F.cross_entropy(logits, y)
            + F.cross_entropy(parent_logits, y)
            + kernel_cp_loss(self._pairs, self.cfg.cp_weight)
            + self.centre(features, y)
        )
        self._features = (features.detach(), y)
        return loss, logits

    def after_weight_step(self) -> None:
        if self._features is not None:
            self.centre.update(*self._features)
            self._features = None

    def arch_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        logits, _ = self.child(x, self.arch)
        parent_logits, _ = self.parent(x, self.arch)
        return F.cross_entropy(logits, y) + F.cross_entropy(parent_logits, y)

    def sampled_accuracy(
        self, x: torch.Tensor, y: torch.Tensor, sample: Sample
    ) -> dict[str, float]:
        return {
            "child": _accuracy(self.child, self.arch, x, y, sample),
            "parent": _accuracy(self.parent, self.arch, x, y, sample),
        }

    def scores(self, kind: CellKind, credit: dict[str, np.ndarray]) -> np.ndarray:
        active = self.arch.active(kind).numpy()
        beta = self.cfg.indicator_beta
        return np.stack(
            [
                cpnas_indicator(credit["parent"][e], credit["child"][e], active[e], beta)
                for e in range(len(active))
            ]
        )
