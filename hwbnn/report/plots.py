"""PNG plots of a build report (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


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
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
