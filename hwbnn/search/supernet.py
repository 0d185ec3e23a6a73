"""The search supernet: binary DARTS cells whose edges are PC-DARTS mixed operations.

Architecture parameters (:class:`Architecture`, shared by every cell of a kind and, in CP-NAS,
by the Child and the Parent): per cell kind ``alpha`` (edges x operations, in
:data:`hwbnn.nn.genotype.OPS` order), ``beta`` (one per edge, normalised over each node's
input edges) and ``active``, the operations BNAS / CP-NAS have not abandoned yet. An edge
computes ``softmax_active(alpha_e) . ops(x)`` on a 1/K slice of its channels
(:class:`hwbnn.search.partial.PartialMixedOp`); node ``j`` is the node join of
:mod:`hwbnn.nn.cells` (``sign(BN(sum) + b)``) of ``softmax(beta_j)_i * edge_ij(x_i)``, wired by
:func:`hwbnn.nn.cells.cell_forward` as the fixed cells of a genotype are.

The network (the small configuration of ``hwbnn search``): a stem convolution (the binary
conv op of :mod:`hwbnn.nn.cells` on the input values, not searched) to ``stem_channels``, the
cells of ``layout`` (a reduction cell halves the image and doubles the channels; a cell's
inputs are preprocessed by :class:`hwbnn.nn.cells.Preprocess`, with stride 2 for the input
from before a reduction), global average pooling and a float linear classifier. With
``binary=False`` every operation is its full-precision twin (CP-NAS' Parent).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from hwbnn.nn.cells import ConvOp, NodeJoin, Preprocess, cell_forward, dense_sources, make_op
from hwbnn.nn.genotype import OPS, CellKind, Op
from hwbnn.search.partial import PartialMixedOp, edge_count, edge_weights, masked_softmax

#: a sampled sub-network: per cell kind, the operation index of every edge
Sample = dict[CellKind, Sequence[int]]


class Architecture(nn.Module):
    """alpha, beta and the active-operation mask of both cell kinds (module docstring)."""

    def __init__(self, steps: int) -> None:
        super().__init__()
        self.steps = steps
        edges = edge_count(steps)
        self.alpha = nn.ParameterDict(
            {k.value: nn.Parameter(1e-3 * torch.randn(edges, len(OPS))) for k in CellKind}
        )
        self.beta = nn.ParameterDict(
            {k.value: nn.Parameter(1e-3 * torch.randn(edges)) for k in CellKind}
        )
        for kind in CellKind:
            self.register_buffer(
                f"active_{kind.value}", torch.ones(edges, len(OPS), dtype=torch.bool)
            )

    def active(self, kind: CellKind) -> torch.Tensor:
        mask = getattr(self, f"active_{kind.value}")
        assert isinstance(mask, torch.Tensor)
        return mask

    def set_active(self, kind: CellKind, mask: torch.Tensor) -> None:
        self.active(kind).copy_(mask)

    def op_weights(self, kind: CellKind) -> torch.Tensor:
        """``softmax(alpha)`` over each edge's active operations (edges x operations)."""
        return masked_softmax(self.alpha[kind.value], self.active(kind))

    def edge_weights(self, kind: CellKind) -> torch.Tensor:
        return edge_weights(self.beta[kind.value], self.steps)


class _Edge(nn.Module):
    """One edge bound to its weights for one forward pass (for :func:`cell_forward`)."""

    def __init__(
        self, mixed: PartialMixedOp, weights: torch.Tensor, edge: torch.Tensor, sample: int | None
    ):
        super().__init__()
        self.mixed, self.weights, self.edge, self.sample = mixed, weights, edge, sample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.edge * self.mixed(x, self.weights, self.sample)


class SearchCell(nn.Module):
    def __init__(
        self,
        kind: CellKind,
        steps: int,
        channels: int,
        in0: int,
        in1: int,
        reduction_prev: bool,
        k: int,
        binary: bool,
    ) -> None:
        super().__init__()
        self.kind = kind
        reduction = kind is CellKind.REDUCE
        self.pre0 = Preprocess(in0, channels, 2 if reduction_prev else 1, binary)
        self.pre1 = Preprocess(in1, channels, 1, binary)
        self.sources = dense_sources(steps)
        part = channels // k if channels % k == 0 else 0
        if not part:
            raise ValueError(f"partial channels: K={k} must divide the {channels} channels")
        mixed = []
        for node in self.sources:
            for source in node:
                stride = 2 if reduction and source < 2 else 1
                ops = [None if op is Op.ZERO else make_op(op, part, stride, binary) for op in OPS]
                mixed.append(PartialMixedOp(ops, channels, k, stride))
        self.mixed = nn.ModuleList(mixed)
        self.joins = nn.ModuleList(NodeJoin(channels, binary) for _ in self.sources)
        self.out_channels = steps * channels

    def forward(
        self, s0: torch.Tensor, s1: torch.Tensor, arch: Architecture, sample: Sequence[int] | None
    ) -> torch.Tensor:
        weights = arch.op_weights(self.kind)
        edge = arch.edge_weights(self.kind)
        edges, index = [], 0
        for node in self.sources:
            bound = []
            for _ in node:
                op = None if sample is None else int(sample[index])
                mixed = self.mixed[index]
                assert isinstance(mixed, PartialMixedOp)
                bound.append(_Edge(mixed, weights[index], edge[index], op))
                index += 1
            edges.append(bound)
        return cell_forward(self.sources, edges, list(self.joins), self.pre0(s0), self.pre1(s1))


class SuperNet(nn.Module):
    """The supernet of one precision; ``forward(x, arch, sample)`` -> (logits, features)."""

    def __init__(
        self,
        in_channels: int,
        classes: int,
        layout: Sequence[CellKind],
        channels: int,
        stem_channels: int,
        steps: int,
        k: int,
        binary: bool = True,
    ) -> None:
        super().__init__()
        self.stem = ConvOp(in_channels, stem_channels, 3, 1, 1, binary)
        cells = []
        c_pp, c_p, c = stem_channels, stem_channels, channels
        reduction_prev = False
        for kind in layout:
            if kind is CellKind.REDUCE:
                c *= 2
            cell = SearchCell(kind, steps, c, c_pp, c_p, reduction_prev, k, binary)
            cells.append(cell)
            c_pp, c_p = c_p, cell.out_channels
            reduction_prev = kind is CellKind.REDUCE
        self.cells = nn.ModuleList(cells)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, classes)
        self.features = c_p

    def forward(
        self, x: torch.Tensor, arch: Architecture, sample: Sample | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            assert isinstance(cell, SearchCell)
            s0, s1 = s1, cell(s0, s1, arch, None if sample is None else sample[cell.kind])
        features = self.pool(s1).flatten(1)
        return self.classifier(features), features

    def kernels(self) -> dict[str, torch.Tensor]:
        """Every convolution's (latent) kernel by module name: the CP loss pairs a Child's
        with the Parent's of the same name."""
        return {
            name: module.weight
            for name, module in self.named_modules()
            if isinstance(module, nn.Conv2d)
        }
