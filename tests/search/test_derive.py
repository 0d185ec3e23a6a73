"""The genotype derived from given architecture weights, and its file round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hwbnn.nn.genotype import OPS, CellKind, Edge, Genotype, Op, load_genotype
from hwbnn.search.derive import derive_cell, derive_genotype

INDEX = {op: OPS.index(op) for op in OPS}


def weights(rows: list[dict[Op, float]]) -> np.ndarray:
    w = np.zeros((len(rows), len(OPS)))
    for e, row in enumerate(rows):
        for op, value in row.items():
            w[e, INDEX[op]] = value
    return w


def test_darts_derivation_keeps_two_strongest_edges_without_zero():
    # steps 2: node 2 reads edges 0, 1 (from nodes 0, 1); node 3 edges 2, 3, 4 (nodes 0, 1, 2)
    op_w = weights(
        [
            {Op.CONV_3X3: 0.6, Op.ZERO: 0.4},
            {Op.MAX_POOL_3X3: 0.3, Op.ZERO: 0.7},  # zero strongest: the best real op counts
            {Op.CONV_5X5: 0.9, Op.IDENTITY: 0.1},
            {Op.DIL_CONV_3X3: 0.5, Op.AVG_POOL_3X3: 0.5},  # a tie: the first in OPS order
            {Op.IDENTITY: 0.8, Op.CONV_3X3: 0.2},
        ]
    )
    # node 3's edge weights: 0.2, 0.5, 0.3 -> strengths 0.18, 0.25, 0.24
    edge_w = np.array([0.5, 0.5, 0.2, 0.5, 0.3])
    active = np.ones_like(op_w, dtype=bool)
    cell = derive_cell(op_w, edge_w, active, steps=2)
    assert cell.nodes == (
        (Edge(Op.CONV_3X3, 0), Edge(Op.MAX_POOL_3X3, 1)),
        (Edge(Op.DIL_CONV_3X3, 1), Edge(Op.IDENTITY, 2)),
    )


def test_after_reduction_the_single_op_of_each_edge_is_taken():
    op_w = np.zeros((5, len(OPS)))
    active = np.zeros((5, len(OPS)), dtype=bool)
    for e, op in enumerate([Op.CONV_5X5, Op.IDENTITY, Op.MAX_POOL_3X3, Op.CONV_3X3, Op.IDENTITY]):
        op_w[e, INDEX[op]] = 1.0
        active[e, INDEX[op]] = True
    edge_w = np.array([0.5, 0.5, 0.6, 0.1, 0.3])
    cell = derive_cell(op_w, edge_w, active, steps=2)
    assert cell.nodes == (
        (Edge(Op.CONV_5X5, 0), Edge(Op.IDENTITY, 1)),
        (Edge(Op.MAX_POOL_3X3, 0), Edge(Op.IDENTITY, 2)),
    )
    only_zero = np.zeros_like(active)
    only_zero[:, INDEX[Op.ZERO]] = True
    with pytest.raises(ValueError, match="node 0"):
        derive_cell(op_w, edge_w, only_zero, steps=2)


def test_genotype_round_trip(tmp_path: Path):
    op_w = np.full((5, len(OPS)), 1 / len(OPS))
    op_w[:, INDEX[Op.CONV_3X3]] = 0.5
    active = np.ones_like(op_w, dtype=bool)
    edge_w = np.array([0.5, 0.5, 0.2, 0.3, 0.5])
    g = derive_genotype(
        {k: op_w for k in CellKind},
        {k: edge_w for k in CellKind},
        {k: active for k in CellKind},
        steps=2,
        layout=(CellKind.NORMAL, CellKind.REDUCE, CellKind.NORMAL),
        channels=8,
        stem_channels=16,
        search={"method": "bnas", "seed": 3, "estimated_cell_luts": 1234},
    )
    g.save(tmp_path / "genotype.json")
    back = load_genotype(tmp_path / "genotype.json")
    assert back == g and back.search == g.search
    assert Genotype.from_dict(g.to_dict()).to_dict() == g.to_dict()
    assert back.normal.nodes[1] == (Edge(Op.CONV_3X3, 1), Edge(Op.CONV_3X3, 2))
