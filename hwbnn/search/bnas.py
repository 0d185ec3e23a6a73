"""BNAS (Chen, Zhuo, Zhang et al., "Binarized Neural Architecture Search", AAAI 2020): a
binary PC-DARTS supernet whose operation space is reduced by the performance-based strategy.

Training stage: the binary supernet's weights are trained on the training half by cross
entropy, the architecture (alpha, beta) on the validation half by cross entropy plus the
optional hardware term (first-order DARTS, alternating steps: :mod:`hwbnn.search.loop`). The
binary operations are those of :mod:`hwbnn.nn.cells`: +-1 kernels of scale 1 (Brevitas,
straight-through estimator) followed by BN and sign, the plain BNN kernel; the XNOR-style
scale that BNAS also tries would fold into the BN that follows every convolution.

Reduction (the performance-based strategy, :mod:`hwbnn.search.reduce`): at each scheduled
epoch every edge's ``ceil(K/2)`` active operations of least ``alpha`` are sampled
(:meth:`BnasSearch.candidates`), each sampled sub-network trained for one epoch by cross
entropy (:meth:`BnasSearch.sampled_loss`) and scored by its validation accuracy; the mean
accuracies update every operation's selection likelihood
(:func:`hwbnn.search.reduce.bnas_likelihood`, kept in :class:`Likelihood` and saved with the
checkpoint), and every edge abandons the operation of least likelihood.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from hwbnn.nn.genotype import OPS, CellKind
from hwbnn.search.config import Method, SearchConfig
from hwbnn.search.partial import edge_count
from hwbnn.search.reduce import bnas_candidates, bnas_likelihood
from hwbnn.search.supernet import Architecture, Sample, SuperNet


class Likelihood(nn.Module):
    """BNAS' selection likelihood ``s`` of every operation, per cell kind (edges x
    operations, 0 at the start): a buffer, so that a resumed search carries it on."""

    def __init__(self, steps: int) -> None:
        super().__init__()
        for kind in CellKind:
            self.register_buffer(
                f"s_{kind.value}", torch.zeros(edge_count(steps), len(OPS), dtype=torch.float64)
            )

    def get(self, kind: CellKind) -> torch.Tensor:
        s = getattr(self, f"s_{kind.value}")
        assert isinstance(s, torch.Tensor)
        return s


class BnasSearch:
    """The models and losses of a BNAS search (the protocol :mod:`hwbnn.search.loop` runs)."""

    def __init__(self, cfg: SearchConfig, in_channels: int, classes: int) -> None:
        self.cfg = cfg
        self.arch = Architecture(cfg.steps)
        self.child = self._net(cfg, in_channels, classes, binary=True)
        self.likelihood = Likelihood(cfg.steps)
        self._sampled: dict[CellKind, np.ndarray] = {}

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
        return {"arch": self.arch, "child": self.child, "likelihood": self.likelihood}

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

    def candidates(self, kind: CellKind) -> np.ndarray:
        """The operations sampled before a reduction (edges x operations): BNAS' ``O_S``, the
        ``ceil(K/2)`` active ones of least ``alpha``; CP-NAS samples every active one."""
        active = self.arch.active(kind).numpy()
        if self.cfg.method is Method.CPNAS:
            chosen = active.copy()
        else:
            chosen = bnas_candidates(self.arch.alpha[kind.value].detach().numpy(), active)
        self._sampled[kind] = chosen
        return chosen

    def sampled_loss(self, x: torch.Tensor, y: torch.Tensor, sample: Sample) -> torch.Tensor:
        """The loss that trains a sampled sub-network for its epoch: the cross entropy of every
        network (the Child; and the Parent in CP-NAS) on that sub-network."""
        return sum(
            (F.cross_entropy(net(x, self.arch, sample)[0], y) for net in self.networks()),
            torch.zeros(()),
        )

    def sampled_accuracy(
        self, x: torch.Tensor, y: torch.Tensor, sample: Sample
    ) -> dict[str, float]:
        return {"child": _accuracy(self.child, self.arch, x, y, sample)}

    def scores(self, kind: CellKind, credit: dict[str, np.ndarray]) -> np.ndarray:
        """Per edge and operation of ``kind``, the score whose least is abandoned: the selection
        likelihood updated by this reduction's mean accuracies (and stored for the next)."""
        active = self.arch.active(kind).numpy()
        sampled = self._sampled.pop(kind)
        previous = self.likelihood.get(kind).numpy()
        s = np.stack(
            [
                bnas_likelihood(previous[e], credit["child"][e], sampled[e], active[e])
                for e in range(len(active))
            ]
        )
        self.likelihood.get(kind).copy_(torch.from_numpy(np.where(active, s, 0.0)))
        return s


@torch.no_grad()
def _accuracy(
    net: SuperNet, arch: Architecture, x: torch.Tensor, y: torch.Tensor, sample: Sample | None
) -> float:
    logits, _ = net(x, arch, sample)
    return float((logits.argmax(dim=1) == y).float().mean())
