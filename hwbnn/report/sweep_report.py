"""The report of a design-space sweep (``hwbnn sweep``): ``SWEEP/report/index.html`` with the
results table and a Pareto plot, read only from the rows the sweep recorded.

The plot puts every finished point at (frames/s, LUT4), coloured by its accuracy (the bit-exact
reference's, L2), and joins the Pareto front: the points that no other point beats on all three
of frames/s (higher), LUT4 (lower) and accuracy (higher).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2

from hwbnn import __version__

REPORT_DIR = "report"
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"


def cell(row: dict[str, Any], key: str, grouped: bool = False) -> str:
    """A table cell: the value (accuracy to 4 decimals, other floats to 6 digits; for reading,
    ``grouped``: thousands grouped, whole numbers from 1,000), or ``n/a (reason)`` from
    ``row["notes"]``."""
    value = row.get(key)
    if value is None:
        reason = row.get("notes", {}).get(key)
        return f"n/a ({reason})" if reason else ""
    if isinstance(value, float):
        if key == "accuracy":
            return f"{value:.4f}"
        if grouped:
            return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
        return f"{value:.6g}"
    if grouped and isinstance(value, int) and not isinstance(value, bool) and key != "seed":
        return f"{value:,}"
    return str(value)


def pareto_front(points: Sequence[tuple[float, float, float]]) -> list[int]:
    """Indices of the points ``(frames_per_s, lut4, accuracy)`` that no other point dominates
    (at least as good in all three, better in one)."""

    def dominates(a: tuple[float, float, float], b: tuple[float, float, float]) -> bool:
        no_worse = a[0] >= b[0] and a[1] <= b[1] and a[2] >= b[2]
        return no_worse and (a[0] > b[0] or a[1] < b[1] or a[2] > b[2])

    return [i for i, p in enumerate(points) if not any(dominates(q, p) for q in points)]


def plot_pareto(rows: Sequence[dict[str, Any]], clock_mhz: float, path: Path) -> Path:
    """LUT4 against frames/s of the finished points, coloured by accuracy; front joined."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [
        r
        for r in rows
        if r.get("frames_per_s") is not None
        and r.get("lut4") is not None
        and r.get("accuracy") is not None
    ]
    done.sort(key=lambda r: float(r["accuracy"]))  # the most accurate drawn on top
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    if done:
        fps = [float(r["frames_per_s"]) for r in done]
        luts = [float(r["lut4"]) for r in done]
        acc = [float(r["accuracy"]) for r in done]
        dots = ax.scatter(fps, luts, c=acc, cmap="viridis", s=60, edgecolors="k", zorder=3)
        fig.colorbar(dots, ax=ax, label="accuracy (L2 reference, test split)")
        front = sorted(pareto_front(list(zip(fps, luts, acc, strict=True))), key=lambda i: fps[i])
        ax.plot(
            [fps[i] for i in front], [luts[i] for i in front], "r--", lw=1, label="Pareto front"
        )
        labels: dict[tuple[float, float], list[str]] = {}  # points at one place: one label
        for r, x, y in zip(done, fps, luts, strict=True):
            labels.setdefault((x, y), []).append(f"{r['folding']} s{r['seed']}")
        for (x, y), names in labels.items():
            text = ", ".join(sorted(names))
            ax.annotate(text, (x, y), fontsize=7, xytext=(4, 4), textcoords="offset points")
        ax.legend(fontsize=8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.margins(x=0.2, y=0.15)  # room for the labels
    else:
        ax.text(0.5, 0.5, "no finished point", ha="center", transform=ax.transAxes)
    bases = sorted({str(r.get("frames_per_s_clock")) for r in done})
    ax.set_xlabel(f"frames per second ({', '.join(bases) or f'{clock_mhz:g} MHz'})")
    ax.set_ylabel("LUT4")
    ax.set_title("Sweep: resources against throughput, coloured by accuracy")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_sweep_report(
    sweep: Path, rows: Sequence[dict[str, Any]], columns: Sequence[str], clock_mhz: float
) -> dict[str, str]:
    """Write ``SWEEP/report/index.html`` and ``SWEEP/report/pareto.png``; return their paths.
    ``rows`` are the sweep's table rows (:func:`hwbnn.pipeline.sweep.table_rows`): values,
    None where absent with the reason in ``row["notes"]``."""
    out = Path(sweep) / REPORT_DIR
    out.mkdir(parents=True, exist_ok=True)
    plot = plot_pareto(rows, clock_mhz, out / "pareto.png")

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
    )
    html = env.get_template("sweep.html.j2").render(
        version=__version__,
        sweep=str(sweep),
        columns=list(columns),
        rows=[{"status": r["status"], "cells": [cell(r, c, True) for c in columns]} for r in rows],
        done=sum(r["status"] == "done" for r in rows),
        failed=sum(r["status"] == "failed" for r in rows),
        plot=plot.name,
    )
    index = out / "index.html"
    index.write_text(html)
    return {"report": str(index), "plot": str(plot)}
