"""The genotype a search found: DARTS' derivation (Liu et al., ICLR 2019) with PC-DARTS'
edge weights (Xu et al., ICLR 2020).

For every edge (i, j) the weight of operation o is ``w_o = softmax(beta_j)_i *
softmax_active(alpha_ij)_o``; the edge's operation is its strongest active non-``zero`` one
and its strength that weight. Each node keeps its ``keep`` (2) strongest incoming edges (all
of them when it has fewer). After BNAS' or CP-NAS' reduction one operation is left on every
edge, so only the choice of edges remains; before it (or for a plain DARTS-style run) the
derivation is DARTS' own.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from hwbnn.nn.genotype import OPS, Cell, CellKind, Edge, Genotype, Op
from hwbnn.search.partial import node_edge_ranges
from hwbnn.search.reduce import ZERO_INDEX


def derive_cell(
    op_weights: np.ndarray, edge_weights: np.ndarray, active: np.ndarray, steps: int, keep: int = 2
) -> Cell:
    """The cell from ``op_weights`` (edges x operations, 0 for abandoned operations),
    ``edge_weights`` (per edge, already normalised per node) and ``active``."""
    w = edge_weights[:, None] * op_weights
    candidates = active.copy()
    candidates[:, ZERO_INDEX] = False
    nodes = []
    for r in node_edge_ranges(steps):
        ranked = []
        for source, e in enumerate(r):
            if not candidates[e].any():
                continue
            ops = np.flatnonzero(candidates[e])
            best = int(ops[np.argmax(w[e, ops])])  # the first of equal weights (OPS order)
            ranked.append((-float(w[e, best]), source, best))
        if not ranked:
            raise ValueError(f"node {r.start}: every incoming edge is zero")
        ranked.sort()
        kept = sorted(ranked[:keep], key=lambda t: t[1])
        nodes.append(tuple(Edge(OPS[op], source) for _, source, op in kept))
    return Cell(tuple(nodes))


def derive_genotype(
    op_weights: Mapping[CellKind, np.ndarray],
    edge_weights: Mapping[CellKind, np.ndarray],
    active: Mapping[CellKind, np.ndarray],
    *,
    steps: int,
    layout: tuple[CellKind, ...],
    channels: int,
    stem_channels: int,
    search: dict[str, object] | None = None,
) -> Genotype:
    cells = {
        kind: derive_cell(op_weights[kind], edge_weights[kind], active[kind], steps)
        for kind in CellKind
    }
    return Genotype(
        normal=cells[CellKind.NORMAL],
        reduce=cells[CellKind.REDUCE],
        layout=layout,
        channels=channels,
        stem_channels=stem_channels,
        search=dict(search or {}),
    )


def remaining_ops(active: np.ndarray) -> list[list[Op]]:
    """The operations still active on every edge (for the search record)."""
    return [[OPS[o] for o in np.flatnonzero(row)] for row in active]
