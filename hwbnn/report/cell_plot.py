"""A picture of a genotype's cells (PNG, matplotlib Agg backend).

One panel per cell kind (normal, reduction), each the DARTS cell of
:mod:`hwbnn.nn.genotype`: the two cell inputs ``c_{k-2}`` and ``c_{k-1}`` on the left, the
intermediate nodes left to right, every kept edge an arrow labelled with its operation, and
the concatenation of the intermediate nodes (the cell's output) on the right.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

from hwbnn.nn.genotype import Cell, Genotype  # noqa: E402

_OP_COLORS = {
    "conv_3x3": "tab:blue",
    "conv_5x5": "tab:purple",
    "dil_conv_3x3": "tab:cyan",
    "max_pool_3x3": "tab:orange",
    "avg_pool_3x3": "tab:brown",
    "identity": "tab:green",
}
_BOX_W, _BOX_H, _PITCH = 1.1, 0.55, 2.0


def _positions(cell: Cell) -> dict[str, tuple[float, float]]:
    """(x, y) of every node: inputs stacked at x = 0, node j at column j - 1, output last;
    intermediate nodes alternate above and below the middle so that edges stay readable."""
    pos = {"c_{k-2}": (0.0, 0.8), "c_{k-1}": (0.0, -0.8)}
    for j in range(2, 2 + cell.steps):
        pos[str(j)] = ((j - 1) * _PITCH, 0.9 if j % 2 == 0 else -0.9)
    pos["concat"] = ((cell.steps + 1) * _PITCH, 0.0)
    return pos


def _box(ax: Axes, xy: tuple[float, float], text: str, color: str) -> FancyBboxPatch:
    x, y = xy
    box = FancyBboxPatch(
        (x - _BOX_W / 2, y - _BOX_H / 2),
        _BOX_W,
        _BOX_H,
        boxstyle="round,pad=0.0,rounding_size=0.1",
        facecolor=color,
        edgecolor="0.25",
    )
    ax.add_patch(box)
    ax.text(x, y, text, ha="center", va="center", fontsize=8)
    return box


def _draw_cell(ax: Axes, cell: Cell, title: str) -> None:
    pos = _positions(cell)
    names = ("c_{k-2}", "c_{k-1}")
    boxes = {}
    for name, xy in pos.items():
        color = "0.92" if name in names else "lightyellow" if name == "concat" else "lightblue"
        label = f"${name}$" if name in names else name
        boxes[name] = _box(ax, xy, label, color)
    for j, edges in enumerate(cell.nodes, start=2):
        for twin, edge in enumerate(edges):
            src = names[edge.source] if edge.source < 2 else str(edge.source)
            (xa, ya), (xb, yb) = pos[src], pos[str(j)]
            rad = 0.15 * (twin + 1) if xb - xa > _PITCH else 0.0
            color = _OP_COLORS.get(edge.op.value, "0.3")
            ax.add_patch(
                FancyArrowPatch(
                    (xa, ya),
                    (xb, yb),
                    patchA=boxes[src],
                    patchB=boxes[str(j)],
                    arrowstyle="-|>",
                    mutation_scale=10,
                    connectionstyle=f"arc3,rad={rad}",
                    color=color,
                    linewidth=1.4,
                )
            )
            mx = (xa + xb) / 2 + rad * (yb - ya) / 2
            my = (ya + yb) / 2 - rad * (xb - xa) / 2
            ax.text(mx, my, edge.op.value, fontsize=7, color=color, ha="center", va="bottom")
    for j in range(2, 2 + cell.steps):
        ax.add_patch(
            FancyArrowPatch(
                pos[str(j)],
                pos["concat"],
                patchA=boxes[str(j)],
                patchB=boxes["concat"],
                arrowstyle="-|>",
                mutation_scale=10,
                color="0.6",
                linestyle="--",
            )
        )
    ax.set_xlim(-0.9, (cell.steps + 1) * _PITCH + 0.9)
    ax.set_ylim(-1.6, 1.6)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(title, fontsize=10)


def plot_genotype(genotype: Genotype, path: Path) -> Path:
    """Draw the normal and the reduction cell of ``genotype`` to a PNG at ``path``."""
    width = (genotype.normal.steps + 2) * _PITCH + 1.0
    fig, axes = plt.subplots(2, 1, figsize=(width, 5.2))
    method = genotype.search.get("method", "")
    suffix = f" ({method})" if method else ""
    _draw_cell(axes[0], genotype.normal, f"normal cell{suffix}")
    inputs = "$c_{k-2}$ and $c_{k-1}$"
    _draw_cell(axes[1], genotype.reduce, f"reduction cell{suffix}: stride 2 from {inputs}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
