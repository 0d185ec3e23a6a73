"""``hwbnn report BUILD``: one HTML page (``BUILD/report/index.html``) with PNG plots.

It reads what the build holds and says "not run" for what it does not:

- the verification ladder: only the records of ``verification.json`` (hwbnn.verify), one row
  per level and engine, with frames, mismatches (the first one named when a level failed),
  accuracy, cycles/frame and latency where measured, and when and how it ran; a level with no
  record shows "not run";
- per layer: shape, PE/SIMD and cycles per frame (``folding.json`` and the IR), and a bar chart;
- the dataflow of the hardware plan (:func:`hwbnn.plan.load_plan`): units with their folding
  and cycles, streams with their FIFO depths (:func:`hwbnn.report.plots.plot_dataflow`);
- resources and timing of every ``bitstream/<board>/report.json``;
- a folding sweep: the folding chooser at several cycles/frame targets, each costed by the
  analytical model (:mod:`hwbnn.fpga.estimate`), plotted as LUTs against frames/s with the
  bitstreams' measured points.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2

from hwbnn import __version__
from hwbnn.build import read_manifest
from hwbnn.errors import ConfigError
from hwbnn.fpga.boards import LFE5U_85F, Device
from hwbnn.fpga.estimate import estimate
from hwbnn.fpga.estimate_cost import estimate_cost
from hwbnn.ir.folding import (
    Folding,
    choose_folding,
    initiation_interval,
    layer_cycles,
    load_folding,
    max_cycles,
)
from hwbnn.ir.serialize import load_network
from hwbnn.ir.types import (
    DBFMatrixVector,
    InputThreshold,
    Layer,
    MajorityPool,
    MatrixVector,
    MaxPool,
    Network,
    SlidingWindow,
    Threshold,
)
from hwbnn.plan import Plan, load_plan
from hwbnn.report.plots import (
    MeasuredPoint,
    SweepPoint,
    plot_dataflow,
    plot_layer_cycles,
    plot_sweep,
)
from hwbnn.units import count, mhz, rate
from hwbnn.verify.record import Level, VerificationRecord, read_results

REPORT_DIR = "report"
TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
#: nominal clock of the analytical sweep
SWEEP_CLOCK_MHZ = 100.0


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def record_detail(record: VerificationRecord) -> str:
    """One line of a record's figures, numbers rounded and grouped."""
    parts = [f"{record.frames:,} frames", f"{record.mismatches:,} mismatching"]
    if record.accuracy is not None:
        parts.append(f"accuracy {record.accuracy:.4f}")
    if record.cycles_per_frame is not None:
        parts.append(f"{record.cycles_per_frame:,.1f} cycles/frame")
    if record.latency_cycles is not None:
        parts.append(f"latency {record.latency_cycles:,} cycles")
    if record.seconds is not None:
        parts.append(f"{record.seconds:,.1f} s")
    text = ", ".join(parts)
    problem = record.problem
    if problem is not None:
        text += f"; first: {problem}"
    when = " ".join(x for x in (record.date, f"`{record.command}`" if record.command else "") if x)
    return f"{text} ({when})" if when else text


def verification_rows(build: Path) -> list[dict[str, str]]:
    """One row per record of BUILD/verification.json, and a "not run" row per level of the
    ladder (L0-L5, driver) that has none; ``level``, ``status`` (pass, FAIL, not run) and
    ``detail``."""
    records = read_results(build)
    rows: list[dict[str, str]] = []
    for level in Level:
        mine = [r for r in records if r.level is level]
        if not mine:
            rows.append({"level": level.title, "status": "not run", "detail": ""})
        for record in mine:
            rows.append(
                {
                    "level": f"{level.title} ({record.engine})",
                    "status": "pass" if record.ok else "FAIL",
                    "detail": record_detail(record),
                }
            )
    return rows


def describe_layer(layer: Layer) -> tuple[str, str]:
    """(kind, shape) of a layer for the report table; images as H x W x C."""
    if isinstance(layer, InputThreshold):
        return "input thresholds", f"{layer.in_elements} -> {layer.out_elements}"
    if isinstance(layer, SlidingWindow):
        h, w, c = layer.in_shape
        oh, ow, _ = layer.out_shape
        pad = "/".join(map(str, layer.padding))
        what = f"sliding window {layer.kernel}x{layer.kernel} stride {layer.stride} pad {pad}"
        what += f" dilation {layer.dilation}" if layer.dilation > 1 else ""
        return what, f"{h}x{w}x{c} -> {oh}x{ow} windows of {layer.window}"
    if isinstance(layer, MaxPool):
        (h, w, c), (oh, ow, _) = layer.in_shape, layer.out_shape
        what = f"max pool (OR) {layer.kernel}x{layer.kernel} stride {layer.stride}"
        what += f" pad {'/'.join(map(str, layer.padding))}" if any(layer.padding) else ""
        return what, f"{h}x{w}x{c} -> {oh}x{ow}x{c}"
    if isinstance(layer, MajorityPool):
        (h, w, c), (oh, ow, _) = layer.in_shape, layer.out_shape
        pad = "/".join(map(str, layer.padding))
        what = f"majority pool {layer.kernel}x{layer.kernel} stride {layer.stride} pad {pad}"
        return what, f"{h}x{w}x{c} -> {oh}x{ow}x{c}"
    if isinstance(layer, MatrixVector):
        if layer.pixels > 1:
            return "matrix-vector per pixel", f"{layer.pixels} x ({layer.mw} -> {layer.mh})"
        return "matrix-vector", f"{layer.in_elements} -> {layer.out_elements}"
    if isinstance(layer, DBFMatrixVector):
        per = f"{layer.pixels} x " if layer.pixels > 1 else ""
        return f"DBF ({layer.bases} bases)", f"{per}({layer.mw} -> {layer.mh})"
    if isinstance(layer, Threshold):
        side = " with side input" if layer.has_side else ""
        return f"threshold ({layer.steps} steps){side}", f"{layer.channels} channels"
    return layer.kind.value.replace("_", " "), ""


def layer_rows(net: Network, folding: Folding) -> list[dict[str, Any]]:
    rows = []
    for layer, fold in zip(net.layers, folding.layers, strict=True):
        kind, shape = describe_layer(layer)
        if not shape:
            shape = net.edge(layer.name).describe()
        rows.append(
            {
                "name": layer.name,
                "kind": kind,
                "shape": shape,
                "pe": fold.pe,
                "simd": fold.simd,
                "cycles": layer_cycles(layer, fold, net),
            }
        )
    return rows


def sweep(net: Network, device: Device, points: int) -> list[SweepPoint]:
    """The chooser at ``points`` targets from fully folded down to (nearly) fully parallel."""
    top = max_cycles(net)
    targets = sorted({max(1, round(top / (4**k))) for k in range(points)} | {top}, reverse=True)[
        :points
    ]
    out = []
    seen = set()
    cost = estimate_cost(net, device)  # the chooser hwbnn compile uses
    for target in targets:
        folding = choose_folding(net, target, cost)
        est = estimate(net, folding, device)
        if est.initiation_interval in seen:
            continue
        seen.add(est.initiation_interval)
        out.append(
            SweepPoint(
                target,
                est.initiation_interval,
                est.frames_per_second(SWEEP_CLOCK_MHZ),
                est.luts,
                est.brams,
            )
        )
    return out


def _rate_cells(fr: dict[str, Any] | None) -> dict[str, str] | None:
    """A report's ``frame_rate`` as the texts of its table cells (None for older reports)."""
    if not fr:
        return None
    return {
        "core": f"{rate(fr['core'])} at {mhz(fr['clock_mhz'])}",
        "link": f"{rate(fr['link'])} at {count(round(fr['baud']), 'baud')}",
        "bytes": f"{fr['frame_in_bytes']} in, {fr['frame_out_bytes']} out",
        "user": rate(fr["user"]),
        "bottleneck": fr["bottleneck"],
    }


def bitstream_rows(build: Path) -> list[dict[str, Any]]:
    rows = []
    root = build / "bitstream"
    for path in sorted(root.glob("*/report.json")) if root.is_dir() else []:
        doc = _read_json(path)
        if doc is None:
            continue
        clock = doc.get("clock", {})
        rows.append(
            {
                "board": doc.get("board"),
                "device": doc.get("device"),
                "resources": doc.get("resources", {}),
                "estimate": doc.get("estimate", {}),
                "requested_mhz": clock.get("requested_mhz"),
                "achieved_mhz": clock.get("achieved_mhz"),
                "timing_met": clock.get("timing_met"),
                "bitstream": doc.get("bitstream"),
                "note": doc.get("note", ""),
                "fps": doc.get("frames_per_second_at_fmax"),
                "rate": _rate_cells(doc.get("frame_rate")),
            }
        )
    return rows


def write_build_report(build: Path, sweep_points: int = 6) -> dict[str, Any]:
    """Write ``BUILD/report/index.html`` and its plots; return their paths."""
    build = Path(build)
    manifest = read_manifest(build)
    net = load_network(build)
    folding = load_folding(build / "folding.json", net)
    out = build / REPORT_DIR
    out.mkdir(exist_ok=True)
    layers = layer_rows(net, folding)
    plots = [
        plot_layer_cycles(
            [r["name"] for r in layers], [r["cycles"] for r in layers], out / "layer_cycles.png"
        )
    ]
    plan: Plan | None = None
    dataflow, dataflow_note = None, ""
    try:
        plan = load_plan(build)
    except ConfigError as exc:  # a plan.json of another version: say so, draw the rest
        dataflow_note = str(exc)
    if plan is not None:
        plots.append(plot_dataflow(plan, out / "dataflow.png"))
        dataflow = plots[-1].name
    bitstreams = bitstream_rows(build)
    measured = [
        MeasuredPoint(r["board"], r["fps"], r["resources"]["lut"]["used"])
        for r in bitstreams
        if r["fps"] and "lut" in r["resources"]
    ]
    points = sweep(net, LFE5U_85F, max(1, sweep_points))
    sweep_plot = plot_sweep(points, measured, SWEEP_CLOCK_MHZ, LFE5U_85F.name, out / "sweep.png")
    plots.append(sweep_plot)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        undefined=jinja2.StrictUndefined,
        autoescape=True,
    )
    html = env.get_template("index.html.j2").render(
        version=__version__,
        build=str(build),
        manifest=manifest,
        ladder=verification_rows(build),
        layers=layers,
        ii=initiation_interval(net, folding),
        bitstreams=bitstreams,
        sweep=points,
        sweep_clock=SWEEP_CLOCK_MHZ,
        sweep_device=LFE5U_85F.name,
        layer_plot=plots[0].name,
        sweep_plot=sweep_plot.name,
        dataflow=dataflow,
        dataflow_note=dataflow_note,
        is_graph=plan is not None and plan.is_graph,
    )
    index = out / "index.html"
    index.write_text(html)
    return {"index": str(index), "plots": [str(p) for p in plots]}
