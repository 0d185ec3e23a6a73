"""PNG plots of a build report (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

from hwbnn.plan import Plan  # noqa: E402


@dataclass(frozen=True)
class SweepPoint:
    """One folding of the sweep: cycles/frame, frames/s at the nominal clock, LUTs, BRAMs."""

    target_cycles: int
    cycles: int
    frames_per_second: float
    luts: int
    brams: int


@dataclass(frozen=True)
class MeasuredPoint:
    """A bitstream's report: LUTs used (nextpnr) and frames/s at its achieved clock."""

    label: str
    frames_per_second: float
    luts: int


def plot_layer_cycles(names: Sequence[str], cycles: Sequence[int], path: Path) -> Path:
    """Bar chart of each layer's cycles per frame; the slowest sets the initiation interval."""
    fig, ax = plt.subplots(figsize=(7, 3.6))
    slowest = max(cycles) if cycles else 0
    colors = ["tab:red" if c == slowest else "tab:blue" for c in cycles]
    ax.bar(range(len(cycles)), cycles, color=colors)
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_ylabel("cycles per frame")
    ax.set_title("Cycles per frame by layer (red: the initiation interval)")
    for i, c in enumerate(cycles):
        ax.annotate(str(c), (i, c), ha="center", va="bottom", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_sweep(
    sweep: Sequence[SweepPoint],
    measured: Sequence[MeasuredPoint],
    clock_mhz: float,
    device: str,
    path: Path,
) -> Path:
    """LUTs against frames/s over a folding sweep (analytical model) and the bitstreams built."""
    fig, ax = plt.subplots(figsize=(7, 4))
    if sweep:
        ax.plot(
            [p.frames_per_second for p in sweep],
            [p.luts for p in sweep],
            "o-",
            label=f"analytical model, {device} at {clock_mhz:g} MHz",
        )
        for p in sweep:
            ax.annotate(
                f"{p.cycles} cyc",
                (p.frames_per_second, p.luts),
                fontsize=7,
                xytext=(3, 3),
                textcoords="offset points",
            )
    for m in measured:
        ax.plot([m.frames_per_second], [m.luts], "s", markersize=8, label=f"{m.label} (nextpnr)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("frames per second")
    ax.set_ylabel("LUTs")
    ax.set_title("Resources against throughput over foldings")
    ax.grid(True, which="both", alpha=0.3)
    if sweep or measured:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


#: fill colour of a unit's box by kind (value of hwbnn.plan.UnitKind)
_KIND_COLORS = {
    "input_threshold": "#fde2c4",
    "mvau": "#cfe0f7",
    "sliding_window": "#d7f0d2",
    "max_pool": "#e6dcf5",
    "majority_pool": "#e6dcf5",
    "fork": "#eeeeee",
    "add_join": "#f8d7e3",
    "concat": "#f8d7e3",
    "threshold": "#fff4b8",
}
#: layout of the dataflow picture, in inches
_COLUMN_PITCH, _ROW_PITCH, _BOX_W, _BOX_H = 2.2, 1.3, 1.5, 0.8
_TOP_INPUT = -1


def _dataflow_edges(plan: Plan) -> list[tuple[int, int, str]]:
    """(src, dst, label) per stream: the plan's edges, or for a chain plan unit i-1 -> i
    with the FIFO after unit i-1 (-1: the top's s_axis; ``len(units)``: its m_axis)."""
    edges: list[tuple[int, int, str]] = []
    if plan.edges:
        for e in plan.edges:
            label = f"fifo {e.fifo_depth}" if e.fifo_depth else "no fifo"
            if e.src_width != e.dst_width:
                label += f"\n{e.src_width}->{e.dst_width} b"
            edges.append((e.src, e.dst, label))
    else:
        for u in plan.units:
            src = u.index - 1
            depth = plan.units[src].fifo_depth if src >= 0 else 0
            label = f"fifo {depth}" if depth else "no fifo"
            conv = plan.converter_after(src) if src >= 0 else None
            if conv is not None:
                label += f"\n{conv.in_width}->{conv.out_width} b"
            edges.append((src, u.index, label))
    outputs = [u.index for u in plan.units if u.is_output] or [len(plan.units) - 1]
    edges.extend((o, len(plan.units), "") for o in outputs)
    return edges


def _dataflow_layout(
    n: int, edges: Sequence[tuple[int, int, str]]
) -> dict[int, tuple[float, float]]:
    """(x, y) in inches of every node: column = longest path from the top input, rows
    spread around the middle of each column, ordered by their producers' mean row."""
    preds: dict[int, list[int]] = {v: [] for v in range(_TOP_INPUT, n + 1)}
    for src, dst, _ in edges:
        preds[dst].append(src)
    depth: dict[int, int] = {_TOP_INPUT: 0}

    def column(v: int) -> int:
        if v not in depth:
            depth[v] = 1 + max((column(p) for p in preds[v]), default=0)
        return depth[v]

    columns: dict[int, list[int]] = {}
    for v in range(_TOP_INPUT, n + 1):
        columns.setdefault(column(v), []).append(v)
    pos: dict[int, tuple[float, float]] = {}
    for c in sorted(columns):
        ys = {
            v: sum(pos[p][1] for p in preds[v] if p in pos) / max(1, len(preds[v]))
            for v in columns[c]
        }
        nodes = sorted(columns[c], key=lambda v: (-ys[v], v))
        for row, v in enumerate(nodes):
            pos[v] = (c * _COLUMN_PITCH, ((len(nodes) - 1) / 2 - row) * _ROW_PITCH)
    return pos


def plot_dataflow(plan: Plan, path: Path) -> Path:
    """Draw the dataflow graph of a plan to a PNG at ``path`` and return ``path``.

    One box per unit (name, kind, PE x SIMD, cycles/frame; red border: the units whose
    cycles are the initiation interval) and for the top's s_axis and m_axis, laid out left
    to right by topological depth; one arrow per stream labelled with its FIFO depth in beats
    (and the width conversion, bits per beat, where the widths differ). A chain plan (no
    ``edges``) is drawn as units i-1 -> i with the FIFO after unit i-1. Arrows that skip
    columns are bent so that they do not cross the boxes in between."""
    n = len(plan.units)
    edges = _dataflow_edges(plan)
    pos = _dataflow_layout(n, edges)
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    margin = 0.7
    x0, x1 = min(xs) - _BOX_W / 2 - 0.2, max(xs) + _BOX_W / 2 + 0.2
    y0, y1 = min(ys) - _BOX_H / 2 - margin, max(ys) + _BOX_H / 2 + margin
    fig = plt.figure(figsize=(x1 - x0, y1 - y0 + 0.4))
    ax = fig.add_axes((0.0, 0.0, 1.0, (y1 - y0) / (y1 - y0 + 0.4)))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.axis("off")
    boxes: dict[int, FancyBboxPatch] = {}
    for v, (x, y) in pos.items():
        if v in (_TOP_INPUT, n):
            text, color, edge, width = (
                ("input\n(s_axis)" if v < 0 else "output\n(m_axis)"),
                "white",
                "0.4",
                1.0,
            )
        else:
            u = plan.units[v]
            kind = u.kind.value.replace("_", " ")
            text = f"{u.name}\n{kind}\nPE {u.pe} x SIMD {u.simd}\n{u.cycles:,} cycles"
            slowest = u.cycles == plan.initiation_interval
            color = _KIND_COLORS.get(u.kind.value, "white")
            edge, width = ("tab:red", 2.2) if slowest else ("0.25", 1.0)
        box = FancyBboxPatch(
            (x - _BOX_W / 2, y - _BOX_H / 2),
            _BOX_W,
            _BOX_H,
            boxstyle="round,pad=0.0,rounding_size=0.08",
            facecolor=color,
            edgecolor=edge,
            linewidth=width,
        )
        ax.add_patch(box)
        boxes[v] = box
        ax.text(x, y, text, ha="center", va="center", fontsize=7, clip_on=False)
    seen: dict[tuple[int, int], int] = {}
    for src, dst, label in edges:
        (xa, ya), (xb, yb) = pos[src], pos[dst]
        twin = seen.get((src, dst), 0)
        seen[(src, dst)] = twin + 1
        span = round((xb - xa) / _COLUMN_PITCH)
        rad = (0.25 if span > 1 else 0.0) + 0.2 * twin
        ax.add_patch(
            FancyArrowPatch(
                (xa, ya),
                (xb, yb),
                patchA=boxes[src],
                patchB=boxes[dst],
                arrowstyle="-|>",
                mutation_scale=9,
                connectionstyle=f"arc3,rad={rad}",
                color="0.3",
                linewidth=0.9,
            )
        )
        if label:
            # the middle of arc3's quadratic curve (data units are inches on both axes)
            mx = (xa + xb) / 2 + rad * (yb - ya) / 2
            my = (ya + yb) / 2 - rad * (xb - xa) / 2
            straight = rad == 0.0
            ax.text(
                mx,
                my + (0.04 if straight else 0.0),
                label,
                ha="center",
                va="bottom" if straight else "center",
                fontsize=6,
                color="0.15",
                bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"},
            )
    kind = "graph" if plan.is_graph else "chain"
    latency = f", latency ~{plan.latency_cycles:,} (est.)" if plan.latency_cycles else ""
    fig.suptitle(
        f"Dataflow {kind}: {n} units, initiation interval {plan.initiation_interval:,} "
        f"cycles/frame{latency} (red: the slowest units); arrows: FIFO depth in beats",
        fontsize=9,
        x=0.005,
        y=1.0 - 0.05 / (y1 - y0 + 0.4),
        ha="left",
        va="top",
    )
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
