"""The FPGA cost of the operations from the project's resource model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hwbnn.errors import ConfigError
from hwbnn.fpga.estimate_mvau import adder_tree_luts
from hwbnn.nn.cellnet import CellNet, CellNetConfig
from hwbnn.nn.cells import ConvOp
from hwbnn.nn.genotype import OPS, Cell, CellKind, Edge, Genotype, Op
from hwbnn.search.cost import EdgeShape, cell_shapes, cost_table, genotype_luts, op_luts

LAYOUT = (CellKind.NORMAL, CellKind.REDUCE, CellKind.NORMAL)


@pytest.mark.parametrize("cycles", [256, 1024, 4096])
@pytest.mark.parametrize("shape", [EdgeShape(8, 8, 8, 1), EdgeShape(8, 8, 16, 2)])
def test_cost_ordering(shape: EdgeShape, cycles: int):
    luts = {op: op_luts(op, shape, cycles) for op in OPS}
    assert luts[Op.IDENTITY] == luts[Op.ZERO] == 0
    assert luts[Op.CONV_5X5] > luts[Op.CONV_3X3] > luts[Op.MAX_POOL_3X3] > 0
    assert luts[Op.CONV_5X5] > luts[Op.DIL_CONV_3X3] >= luts[Op.CONV_3X3] * 0.9
    assert luts[Op.AVG_POOL_3X3] > luts[Op.MAX_POOL_3X3]
    assert luts[Op.AVG_POOL_3X3] < luts[Op.CONV_5X5]


def test_faster_target_costs_more():
    shape = EdgeShape(8, 8, 8, 1)
    assert op_luts(Op.CONV_3X3, shape, 256) > op_luts(Op.CONV_3X3, shape, 4096)


def test_unreachable_target_is_a_config_error():
    with pytest.raises(ConfigError, match="raise --cycles"):
        op_luts(Op.MAX_POOL_3X3, EdgeShape(8, 8, 8, 1), 8)


def test_cell_shapes_and_table():
    cells = cell_shapes(LAYOUT, 8, 8, 8, 2)
    assert [k for k, _ in cells] == list(LAYOUT)
    normal, reduce, after = (edges for _, edges in cells)
    assert normal[0] == EdgeShape(8, 8, 8, 1)
    assert reduce[:2] == [EdgeShape(8, 8, 16, 2)] * 2 and reduce[4] == EdgeShape(4, 4, 16, 1)
    assert after[0] == EdgeShape(4, 4, 16, 1)
    table = cost_table(LAYOUT, (8, 8), 8, 2, 1024)
    assert table[CellKind.NORMAL].shape == (5, len(OPS))
    assert table[CellKind.REDUCE].max() == pytest.approx(1.0)  # the dearest op (5x5, stride 2)
    assert (table[CellKind.NORMAL][:, OPS.index(Op.IDENTITY)] == 0).all()
    # two normal cells share the normal alpha: their costs add up
    assert table[CellKind.NORMAL].max() > 1.0


def test_genotype_luts_sums_the_kept_edges():
    conv = Cell(((Edge(Op.CONV_3X3, 0), Edge(Op.IDENTITY, 1)),))
    g = Genotype(conv, conv, (CellKind.NORMAL, CellKind.REDUCE), 8, 16)
    expected = op_luts(Op.CONV_3X3, EdgeShape(8, 8, 8, 1), 1024) + op_luts(
        Op.CONV_3X3, EdgeShape(8, 8, 16, 2), 1024
    )
    assert genotype_luts(g, (8, 8), 1024) == round(expected)
    assert np.isfinite(expected)


def test_cell_shapes_are_the_networks_on_odd_sizes():
    """Every edge shape of :func:`cell_shapes` is the (H, W, C) and stride a real CellNet's
    edge sees, on 28 x 28 images halved three times (28 -> 14 -> 7 -> 4: ceil, as the padded
    stride-2 convolutions) and a normal cell reading the odd 7 x 7 map through a stride-2
    preprocessing."""
    dense = Cell(tuple(tuple(Edge(Op.CONV_3X3, i) for i in range(j)) for j in (2, 3)))
    layout = (CellKind.REDUCE, CellKind.REDUCE, CellKind.REDUCE, CellKind.NORMAL)
    g = Genotype(dense, dense, layout, 2, 4)
    model = CellNet(CellNetConfig((1, 28, 28), g, classes=2)).eval()
    seen: list[list[EdgeShape]] = [[] for _ in layout]
    for c, cell in enumerate(model.cells):
        for node in cell.edges:
            for op in node:
                assert isinstance(op, ConvOp)

                def record(module, inputs, _output, c=c):
                    _, channels, h, w = inputs[0].shape
                    seen[c].append(EdgeShape(h, w, channels, module.conv.stride[0]))

                op.register_forward_hook(record)
    with torch.no_grad():
        model(torch.rand(1, 1, 28, 28))
    shapes = cell_shapes(layout, 28, 28, 2, 2)
    assert [edges for _, edges in shapes] == seen  # dense cells: DARTS edge order
    assert [k for k, _ in shapes] == list(layout)
    assert seen[3][0] == EdgeShape(4, 4, 16, 1) and seen[2][0] == EdgeShape(7, 7, 16, 2)


#: the default search space (hwbnn search: 8 x 8 digits, 8 channels, 2 steps): the avg pool's
#: SIMD lanes per edge shape and cycles/frame, as before the pool's SIMD options were read from
#: hwbnn.ir.folding.folding_options
POOL_SIMD = {
    256: {(8, 8, 8, 1): 24, (8, 8, 16, 2): 16, (4, 4, 16, 1): 16},
    1024: {(8, 8, 8, 1): 8, (8, 8, 16, 2): 4, (4, 4, 16, 1): 4},
    4096: {(8, 8, 8, 1): 2, (8, 8, 16, 2): 1, (4, 4, 16, 1): 1},
}


@pytest.mark.parametrize("cycles", sorted(POOL_SIMD))
def test_avg_pool_lanes_of_the_search_space(cycles: int):
    shapes = {edge for _, edges in cell_shapes(LAYOUT, 8, 8, 8, 2) for edge in edges}
    assert {(e.height, e.width, e.channels, e.stride) for e in shapes} == set(POOL_SIMD[cycles])
    per_lane = adder_tree_luts(9, 1) + 4  # a 9-input popcount and its 4-bit compare
    for shape in shapes:
        lanes = POOL_SIMD[cycles][(shape.height, shape.width, shape.channels, shape.stride)]
        avg = op_luts(Op.AVG_POOL_3X3, shape, cycles)
        assert avg - op_luts(Op.MAX_POOL_3X3, shape, cycles) == lanes * per_lane
