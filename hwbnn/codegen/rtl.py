"""IR -> Verilog: a thin top level ``hwbnn_top`` wiring the modules of rtl/, in ``BUILD/rtl/``.

Generated files (all logic stays in rtl/; the top only instantiates and connects):

- ``hwbnn_top.v``, rendered from ``templates/rtl/top.v.j2`` (Jinja2, StrictUndefined): per layer
  an ``hwbnn_input_threshold``, an ``hwbnn_mvau`` (OUTPUT_MODE 0, OUTPUT_MODE 1 for the last
  layer; VECTORS = the layer's pixels, the output pixels of the sliding window before it), an
  ``hwbnn_sliding_window`` (a SlidingWindow: kernel, stride, padding, pad code, ELEM_BITS 1 or
  the input code width), or for a MaxPool an ``hwbnn_sliding_window`` without padding followed
  by an ``hwbnn_window_or`` (OR over each window); an ``hwbnn_axis_width_converter`` wherever
  layer i's output beat (PE_i bits of an MVAU, SIMD_i elements of the other layers) differs from
  layer i+1's input beat (SIMD_{i+1} elements); with ``fifo_depth > 0`` an ``hwbnn_axis_fifo``
  after every layer but the last. The default (``fifo_depth=None``) is no FIFOs for dense
  networks and :func:`auto_fifo_depth` for networks with image layers: their streams are bursty
  (a pool emits all channels of an output pixel at the window's last position, a window
  generator waits for rows), and with several layers at the same cycles per frame a stall
  that no FIFO absorbs is lost for good.
- ``<prefix>_weights.hex``, ``<prefix>_thresholds.hex``, ``<prefix>_input_thresholds.hex``:
  the memories, written by :mod:`hwbnn.codegen.memfiles` (``prefix`` is ``l<index>_<name>``).
- ``hwbnn_*.v``: copies of the rtl/ modules the top instantiates, so the directory is
  self-contained.
- ``sources.f``: the Verilog files in compile order (modules first, the top last), one per line,
  relative to ``BUILD/rtl/``.

Interface of ``hwbnn_top`` (clk, rst synchronous active-high):

- ``s_axis``: ``IN_WIDTH = SIMD_0 * IN_BITS`` bits; a frame is ``IN_ELEMENTS / SIMD_0`` beats,
  code ``i`` at bits ``[(i % SIMD_0)*IN_BITS +: IN_BITS]`` of beat ``i // SIMD_0``; tlast on the
  last beat of a frame (an early tlast ends the frame, as in the modules).
- ``m_axis``: ``OUT_WIDTH = PE_last * ACC_WIDTH`` bits; beat ``nf`` of a frame holds class
  ``nf*PE_last + p`` at bits ``[p*ACC_WIDTH +: ACC_WIDTH]`` in two's complement; tlast on the
  frame's last beat. ``ACC_WIDTH`` is hwbnn_mvau's, derived from the last layer's fan-in and
  input bits (:func:`hwbnn.codegen.memfiles.mvau_widths`).
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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hwbnn import __version__
from hwbnn.codegen.memfiles import mvau_widths
from hwbnn.codegen.rtl_stages import Param, Stage, Unit, plan_stages, verilog_identifier
from hwbnn.codegen.templating import render_file
from hwbnn.errors import ConfigError
from hwbnn.ir.folding import Folding, initiation_interval
from hwbnn.ir.types import MaxPool, Network
from hwbnn.resources import share_dir

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
    "rtl_sources",
    "top_context",
    "verilog_identifier",
    "write_rtl_build",
]

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates" / "rtl"
RTL_DIR = "rtl"
TOP = "hwbnn_top"
SOURCES_FILE = "sources.f"
#: Modules of rtl/ a generated top may instantiate, in compile order.
MODULES = (
    "hwbnn_axis_fifo",
    "hwbnn_axis_width_converter",
    "hwbnn_input_threshold",
    "hwbnn_mvau",
    "hwbnn_sliding_window",
    "hwbnn_window_or",
)


@dataclass(frozen=True)
class Block:
    """One module instance between two stream links (``s_axis``/``m_axis`` are the top ports)."""

    module: str
    inst: str
    params: tuple[Param, ...]
    src: str
    dst: str
    comment: str


@dataclass(frozen=True)
class Link:
    """An internal AXI4-Stream link: wires ``<name>_tdata/_tvalid/_tready/_tlast``."""

    name: str
    width: int
    comment: str


def render(template: str, **context: Any) -> str:
    """Render templates/rtl/<template> (StrictUndefined: a missing variable is an error)."""
    return render_file(TEMPLATE_DIR, template, **context)


def auto_fifo_depth(net: Network, folding: Folding) -> int:
    """The default FIFO depth: 0 for a dense network; else the smallest power of 2 holding 8
    beats and the burst of every max pool (C/SIMD output beats of one pixel, sent back to back).
    """
    if net.is_dense:
        return 0
    bursts = [
        layer.channels // fold.simd
        for layer, fold in zip(net.layers, folding.layers, strict=True)
        if isinstance(layer, MaxPool)
    ]
    return 1 << (max([8, *bursts]) - 1).bit_length()


def plan_blocks(stages: Sequence[Stage], fifo_depth: int) -> tuple[list[Block], list[Link]]:
    """The instances in stream order and the internal links between them."""
    if fifo_depth and (fifo_depth < 2 or fifo_depth & (fifo_depth - 1)):
        raise ConfigError(f"FIFO depth must be 0 (none) or a power of 2 >= 2, got {fifo_depth}")
    blocks: list[Block] = []
    links: list[Link] = []
    src = "s_axis"

    def connect(name: str, width: int, comment: str) -> str:
        links.append(Link(name, width, comment))
        return name

    for i, stage in enumerate(stages):
        last = i == len(stages) - 1
        for k, unit in enumerate(stage.units):
            inner = k < len(stage.units) - 1
            if inner:
                what = f"layer {stage.index} {unit.module.removeprefix('hwbnn_')} output"
                dst = connect(f"{stage.prefix}{unit.suffix}_out", unit.out_width, what)
            elif last:
                dst = "m_axis"
            else:
                dst = connect(f"{stage.prefix}_out", stage.out_width, f"layer {stage.index} output")
            comment = f"layer {stage.index} ({stage.layer_name}): {stage.summary}, "
            comment += f"{stage.cycles} cycles/frame"
            if len(stage.units) > 1:
                comment += f"; part {k + 1} of {len(stage.units)}"
            blocks.append(
                Block(unit.module, f"u_{stage.prefix}{unit.suffix}", unit.params, src, dst, comment)
            )
            src = dst
        if last:
            break
        if fifo_depth:
            dst = connect(
                f"{stage.prefix}_buf", stage.out_width, f"layer {i} output after the FIFO"
            )
            params = (Param("DATA_WIDTH", stage.out_width), Param("DEPTH", fifo_depth))
            blocks.append(
                Block(
                    "hwbnn_axis_fifo",
                    f"u_{stage.prefix}_fifo",
                    params,
                    src,
                    dst,
                    f"FIFO of {fifo_depth} beats after layer {stage.index}",
                )
            )
            src = dst
        following = stages[i + 1]
        if stage.out_width != following.in_width:
            dst = connect(f"{following.prefix}_in", following.in_width, f"layer {i + 1} input")
            params = (Param("IN_WIDTH", stage.out_width), Param("OUT_WIDTH", following.in_width))
            blocks.append(
                Block(
                    "hwbnn_axis_width_converter",
                    f"u_{following.prefix}_width",
                    params,
                    src,
                    dst,
                    f"width converter {stage.out_width} -> {following.in_width} bits",
                )
            )
            src = dst
    return blocks, links


def top_context(
    net: Network,
    folding: Folding,
    stages: Sequence[Stage],
    blocks: Sequence[Block],
    links: Sequence[Link],
    source: str,
) -> dict[str, Any]:
    """The variables of templates/rtl/top.v.j2."""
    first, last = stages[0], stages[-1]
    first_fold, last_fold = folding.layers[0], folding.layers[-1]
    out_layer = net.output_layer
    return {
        "top": TOP,
        "version": __version__,
        "source": source,
        "table": [
            f"layer {s.index} {s.layer_name}: {s.summary}, {s.cycles} cycles" for s in stages
        ],
        "in_elements": net.input.elements,
        "in_bits": net.input.bits,
        "in_simd": first_fold.simd,
        "in_width": first.in_width,
        "in_beats": net.input.elements // first_fold.simd,
        "classes": net.classes,
        "out_pe": last_fold.pe,
        "acc_width": mvau_widths(out_layer.mw, out_layer.input_bits).acc_width,
        "out_width": last.out_width,
        "out_beats": net.classes // last_fold.pe,
        "layers": len(stages),
        "initiation_interval": initiation_interval(net, folding),
        "links": list(links),
        "blocks": list(blocks),
    }


def generate_rtl(
    net: Network,
    folding: Folding,
    onnx_path: Path,
    build_dir: Path,
    *,
    fifo_depth: int | None = None,
) -> dict[str, Any]:
    """Write ``build_dir/rtl/`` (see the module docstring); return a summary for the manifest.

    Raises:
        ConfigError: the folding does not fit the network (naming the layer), or a FIFO depth
            that is not 0 or a power of 2.
    """
    rtl_dir = Path(build_dir) / RTL_DIR
    rtl_dir.mkdir(parents=True, exist_ok=True)
    stages = plan_stages(net, folding, rtl_dir)
    if fifo_depth is None:
        fifo_depth = auto_fifo_depth(net, folding)
    blocks, links = plan_blocks(stages, fifo_depth)
    context = top_context(net, folding, stages, blocks, links, Path(onnx_path).name)
    (rtl_dir / f"{TOP}.v").write_text(render("top.v.j2", **context))
    used = [m for m in MODULES if any(b.module == m for b in blocks)]
    for module in used:
        shutil.copyfile(share_dir("rtl") / f"{module}.v", rtl_dir / f"{module}.v")
    sources = [f"{m}.v" for m in used] + [f"{TOP}.v"]
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
            "initiation_interval": context["initiation_interval"],
            "width_converters": sum(b.module == "hwbnn_axis_width_converter" for b in blocks),
            "fifos": sum(b.module == "hwbnn_axis_fifo" for b in blocks),
        }
    }


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


def write_rtl_build(
    net: Network, folding: Folding, build_dir: Path, *, fifo_depth: int | None = None
) -> dict[str, Any]:
    """A ``--target rtl`` build straight from an IR (no ONNX model): ir.json/ir.npz,
    folding.json, rtl/ and the manifest, written atomically. For tests and benchmarks."""
    from hwbnn.build import atomic_build, write_manifest
    from hwbnn.ir.serialize import save_network

    with atomic_build(Path(build_dir)) as tmp:
        save_network(net, tmp)
        (tmp / "folding.json").write_text(folding.to_json(net))
        generated = generate_rtl(
            net, folding, Path(net.source or "network"), tmp, fifo_depth=fifo_depth
        )
        write_manifest(
            tmp,
            source=net.source,
            target="rtl",
            steps=["write_rtl_build"],
            layers=[layer.name for layer in net.layers],
            initiation_interval=initiation_interval(net, folding),
            generated=generated,
        )
    return generated
