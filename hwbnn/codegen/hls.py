"""IR -> HLS C++ top level: a dataflow of the hwbnn library's units (hls/), a testbench and a
Vitis HLS script, written into ``BUILD/hls/``.

Generated files (all logic stays in the library; these are only sizes, memories and wiring):

- ``hwbnn_config.h``: one struct per layer (MW, MH, PE, SIMD, INPUT_BITS, PIXELS, stream
  widths, the library types it instantiates; image geometry for sliding windows and pools) and
  the top-level stream constants; the widths computed here are checked against the library's
  own with ``static_assert``.
- ``params_<layer>.h``: the weight and threshold arrays in the library's layout
  (``weights[p][nf*SF + sf]``: row ``nf*PE + p``, column ``sf*SIMD + s`` at bit ``s``;
  ``thresholds[p][nf]``; input thresholds ``[s][f]`` for element ``f*SIMD + s``), declared in
  ``hwbnn_params.h`` and defined in ``hwbnn_params.cpp``, a translation unit of their own: g++
  spends most of a compile on large arrays of ap_uint initialisers when it optimises them, so
  the C simulation compiles this one file without optimisation (seconds instead of minutes).
- ``hwbnn_top.h`` / ``hwbnn_top.cpp``: ``hwbnn_top(in, out, reps)`` under ``#pragma HLS
  DATAFLOW``, with a width converter wherever a layer's output beat (PE elements of an MVAU,
  SIMD elements of the other units) differs from the next layer's input beat (its SIMD).
  Convolutional networks (images in stream order, hwbnn.ir.types): a SlidingWindow is
  ``hwbnn::sliding_window`` (line buffer, stride, padding with its pad code; ``BITS`` = the
  following unit's input bits), the MatrixVector behind it an ``hwbnn::mvau`` with ``PIXELS``
  vectors per frame, and a MaxPool the pair ``hwbnn::sliding_window`` (no padding) ->
  ``hwbnn::pool_or``, two stages of the dataflow joined by the channel ``<layer>_windows``.
- ``hwbnn_tb.cpp``: a testbench ``hwbnn_tb INPUT OUTPUT [EXPECTED]``; INPUT is ``FRAMES
  ELEMENTS`` then the input codes (in stream order), OUTPUT gets ``FRAMES CLASSES`` then the
  accumulators, and with EXPECTED (same format) it exits 1 on the first difference. It calls
  the top on batches of ``HWBNN_TB_BATCH`` frames: C simulation runs the dataflow stages one
  after the other, so every internal stream holds a whole batch (a convolution's window
  stream is K*K times its image), and the batch bounds that memory.
- ``tb_input.txt`` / ``tb_expected.txt``: a few random frames and their reference accumulators,
  which the Vitis HLS script's ``csim_design`` checks.
- ``run_hls.tcl``: ``vitis_hls -f run_hls.tcl``: C simulation, synthesis, IP-catalog export.
- ``include/hwbnn/*.hpp``: a copy of the HLS library, so the directory is self-contained.

Streams follow the numeric contract: input beat j of a frame carries codes ``j*SIMD_0 ..``,
element ``s`` at bits ``[s*B, (s+1)*B)``; output word ``nf`` carries classes ``nf*PE ..``, class
``nf*PE + p`` as a two's complement field at bits ``[p*W, (p+1)*W)``. ``W`` is the library's
accumulator width, derived from the input bits (``B``-bit codes bound the sum by
``MW * (2^B - 1)``), so it can exceed the IR's ``acc_bits`` (which uses the code levels) for
an integer first layer whose levels are not a power of two.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hwbnn.codegen.cxx import hls_library_dir
from hwbnn.codegen.templating import render_file
from hwbnn.errors import ConfigError
from hwbnn.ir.folding import Folding, LayerFolding, check_folding
from hwbnn.ir.types import (
    InputThreshold,
    LayerKind,
    MatrixVector,
    MaxPool,
    Network,
    SlidingWindow,
)
from hwbnn.reference import Reference

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates" / "hls"
HLS_DIR = "hls"
TOP = "hwbnn_top"
DEFAULT_PART = "xc7z020clg400-1"
DEFAULT_CLOCK_MHZ = 100.0
#: Random frames in tb_input.txt, checked by the Vitis HLS script's csim_design.
TB_FRAMES = 8
#: ap_int's default width limit; wider streams need AP_INT_MAX_W defined before ap_int.h.
AP_INT_DEFAULT_MAX_W = 1024
#: ap_int's largest width (AP_INT_MAX_W may not exceed it).
AP_INT_LIMIT = 32768
#: Weight words per line of a params header.
WORDS_PER_LINE = 8
#: Stream beats the testbench lets one internal stream hold at once (C simulation keeps a whole
#: call's beats in memory, some 8 to 16 bytes each); it sets HWBNN_TB_BATCH.
TB_STREAM_BEATS = 1 << 22
#: Most frames per call of the top function in the testbench.
TB_MAX_BATCH = 256


def clog2(x: int) -> int:
    """ceil(log2(x)) for x >= 1, 0 for x <= 1, as hwbnn::clog2 of the library."""
    return 0 if x <= 1 else (x - 1).bit_length()


@dataclass(frozen=True)
class WindowPlan:
    """Image geometry of a sliding window or max pool (hwbnn.ir.types)."""

    h: int
    w: int
    c: int
    kernel: int
    stride: int
    padding: tuple[int, int, int, int]  # top, left, bottom, right (0 for a pool)
    pad_code: int
    oh: int
    ow: int


@dataclass(frozen=True)
class StagePlan:
    """One layer as the templates need it: sizes, widths, C++ types and memory contents."""

    index: int
    name: str  # the IR's layer name (whitespace runs made one space)
    cname: str  # a C identifier for the layer's struct and arrays
    kind: LayerKind  # the IR layer's: which library unit the top calls
    mw: int  # fan-in (elements per frame for the input thresholds, C for image stages)
    mh: int  # output channels (C for image stages)
    pe: int
    simd: int
    input_bits: int
    out_bits: int  # bits per output element
    in_width: int  # bits per input beat
    out_width: int  # bits per output beat
    out_beats: int  # output beats per frame
    is_output: bool = False  # last layer: emits accumulators, has no thresholds
    product: str = ""  # C++ product type (MVAU only)
    activation: str = ""  # C++ activation policy (MVAU only)
    threshold_bits: int = 0  # (input thresholds and MVAUs only)
    threshold_type: str = ""  # C++ type of one threshold
    weights: tuple[tuple[str, ...], ...] = ()  # [PE][NF*SF] C++ literals (MVAU only)
    thresholds: tuple[tuple[int, ...], ...] = ()  # [PE][NF]; [SIMD][N/SIMD] input thresholds
    pixels: int = 1  # vectors per frame of an MVAU; output pixels of an image stage
    window: WindowPlan | None = None  # image stages only

    @property
    def is_threshold(self) -> bool:
        return self.kind is LayerKind.INPUT_THRESHOLD

    @property
    def is_window(self) -> bool:
        return self.kind is LayerKind.SLIDING_WINDOW

    @property
    def is_pool(self) -> bool:
        return self.kind is LayerKind.MAX_POOL

    @property
    def has_memories(self) -> bool:
        """Weights or thresholds (input thresholds, MVAU): the stage has a params header."""
        return self.kind in (LayerKind.INPUT_THRESHOLD, LayerKind.MATRIX_VECTOR)

    @property
    def stream_beats(self) -> int:
        """Beats per frame of the streams the stage writes: its output, and for a pool the
        larger window stream between its two units."""
        if self.window is None or not self.is_pool:
            return self.out_beats
        return self.pixels * self.window.kernel**2 * (self.window.c // self.simd)


@dataclass(frozen=True)
class Step:
    """One call in the top function's dataflow: a layer or a width converter."""

    src: str
    dst: str
    stage: StagePlan | None = None  # None: a width converter from `prev` to `next`
    prev: StagePlan | None = None
    next: StagePlan | None = None


def render(template: str, **context: Any) -> str:
    """Render templates/hls/<template> (StrictUndefined: a missing variable is an error)."""
    return render_file(TEMPLATE_DIR, template, **context)


def c_identifier(index: int, name: str) -> str:
    """``l<index>_<name>`` with every character outside [A-Za-z0-9_] replaced by '_'."""
    return f"l{index}_" + re.sub(r"[^A-Za-z0-9_]", "_", name)


def _check_range(name: str, what: str, values: np.ndarray, low: int, high: int) -> None:
    """The library stores thresholds without saturation: refuse any that would wrap."""
    if values.size and (int(values.min()) < low or int(values.max()) > high):
        bad = int(values[(values < low) | (values > high)][0])
        raise ValueError(f"layer {name}: {what} {bad} outside [{low}, {high}]; it would wrap")


def _weight_literals(w: np.ndarray, pe: int, simd: int) -> tuple[tuple[str, ...], ...]:
    """weights (MH, MW) bool -> [PE][NF*SF] literals of ap_uint<SIMD>, bit s = column sf*SIMD+s."""
    mh, mw = w.shape
    nf, sf = mh // pe, mw // simd
    # (NF, PE, SF, SIMD) -> (PE, NF, SF, SIMD): word [p][nf*SF + sf] is row nf*PE+p
    tiles = w.reshape(nf, pe, sf, simd).transpose(1, 0, 2, 3).reshape(pe, nf * sf, simd)
    packed = np.packbits(tiles, axis=2, bitorder="little")  # little-endian bytes per word
    digits = (simd + 3) // 4
    rows = []
    for p in range(pe):
        row = []
        for word in packed[p]:
            value = int.from_bytes(word.tobytes(), "little")
            if simd <= 64:
                row.append(f"0x{value:0{digits}x}ULL")
            else:
                # with the prefix: ap_int would read a leading "0b"/"0o"/"0d" as one
                row.append(f'ap_uint<{simd}>("0x{value:0{digits}x}", 16)')
        rows.append(tuple(row))
    return tuple(rows)


def _plan_threshold(index: int, layer: InputThreshold, fold: LayerFolding, bits: int) -> StagePlan:
    n, simd = layer.in_elements, fold.simd
    # the library compares B-bit codes with (B+1)-bit thresholds: 2^B means "always -1"
    _check_range(layer.name, "input threshold", layer.thresholds, 0, min(layer.levels, 2**bits))
    table = layer.thresholds.reshape(n // simd, simd).T
    return StagePlan(
        index=index,
        name=" ".join(layer.name.split()),  # for comments: no line breaks
        cname=c_identifier(index, layer.name),
        kind=layer.kind,
        mw=n,
        mh=n,
        pe=1,
        simd=simd,
        input_bits=bits,
        out_bits=1,
        in_width=simd * bits,
        out_width=simd,
        out_beats=n // simd,
        threshold_bits=bits + 1,
        threshold_type=f"ap_uint<{bits + 1}>",
        thresholds=tuple(tuple(int(t) for t in row) for row in table),
    )


def _plan_mvau(index: int, layer: MatrixVector, fold: LayerFolding) -> StagePlan:
    mw, mh, pe, simd, bits = layer.mw, layer.mh, fold.pe, fold.simd, layer.input_bits
    if layer.binary_input:
        product = "hwbnn::XnorMul"
        dot_bits = clog2(mw + 1) + 1
        threshold_bits, threshold_type = clog2(mw + 2), f"ap_uint<{clog2(mw + 2)}>"
        low, high = 0, mw + 1
        t_low, t_high = 0, 2**threshold_bits - 1
    else:
        product = f"hwbnn::IntBinaryProduct<{bits}>"
        magnitude = mw * (2**bits - 1)  # the library's bound: any B-bit code
        dot_bits = clog2(magnitude + 1) + 1
        threshold_bits = clog2(magnitude + 2) + 1
        threshold_type = f"ap_int<{threshold_bits}>"
        ir_bound = mw * (layer.input_levels - 1)
        low, high = -ir_bound, ir_bound + 1
        t_low, t_high = -(2 ** (threshold_bits - 1)), 2 ** (threshold_bits - 1) - 1
    thresholds: tuple[tuple[int, ...], ...] = ()
    if layer.thresholds is not None:
        _check_range(layer.name, "threshold", layer.thresholds, low, high)
        _check_range(layer.name, "threshold", layer.thresholds, t_low, t_high)
        table = layer.thresholds.reshape(mh // pe, pe).T  # [p][nf] = channel nf*PE+p
        thresholds = tuple(tuple(int(t) for t in row) for row in table)
    if dot_bits > 63:
        raise ValueError(f"layer {layer.name}: {dot_bits}-bit accumulators exceed 63 bits")
    if layer.is_output and layer.pixels != 1:
        raise ConfigError(
            f"layer {layer.name}: an output layer over {layer.pixels} pixels is not generated; "
            f"end the network with a dense layer (or a convolution down to one pixel)"
        )
    out_bits = dot_bits if layer.is_output else 1
    return StagePlan(
        index=index,
        name=" ".join(layer.name.split()),  # for comments: no line breaks
        cname=c_identifier(index, layer.name),
        kind=layer.kind,
        is_output=layer.is_output,
        mw=mw,
        mh=mh,
        pe=pe,
        simd=simd,
        input_bits=bits,
        product=product,
        activation="hwbnn::PassThroughActivation"
        if layer.is_output
        else "hwbnn::ThresholdActivation",
        out_bits=out_bits,
        in_width=simd * bits,
        out_width=pe * out_bits,
        out_beats=layer.pixels * (mh // pe),
        threshold_bits=threshold_bits,
        threshold_type=threshold_type,
        weights=_weight_literals(layer.weights, pe, simd),
        thresholds=thresholds,
        pixels=layer.pixels,
    )


def _plan_image_stage(
    index: int, layer: SlidingWindow | MaxPool, fold: LayerFolding, bits: int
) -> StagePlan:
    """A sliding window of ``bits``-bit elements, or a max pool (bits, no padding)."""
    h, w, c = layer.in_shape
    oh, ow, _ = layer.out_shape
    if isinstance(layer, SlidingWindow):
        padding, pad_code = layer.padding, layer.pad_code
        out_elements = layer.pixels * layer.window
    else:
        padding, pad_code = (0, 0, 0, 0), 0
        out_elements = layer.out_elements
    return StagePlan(
        index=index,
        name=" ".join(layer.name.split()),
        cname=c_identifier(index, layer.name),
        kind=layer.kind,
        mw=c,
        mh=c,
        pe=1,
        simd=fold.simd,
        input_bits=bits,
        out_bits=bits,
        in_width=fold.simd * bits,
        out_width=fold.simd * bits,
        out_beats=out_elements // fold.simd,
        pixels=oh * ow,
        window=WindowPlan(h, w, c, layer.kernel, layer.stride, padding, pad_code, oh, ow),
    )


def plan_stages(net: Network, folding: Folding) -> list[StagePlan]:
    """Check the folding (ConfigError naming the layer) and plan every layer."""
    check_folding(net, folding)
    stages = []
    layers = net.layers
    for index, (layer, fold) in enumerate(zip(layers, folding.layers, strict=True)):
        if isinstance(layer, InputThreshold):
            stages.append(_plan_threshold(index, layer, fold, net.input.bits))
        elif isinstance(layer, SlidingWindow):
            # the Network puts a MatrixVector behind every window: its input bits are the
            # elements' width (integer codes of a first layer, or 1 for bits)
            unit = layers[index + 1]
            assert isinstance(unit, MatrixVector)
            stages.append(_plan_image_stage(index, layer, fold, unit.input_bits))
        elif isinstance(layer, MaxPool):
            stages.append(_plan_image_stage(index, layer, fold, 1))
        else:
            stages.append(_plan_mvau(index, layer, fold))
    return stages


def plan_steps(stages: Sequence[StagePlan]) -> tuple[list[Step], list[tuple[str, str]]]:
    """The dataflow calls and the internal channels (name, C++ width expression); a max pool's
    step also has the channel ``<cname>_windows`` between its two units."""
    steps: list[Step] = []
    channels: list[tuple[str, str]] = []
    src = "in"
    for i, stage in enumerate(stages):
        last = i == len(stages) - 1
        dst = "out" if last else f"{stage.cname}_out"
        if stage.is_pool:
            channels.append((f"{stage.cname}_windows", f"{stage.cname}::IN_W"))
        if not last:
            channels.append((dst, f"{stage.cname}::OUT_W"))
        steps.append(Step(src=src, dst=dst, stage=stage))
        src = dst
        if not last and stage.out_width != stages[i + 1].in_width:
            nxt = stages[i + 1]
            dst = f"{nxt.cname}_in"
            channels.append((dst, f"{nxt.cname}::IN_W"))
            steps.append(Step(src=src, dst=dst, prev=stage, next=nxt))
            src = dst
    return steps, channels


def tb_batch(stages: Sequence[StagePlan], in_beats: int) -> int:
    """Frames per call of the top in the testbench: as many as keep the beats of one call in
    each stream (``in_beats`` per frame in the input) within TB_STREAM_BEATS (at least 1, at
    most TB_MAX_BATCH)."""
    beats = max(in_beats, *(s.stream_beats for s in stages))
    return max(1, min(TB_MAX_BATCH, TB_STREAM_BEATS // beats))


def _write_tb_vectors(net: Network, hls_dir: Path, frames: int) -> None:
    """Random input codes (seeded by the network's sizes) and their reference accumulators."""
    rng = np.random.default_rng(net.input.elements * 1000 + net.classes)
    codes = rng.integers(0, net.input.levels, size=(frames, net.input.elements))
    acc = Reference(net).run_codes(codes).accumulators
    write_matrix(hls_dir / "tb_input.txt", codes)
    write_matrix(hls_dir / "tb_expected.txt", acc)


def write_matrix(path: Path, rows: np.ndarray) -> None:
    """The testbench's file format: ``ROWS COLUMNS`` then one row of integers per line."""
    rows = np.asarray(rows, dtype=np.int64)
    lines = [f"{rows.shape[0]} {rows.shape[1]}"]
    lines += [" ".join(map(str, row)) for row in rows.tolist()]
    path.write_text("\n".join(lines) + "\n")


def read_matrix(path: Path) -> np.ndarray:
    """Inverse of :func:`write_matrix`."""
    values = np.array(path.read_text().split(), dtype=np.int64)
    n, m = int(values[0]), int(values[1])
    if len(values) != 2 + n * m:
        raise ValueError(f"{path}: expected {n} x {m} values, found {len(values) - 2}")
    return values[2:].reshape(n, m)


def generate_hls(
    net: Network,
    folding: Folding,
    onnx_path: Path,
    build_dir: Path,
    *,
    part: str = DEFAULT_PART,
    clock_mhz: float = DEFAULT_CLOCK_MHZ,
) -> dict[str, Any]:
    """Write ``build_dir/hls/`` (see the module docstring); return a summary for the manifest."""
    if clock_mhz <= 0:
        raise ValueError(f"clock frequency must be positive, got {clock_mhz} MHz")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", part):
        raise ValueError(f"not an FPGA part name: {part!r}")
    stages = plan_stages(net, folding)
    steps, channels = plan_steps(stages)
    first, last = stages[0], stages[-1]
    widths = [(s.in_width, s) for s in stages] + [(s.out_width, s) for s in stages]
    max_width, widest = max(widths, key=lambda item: item[0])
    if max_width > AP_INT_LIMIT:
        raise ConfigError(
            f"layer {widest.name}: a {max_width}-bit stream exceeds ap_int's {AP_INT_LIMIT}-bit "
            f"limit; lower its PE or SIMD"
        )
    hls_dir = Path(build_dir) / HLS_DIR
    hls_dir.mkdir(parents=True, exist_ok=True)
    params = [f"params_{s.cname}.h" for s in stages if s.has_memories]
    context: dict[str, Any] = {
        "source": Path(onnx_path).name,
        "top": TOP,
        "stages": stages,
        "steps": steps,
        "channels": channels,
        "first": first,
        "last": last,
        "in_elements": net.input.elements,
        "in_levels": net.input.levels,
        "classes": net.classes,
        "ap_int_max_w": max(AP_INT_DEFAULT_MAX_W, -(-max_width // 1024) * 1024),
        "params": params,
        "tb_batch": tb_batch(stages, net.input.elements // first.simd),
        "part": part,
        "clock_period": f"{1000.0 / clock_mhz:.3f}",
        "clock_mhz": f"{clock_mhz:g}",
    }
    files = {
        "hwbnn_config.h": render("config.h.j2", **context),
        "hwbnn_params.h": render("params_decl.h.j2", **context),
        "hwbnn_params.cpp": render("params.cpp.j2", **context),
        "hwbnn_top.h": render("top.h.j2", **context),
        "hwbnn_top.cpp": render("top.cpp.j2", **context),
        "hwbnn_tb.cpp": render("tb.cpp.j2", **context),
        "run_hls.tcl": render("run_hls.tcl.j2", **context),
    }
    for header, stage in zip(params, [s for s in stages if s.has_memories], strict=True):
        files[header] = render("params.h.j2", stage=stage, words_per_line=WORDS_PER_LINE)
    for name, text in files.items():
        (hls_dir / name).write_text(text)
    _write_tb_vectors(net, hls_dir, TB_FRAMES)
    include = hls_dir / "include" / "hwbnn"
    shutil.copytree(hls_library_dir() / "hwbnn", include, dirs_exist_ok=True)
    return {
        "hls": {
            "dir": HLS_DIR,
            "top": TOP,
            "sources": ["hwbnn_top.cpp", "hwbnn_params.cpp"],
            "testbench": "hwbnn_tb.cpp",
            "headers": ["hwbnn_config.h", "hwbnn_params.h", "hwbnn_top.h", *params],
            "script": "run_hls.tcl",
            "in_width": first.in_width,
            "in_bits": first.input_bits,
            "out_width": last.out_width,
            "acc_bits": last.out_bits,
            "out_pe": last.pe,
            "part": part,
            "clock_mhz": clock_mhz,
            "width_converters": sum(1 for s in steps if s.stage is None),
        }
    }
