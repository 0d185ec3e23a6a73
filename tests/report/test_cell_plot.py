"""The picture of a genotype's cells: one PNG with both cells, every edge drawn."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from hwbnn.nn.genotype import Cell, Edge, Genotype, Op
from hwbnn.report import cell_plot


def test_both_cells_drawn_with_an_arrow_per_edge(tmp_path: Path, monkeypatch) -> None:
    normal = Cell(((Edge(Op.CONV_3X3, 0), Edge(Op.IDENTITY, 1)), (Edge(Op.AVG_POOL_3X3, 2),)))
    reduce = Cell(((Edge(Op.MAX_POOL_3X3, 1),), (Edge(Op.DIL_CONV_3X3, 0), Edge(Op.CONV_5X5, 2))))
    genotype = Genotype(normal, reduce, ("normal", "reduce"), 8, 16, {"method": "cpnas"})
    figures = []
    monkeypatch.setattr(plt, "close", figures.append)  # keep the figure to look at it
    path = cell_plot.plot_genotype(genotype, tmp_path / "cells.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (fig,) = figures
    top, bottom = fig.axes
    # 3 edges + one arrow per intermediate node into the concatenation; 5 boxes
    assert len([p for p in top.patches if isinstance(p, FancyArrowPatch)]) == 3 + 2
    assert len([p for p in top.patches if isinstance(p, FancyBboxPatch)]) == 5
    labels = [t.get_text() for t in bottom.texts]
    assert {"max_pool_3x3", "dil_conv_3x3", "conv_5x5"} <= set(labels)
    assert top.get_title() == "normal cell (cpnas)"


@pytest.mark.parametrize("steps", [1, 4])
def test_any_number_of_nodes(tmp_path: Path, steps: int) -> None:
    nodes = tuple((Edge(Op.CONV_3X3, j - 1),) for j in range(2, 2 + steps))
    genotype = Genotype(Cell(nodes), Cell(nodes), ("reduce",), 4, 4)
    assert cell_plot.plot_genotype(genotype, tmp_path / "c.png").stat().st_size > 5000
