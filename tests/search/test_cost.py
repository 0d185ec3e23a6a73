"""The FPGA cost of the operations from the project's resource model."""

from __future__ import annotations

import numpy as np
import pytest

from hwbnn.errors import ConfigError
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
