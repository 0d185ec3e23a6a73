"""Plan -> Verilog: a thin top level ``hwbnn_top`` wiring the modules of rtl/, in ``BUILD/rtl/``.

Generated files (all logic stays in rtl/; the top only instantiates and connects):

- ``hwbnn_top.v``, rendered from ``templates/rtl/top.v.j2`` (Jinja2, StrictUndefined): per layer
  an ``hwbnn_input_threshold``, an ``hwbnn_mvau`` (OUTPUT_MODE 0, OUTPUT_MODE 1 for the last
  layer; VECTORS = the layer's pixels, the output pixels of the sliding window before it), an
  ``hwbnn_sliding_window`` (a SlidingWindow: kernel, stride, padding, pad code, ELEM_BITS 1 or
  the input code width), or for a MaxPool an ``hwbnn_sliding_window`` without padding followed
  by an ``hwbnn_window_or`` (OR over each window), for a MajorityPool an
  ``hwbnn_sliding_window`` with its padding followed by an ``hwbnn_window_majority`` (its
  thresholds a parameter); an ``hwbnn_axis_width_converter`` wherever
  layer i's output beat (PE_i bits of an MVAU, SIMD_i elements of the other layers) differs from
  layer i+1's input beat (SIMD_{i+1} elements); with ``fifo_depth > 0`` an ``hwbnn_axis_fifo``
  after every layer but the last. The default (``fifo_depth=None``) is no FIFOs for dense
  networks and :func:`hwbnn.plan.auto_fifo_depth` for networks with image layers: their
  streams are bursty (a pool emits all channels of an output pixel at the window's last
  position, a window generator waits for rows), and with several layers at the same cycles per
  frame a stall that no FIFO absorbs is lost for good.
- a graph (forks, joins, side-input thresholds; :mod:`hwbnn.plan.graph`) is wired by
  :mod:`hwbnn.codegen.rtl_graph`: one link per planned edge, each with its FIFO (the depth the
  plan derived for branches) and width converter; ``hwbnn_fork``, ``hwbnn_add_join``,
  ``hwbnn_concat`` and ``hwbnn_threshold`` instances.
- ``<prefix>_weights.hex``, ``<prefix>_thresholds.hex``, ``<prefix>_input_thresholds.hex``:
  the memories, written by :mod:`hwbnn.codegen.memfiles` (``prefix`` is ``l<index>_<name>``).
- ``hwbnn_*.v``: copies of the rtl/ modules the top instantiates and of the modules they
  instantiate (:func:`hwbnn.resources.rtl_files`), so the directory is self-contained.
- ``sources.f``: the Verilog files in compile order (modules first, the top last), one per line,
  relative to ``BUILD/rtl/``.

Interface of ``hwbnn_top`` (clk, rst synchronous active-high):

- ``s_axis``: ``IN_WIDTH = SIMD_0 * IN_BITS`` bits; a frame is ``IN_ELEMENTS / SIMD_0`` beats,
  code ``i`` at bits ``[(i % SIMD_0)*IN_BITS +: IN_BITS]`` of beat ``i // SIMD_0``; tlast on the
  last beat of a frame (an early tlast ends the frame, as in the modules).
- ``m_axis``: ``OUT_WIDTH = PE_last * ACC_WIDTH`` bits; beat ``nf`` of a frame holds class
  ``nf*PE_last + p`` at bits ``[p*ACC_WIDTH +: ACC_WIDTH]`` in two's complement; tlast on the
  frame's last beat. ``ACC_WIDTH`` is hwbnn_mvau's, derived from the last layer's fan-in and
  input bits (the plan's ``io.acc_width``, :func:`hwbnn.plan.widths.mvau_widths`).
- parameter ``MEM_DIR`` (default ``"."``): where the memory files are, relative to the tool's
  working directory; localparams ``IN_ELEMENTS IN_BITS IN_SIMD IN_WIDTH IN_BEATS CLASSES OUT_PE
  ACC_WIDTH OUT_WIDTH OUT_BEATS LAYERS II_CYCLES`` describe the streams for testbenches.

Initiation interval: the slowest layer's cycles per frame, ``(MH/PE)*(MW/SIMD)*pixels`` for an
MVAU, ``N/SIMD`` for the input thresholds, ``max(in, out)/SIMD`` elements for a sliding window
or max pool (:func:`hwbnn.ir.folding.initiation_interval`); the image stages reach it with
frames back to back (hwbnn_sliding_window overlaps frames in its line buffer).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hwbnn import __version__
from hwbnn.codegen.rtl_graph import graph_blocks
from hwbnn.codegen.rtl_stages import Block, Link, Param, Stage, Unit, plan_stages
from hwbnn.codegen.templating import render_file
from hwbnn.errors import ConfigError
from hwbnn.ir.folding import Folding
from hwbnn.ir.types import Network
from hwbnn.plan import Plan, auto_fifo_depth, build_plan
from hwbnn.resources import rtl_files

__all__ = [
    "Block",
    "Link",
    "Param",
    "Stage",
    "Unit",
    "auto_fifo_depth",
    "generate_rtl",
    "plan_blocks",
    "plan_stages",
    "render",
    "render_rtl",
    "rtl_sources",
    "top_context",
]

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates" / "rtl"
RTL_DIR = "rtl"
TOP = "hwbnn_top"
SOURCES_FILE = "sources.f"


def render(template: str, **context: Any) -> str:
    """Render templates/rtl/<template> (StrictUndefined: a missing variable is an error)."""
    return render_file(TEMPLATE_DIR, template, **context)


def plan_blocks(plan: Plan, stages: Sequence[Stage]) -> tuple[list[Block], list[Link]]:
    """The instances in stream order and the internal links between them: each stage's
    units, then (but after the last) its FIFO and the plan's width converter."""
    blocks: list[Block] = []
    links: list[Link] = []
    src = "s_axis"

    def add(block: Block, link: Link | None) -> None:
        nonlocal src
        if link is not None:
            links.append(link)
        blocks.append(block)
        src = block.dst

    for stage in stages:
        u = stage.plan
        last = u.index == len(stages) - 1
        for k, unit in enumerate(stage.units):
            comment = f"layer {u.index} ({u.name}): {stage.summary}, {u.cycles} cycles/frame"
            if len(stage.units) > 1:
                comment += f"; part {k + 1} of {len(stage.units)}"
            inst = f"u_{u.ident}{unit.suffix}"
            if k < len(stage.units) - 1:
                what = f"layer {u.index} {unit.module.removeprefix('hwbnn_')} output"
                link = Link(f"{u.ident}{unit.suffix}_out", unit.out_width, what)
            elif last:
                link = None
            else:
                link = Link(f"{u.ident}_out", u.out_width, f"layer {u.index} output")
            dst = "m_axis" if link is None else link.name
            add(Block(unit.module, inst, unit.params, src, dst, comment), link)
        if last:
            break
        if u.fifo_depth:
            link = Link(f"{u.ident}_buf", u.out_width, f"layer {u.index} output after the FIFO")
            params = (Param("DATA_WIDTH", u.out_width), Param("DEPTH", u.fifo_depth))
            comment = f"FIFO of {u.fifo_depth} beats after layer {u.index}"
            add(
                Block("hwbnn_axis_fifo", f"u_{u.ident}_fifo", params, src, link.name, comment), link
            )
        conv = plan.converter_after(u.index)
        if conv is not None:
            nxt = plan.units[u.index + 1]
            link = Link(f"{nxt.ident}_in", conv.out_width, f"layer {nxt.index} input")
            params = (Param("IN_WIDTH", conv.in_width), Param("OUT_WIDTH", conv.out_width))
            comment = f"width converter {conv.in_width} -> {conv.out_width} bits"
            inst = f"u_{nxt.ident}_width"
            add(Block("hwbnn_axis_width_converter", inst, params, src, link.name, comment), link)
    return blocks, links


def top_context(
    plan: Plan, stages: Sequence[Stage], blocks: Sequence[Block], links: Sequence[Link], source: str
) -> dict[str, Any]:
    """The variables of templates/rtl/top.v.j2."""
    io = plan.io
    return {
        "top": TOP,
        "version": __version__,
        "source": source,
        "table": [
            f"layer {s.plan.index} {s.plan.name}: {s.summary}, {s.plan.cycles} cycles"
            for s in stages
        ],
        "in_elements": io.in_elements,
        "in_bits": io.in_bits,
        "in_simd": io.in_simd,
        "in_width": io.in_width,
        "in_beats": io.in_beats,
        "classes": io.classes,
        "out_pe": io.out_pe,
        "acc_width": io.acc_width,
        "out_width": io.out_width,
        "out_beats": io.out_beats,
        "layers": len(plan.units),
        "initiation_interval": plan.initiation_interval,
        "links": list(links),
        "blocks": list(blocks),
    }


def render_rtl(plan: Plan, net: Network, onnx_path: Path, build_dir: Path) -> dict[str, Any]:
    """Write ``build_dir/rtl/`` for ``plan`` (of ``net``: the memories' contents); return a
    summary for the manifest."""
    rtl_dir = Path(build_dir) / RTL_DIR
    rtl_dir.mkdir(parents=True, exist_ok=True)
    stages = plan_stages(plan, net, rtl_dir)
    blocks, links = graph_blocks(plan, stages) if plan.is_graph else plan_blocks(plan, stages)
    context = top_context(plan, stages, blocks, links, Path(onnx_path).name)
    (rtl_dir / f"{TOP}.v").write_text(render("top.v.j2", **context))
    modules = sorted({b.module for b in blocks})
    files = rtl_files(*modules)
    for path in files:
        shutil.copyfile(path, rtl_dir / path.name)
    sources = [path.name for path in files] + [f"{TOP}.v"]
    (rtl_dir / SOURCES_FILE).write_text("\n".join(sources) + "\n")
    memfiles = sorted(p.file for b in blocks for p in b.params if p.file is not None)
    keys = ("in_width", "in_bits", "in_simd", "out_width", "out_pe", "acc_width")
    return {
        "rtl": {
            "dir": RTL_DIR,
            "top": TOP,
            "sources_file": SOURCES_FILE,
            "sources": sources,
            "memory_files": memfiles,
            **{key: context[key] for key in keys},
            "initiation_interval": plan.initiation_interval,
            "width_converters": sum(b.module == "hwbnn_axis_width_converter" for b in blocks),
            "fifos": sum(b.module == "hwbnn_axis_fifo" for b in blocks),
        }
    }


def generate_rtl(
    net: Network,
    folding: Folding,
    onnx_path: Path,
    build_dir: Path,
    *,
    fifo_depth: int | None = None,
) -> dict[str, Any]:
    """Plan ``net`` at ``folding`` (hwbnn.plan.build_plan) and write ``build_dir/rtl/`` (see the
    module docstring); return a summary for the manifest.

    Raises:
        ConfigError: the folding does not fit the network (naming the layer), or a FIFO depth
            that is not 0 or at least 2.
    """
    plan = build_plan(net, folding, fifo_depth=fifo_depth)
    return render_rtl(plan, net, onnx_path, build_dir)


def rtl_sources(build_dir: Path) -> list[Path]:
    """The Verilog files of a ``--target rtl`` build, in compile order.

    Raises:
        ConfigError: the build has no rtl/ (it was compiled for another target).
    """
    rtl_dir = Path(build_dir) / RTL_DIR
    listing = rtl_dir / SOURCES_FILE
    if not listing.is_file():
        raise ConfigError(
            f"{build_dir}: no {RTL_DIR}/{SOURCES_FILE}; compile the model with --target rtl"
        )
    names = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
    missing = [n for n in names if not (rtl_dir / n).is_file()]
    if missing:
        raise ConfigError(f"{rtl_dir}: {missing[0]} is listed in {SOURCES_FILE} but missing")
    return [rtl_dir / n for n in names]
