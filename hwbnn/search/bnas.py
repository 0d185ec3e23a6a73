"""BNAS (Chen, Zhuo, Zhang et al., "Binarized Neural Architecture Search", AAAI 2020): a
binary PC-DARTS supernet whose operation space is reduced by the performance-based strategy.

Training stage: the binary supernet's weights are trained on the training half by cross
entropy, the architecture (alpha, beta) on the validation half by cross entropy plus the
optional hardware term (first-order DARTS, alternating steps: :mod:`hwbnn.search.loop`). The
binary operations are those of :mod:`hwbnn.nn.cells`: +-1 kernels of scale 1 (Brevitas,
straight-through estimator) followed by BN and sign, the plain BNN kernel; the XNOR-style
scale that BNAS also tries would fold into the BN that follows every convolution.

Reduction: at each scheduled epoch the sampled sub-networks' validation accuracies give every
active operation its mean accuracy ``m`` and the score ``softmax(alpha) * m``
(:func:`hwbnn.search.reduce.bnas_scores`); every edge abandons its least-scoring operation.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from hwbnn.nn.genotype import CellKind
from hwbnn.search.config import SearchConfig
from hwbnn.search.reduce import bnas_scores
from hwbnn.search.supernet import Architecture, Sample, SuperNet


class BnasSearch:
    """The models and losses of a BNAS search (the protocol :mod:`hwbnn.search.loop` runs)."""

    def __init__(self, cfg: SearchConfig, in_channels: int, classes: int) -> None:
        self.cfg = cfg
        self.arch = Architecture(cfg.steps)
        self.child = self._net(cfg, in_channels, classes, binary=True)

    @staticmethod
    def _net(cfg: SearchConfig, in_channels: int, classes: int, binary: bool) -> SuperNet:
        return SuperNet(
            in_channels,
            classes,
            cfg.layout,
            cfg.channels,
            cfg.stem_channels,
            cfg.steps,
            cfg.k,
            binary=binary,
        )

    def modules(self) -> dict[str, nn.Module]:
        """Everything a checkpoint saves, by name."""
        return {"arch": self.arch, "child": self.child}

    def networks(self) -> Iterator[nn.Module]:
        yield self.child

    def weight_parameters(self) -> list[nn.Parameter]:
        return list(self.child.parameters())

    def weight_loss(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss, logits) of a weight step on a training batch."""
        logits, _ = self.child(x, self.arch)
        return F.cross_entropy(logits, y), logits

    def after_weight_step(self) -> None:
        """Nothing to update beside the optimiser (CP-NAS moves its centres here)."""

    def arch_loss(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        logits, _ = self.child(x, self.arch)
        return F.cross_entropy(logits, y)

    def sampled_accuracy(
        self, x: torch.Tensor, y: torch.Tensor, sample: Sample
    ) -> dict[str, float]:
        return {"child": _accuracy(self.child, self.arch, x, y, sample)}

    def scores(self, kind: CellKind, credit: dict[str, np.ndarray]) -> np.ndarray:
        """Per edge and operation of ``kind``, the score whose least is abandoned."""
        alpha = self.arch.alpha[kind.value].detach().numpy()
        active = self.arch.active(kind).numpy()
        return np.stack(
            [bnas_scores(alpha[e], credit["child"][e], active[e]) for e in range(len(alpha))]
        )


@torch.no_grad()
def _accuracy(
    net: SuperNet, arch: Architecture, x: torch.Tensor, y: torch.Tensor, sample: Sample | None
) -> float:
    logits, _ = net(x, arch, sample)
    return float((logits.argmax(dim=1) == y).float().mean())
