"""Plan -> HLS C++ top level: a dataflow of the hwbnn library's units (hls/), a testbench and a
Vitis HLS script, written into ``BUILD/hls/``.

Generated files (all logic stays in the library; these are only sizes, memories and wiring):

- ``hwbnn_config.h``: one struct per layer (MW, MH, PE, SIMD, INPUT_BITS, PIXELS, stream
  widths, the library types it instantiates; image geometry for sliding windows and pools) and
  the top-level stream constants; the plan's widths (hwbnn.plan) are checked against the library's
  own with ``static_assert``.
- ``params_<layer>.h``: the weight and threshold arrays in the library's layout
  (``weights[p][nf*SF + sf]``: row ``nf*PE + p``, column ``sf*SIMD + s`` at bit ``s``;
  ``thresholds[p][nf]``; input thresholds ``[s][f]`` for element ``f*SIMD + s``; a CI-BCNN
  interaction's graph ``level[j]``, ``signs[j][i]``, ``negate[j]``), declared in
  ``hwbnn_params.h`` and defined in ``hwbnn_params.cpp``, a translation unit of their own: g++
  spends most of a compile on large arrays of ap_uint initialisers when it optimises them, so
  the C simulation compiles this one file without optimisation (seconds instead of minutes).
- ``hwbnn_top.h`` / ``hwbnn_top.cpp``: ``hwbnn_top(in, out, reps)`` under ``#pragma HLS
  DATAFLOW``, with a width converter wherever a layer's output beat (PE elements of an MVAU,
  SIMD elements of the other units) differs from the next layer's input beat (its SIMD).
  A DBF layer (hwbnn.ir.dbf) is ``hwbnn::dbf`` with its codes, alpha and thresholds as
  constant arrays (``<layer>_codes[M][SF]``, ``<layer>_alpha[PE][NF*M]``,
  ``<layer>_thresholds[PE][NF]``).
  Convolutional networks (images in stream order, hwbnn.ir.types): a SlidingWindow is
  ``hwbnn::sliding_window`` (line buffer, stride, dilation ``D``, padding with its pad code;
  ``BITS`` = the following unit's input bits; ``hwbnn::sliding_window_mmv`` at SIMD = m*C, m
  window positions per output beat), the MatrixVector behind it an ``hwbnn::mvau`` with ``PIXELS``
  vectors per frame, and a MaxPool the pair ``hwbnn::sliding_window`` (padding bit 0) ->
  ``hwbnn::pool_or``, two stages of the dataflow joined by the channel ``<layer>_windows``;
  a MajorityPool likewise ``hwbnn::sliding_window`` (its padding, pad code 0) ->
  ``hwbnn::pool_majority`` with its thresholds ``<layer>_thresholds[WORD_SIMD][C/WORD_SIMD]``.
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

import dataclasses
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hwbnn.codegen.cxx import activation_type, cxx_word, hls_library_dir, product_type
from hwbnn.codegen.templating import render_file
from hwbnn.errors import ConfigError
from hwbnn.ir.folding import Folding
from hwbnn.ir.types import (
    DBFMatrixVector,
    InputThreshold,
    Interaction,
    Layer,
    MajorityPool,
    MatrixVector,
    Network,
    Threshold,
)
from hwbnn.plan import Plan, UnitKind, UnitPlan, build_plan
from hwbnn.plan.packing import lane_words, value_lanes, weight_lanes
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


@dataclass(frozen=True)
class Call:
    """One call of the top's dataflow: ``hwbnn::<function><targs>(streams, memories, reps)``
    (template arguments as C++ expressions, streams in the unit's order: inputs, then
    outputs); ``comment`` is written above it."""

    function: str
    targs: tuple[str, ...]
    streams: tuple[str, ...]
    memories: tuple[str, ...] = ()
    comment: str = ""


@dataclass(frozen=True)
class Channel:
    """An internal stream of the top: ``hls::stream<ap_uint<width>> name`` of ``depth``
    beats (``width`` a C++ expression)."""

    name: str
    width: str
    depth: int = 2


def render(template: str, **context: Any) -> str:
    """Render templates/hls/<template> (StrictUndefined: a missing variable is an error)."""
    return render_file(TEMPLATE_DIR, template, **context)


def memories(unit: UnitPlan, layer: Layer) -> dict[str, Any]:
    """The arrays of a unit's params header: ``weights`` ``[PE][NF*SF]`` as C++ literals of
    ``ap_uint<SIMD>``, ``thresholds`` ``[PE][NF]`` (``[SIMD][N/SIMD]`` for input thresholds;
    for a graph's threshold ``[SIMD][C/SIMD]`` initialisers of ``[SIDE+1][STEPS]`` each)."""
    weights: list[list[str]] = []
    thresholds: list[list[int]] = []
    if isinstance(layer, DBFMatrixVector):
        return dbf_memories(unit, layer)
    if isinstance(layer, MatrixVector):
        words = lane_words(weight_lanes(layer.weights, unit.pe, unit.simd))
        weights = [[cxx_word(w, unit.simd) for w in lane] for lane in words]
        if layer.thresholds is not None:
            thresholds = lane_words(value_lanes(layer.thresholds, unit.pe))
    elif isinstance(layer, InputThreshold):
        thresholds = lane_words(value_lanes(layer.thresholds, unit.simd))
    elif isinstance(layer, MajorityPool):  # [s][f]: channel f*WORD_SIMD + s
        thresholds = lane_words(value_lanes(layer.thresholds, unit.in_per_beat))
    elif isinstance(layer, Interaction):
        # level[j], signs[j][i] (the edge i -> j), negate[j]
        return {
            "weights": [],
            "thresholds": [],
            "level": [int(v) for v in layer.levels],
            "signs": [_braces(row) for row in np.asarray(layer.signs, dtype=np.int64).T],
            "negate": [int(v) for v in np.asarray(layer.negate)],
        }
    elif isinstance(layer, Threshold):
        # [s][f][v][j] holds T[c][v][j] of channel c = f*SIMD + s; one C++ initialiser per word
        table = np.asarray(layer.thresholds, dtype=np.int64)
        lanes = table.reshape(-1, unit.simd, *table.shape[1:]).transpose(1, 0, 2, 3)
        return {"weights": [], "thresholds": [[_braces(w) for w in lane] for lane in lanes]}
    return {"weights": weights, "thresholds": thresholds}


def dbf_memories(unit: UnitPlan, layer: DBFMatrixVector) -> dict[str, Any]:
    """The constant arrays of a DBF unit (hls/hwbnn/dbf.hpp): ``codes`` ``[M][SF]`` words of
    SIMD bits, ``alpha`` ``[PE][NF*M]`` (channel ``nf*PE + p``, basis ``m`` at
    ``[p][nf*M + m]``) and ``thresholds`` ``[PE][NF]`` (zeros for the output layer)."""
    pe, simd, m = unit.pe, unit.simd, layer.bases
    words = lane_words(weight_lanes(layer.codes, m, simd))
    alpha = layer.alpha.reshape(unit.nf, pe, m).transpose(1, 0, 2).reshape(pe, -1)
    t = layer.thresholds if layer.thresholds is not None else np.zeros(layer.mh, np.int64)
    return {
        "weights": [],
        "codes": [[cxx_word(w, simd) for w in lane] for lane in words],
        "alpha": lane_words(alpha),
        "thresholds": lane_words(value_lanes(t, pe)),
    }


def _braces(values: np.ndarray) -> str:
    """A nested C++ initialiser of an integer array: ``{{1, 2}, {3, 4}}``."""
    if values.ndim == 0:
        return str(int(values))
    return "{" + ", ".join(_braces(v) for v in values) + "}"


def _chained(
    function: str,
    parts: Sequence[tuple[str, ...]],
    ins: Sequence[str],
    out: str,
    prefix: str,
    widths: Sequence[str],
) -> tuple[list[Call], list[Channel]]:
    """A k-input join as a chain of k-1 two-input calls: part j (template arguments
    ``parts[j]``) reads the previous part's output (``<prefix>_j<j>``, ``widths[j-1]`` bits)
    and input j+1."""
    calls: list[Call] = []
    channels: list[Channel] = []
    src = ins[0]
    for j, targs in enumerate(parts):
        last = j == len(parts) - 1
        dst = out if last else f"{prefix}_j{j + 1}"
        if not last:
            channels.append(Channel(dst, widths[j]))
        calls.append(Call(function, targs, (src, ins[j + 1], dst)))
        src = dst
    return calls, channels


def unit_calls(
    u: UnitPlan, ins: Sequence[str], outs: Sequence[str]
) -> tuple[list[Call], list[Channel]]:
    """The calls of unit ``u`` reading streams ``ins`` (per input port) and writing ``outs``
    (one stream, or a fork's one per consumer), and the channels between its parts (a max
    pool's ``<ident>_windows``; the links of chained forks, add-joins and concatenations)."""
    c = u.ident

    def k(name: str) -> str:
        """A constant of the unit's struct in hwbnn_config.h."""
        return f"{c}::{name}"

    calls: list[Call]
    channels: list[Channel] = []
    targs: tuple[str, ...]
    names: tuple[str, ...]
    parts: list[tuple[str, ...]]
    widths: list[str]
    if u.kind is UnitKind.INPUT_THRESHOLD:
        targs = (k("N"), k("SIMD"), k("INPUT_BITS"))
        calls = [Call("threshold_input", targs, (ins[0], outs[0]), (f"{c}_thresholds",))]
    elif u.kind is UnitKind.SLIDING_WINDOW:
        names = ("H", "W", "C", "K", "S", "PAD_TOP", "PAD_LEFT", "PAD_BOTTOM", "PAD_RIGHT")
        targs = (*(k(n) for n in names), k("SIMD"), k("BITS"), k("PAD_CODE"), k("D"))
        # SIMD = m*C: m window positions per output beat, one pixel per input beat
        function = "sliding_window_mmv" if u.simd > u.in_per_beat else "sliding_window"
        calls = [Call(function, targs, (ins[0], outs[0]))]
    elif u.kind is UnitKind.MAX_POOL:
        windows = f"{c}_windows"
        channels.append(Channel(windows, k("IN_W")))
        # (at SIMD = m*C the library pools one position per beat: WORD_SIMD = C)
        simd = k("WORD_SIMD")
        names = ("H", "W", "C", "K", "S", "PAD_TOP", "PAD_LEFT", "PAD_BOTTOM", "PAD_RIGHT")
        window = (*(k(n) for n in names), simd)
        calls = [
            Call("sliding_window", (*window, "1", "0"), (ins[0], windows)),
            Call("pool_or", (k("K"), k("C"), simd, k("PIXELS")), (windows, outs[0])),
        ]
    elif u.kind is UnitKind.MAJORITY_POOL:
        windows = f"{c}_windows"
        channels.append(Channel(windows, k("IN_W")))
        simd = k("WORD_SIMD")  # (at SIMD = m*C, one position per beat, as a max pool)
        names = ("H", "W", "C", "K", "S", "PAD_TOP", "PAD_LEFT", "PAD_BOTTOM", "PAD_RIGHT")
        window = (*(k(n) for n in names), simd, "1", "0")
        count = (k("K"), k("C"), simd, k("PIXELS"))
        calls = [
            Call("sliding_window", window, (ins[0], windows)),
            Call("pool_majority", count, (windows, outs[0]), (f"{c}_thresholds",)),
        ]
    elif u.kind is UnitKind.MVAU:
        names = ("MW", "MH", "PE", "SIMD", "Product", "Activation", "PIXELS")
        memories = (f"{c}_weights",) + ((f"{c}_thresholds",) if u.thresholds else ())
        calls = [Call("mvau", tuple(k(n) for n in names), (ins[0], outs[0]), memories)]
    elif u.kind is UnitKind.DBF:
        names = ("MW", "MH", "M", "PE", "SIMD", "MB", "Product", "ALPHA_BITS", "ACC_BITS")
        targs = (*(k(n) for n in names), k("THRESHOLDS"), k("PIXELS"))
        memories = (f"{c}_codes", f"{c}_alpha", f"{c}_thresholds")
        calls = [Call("dbf", targs, (ins[0], outs[0]), memories)]
    elif u.kind is UnitKind.FORK:
        # two-output forks in a chain: fork j writes consumer j and the next fork's input
        calls, src = [], ins[0]
        for j in range(len(outs) - 1):
            last = j == len(outs) - 2
            rest = outs[-1] if last else f"{c}_f{j + 1}"
            if not last:
                channels.append(Channel(rest, k("IN_W")))
            calls.append(Call("fork", (k("IN_W"), k("BEATS")), (src, outs[j], rest)))
            src = rest
    elif u.kind is UnitKind.ADD_JOIN:
        parts, widths = [], []
        a_bits, a_bipolar = u.port_bits[0], u.port_bipolar[0]
        for j, out_bits in enumerate(u.chain_bits, start=1):
            b = (u.port_bits[j], u.port_bipolar[j])
            parts.append(
                (k("ELEMENTS"), k("SIMD"), str(a_bits), _cxx_bool(a_bipolar))
                + (str(b[0]), _cxx_bool(b[1]), str(out_bits))
            )
            widths.append(str(u.simd * out_bits))
            a_bits, a_bipolar = out_bits, False
        calls, channels = _chained("add_join", parts, ins, outs[0], c, widths)
    elif u.kind is UnitKind.CONCAT:
        parts, total = [], u.port_channels[0]
        for more in u.port_channels[1:]:
            parts.append((str(total), str(more), k("SIMD"), k("ELEM_BITS"), k("PIXELS")))
            total += more
        widths = [k("OUT_W")] * len(parts)
        calls, channels = _chained("concat", parts, ins, outs[0], c, widths)
    elif u.kind is UnitKind.INTERACTION:
        names = ("C", "SIMD", "IN_BITS", "OUT_BITS", "LEVELS", "DEADZONE", "MAGNITUDE", "PIXELS")
        graph = (f"{c}_level", f"{c}_signs", f"{c}_negate")
        calls = [Call("interact", tuple(k(n) for n in names), (ins[0], outs[0]), graph)]
    else:  # UnitKind.THRESHOLD
        names = ("C", "SIMD", "IN_BITS", "STEPS", "SIDE", "OUT_BITS", "OUT_BASE", "THRESH_BITS")
        targs = (*(k(n) for n in names), k("PIXELS"))
        streams = (ins[0], ins[1], outs[0]) if u.side else (ins[0], outs[0])
        calls = [Call("threshold", targs, streams, (f"{c}_thresholds",))]
    head = dataclasses.replace(
        calls[0], comment=f"layer {u.index} ({u.name}): {u.cycles:,} cycles/frame"
    )
    return [head, *calls[1:]], channels


def _cxx_bool(value: bool) -> str:
    return "true" if value else "false"


def chain_calls(plan: Plan) -> tuple[list[Call], list[Channel]]:
    """The dataflow of a chain: each unit reads the previous one's output (``<ident>_out``),
    through a width converter (``<next ident>_in``) where the beats differ."""
    calls: list[Call] = []
    channels: list[Channel] = []
    src = "in"
    units = plan.units
    for i, unit in enumerate(units):
        last = i == len(units) - 1
        dst = "out" if last else f"{unit.ident}_out"
        if not last:
            channels.append(Channel(dst, f"{unit.ident}::OUT_W"))
        unit_list, inner = unit_calls(unit, (src,), (dst,))
        calls += unit_list
        channels += inner
        src = dst
        if plan.converter_after(i) is not None:
            nxt = units[i + 1]
            dst = f"{nxt.ident}_in"
            channels.append(Channel(dst, f"{nxt.ident}::IN_W"))
            targs = (f"{unit.ident}::OUT_W", f"{nxt.ident}::IN_W", f"{unit.ident}::OUT_BEATS")
            calls.append(Call("convert_width", targs, (src, dst)))
            src = dst
    return calls, channels


def graph_calls(plan: Plan) -> tuple[list[Call], list[Channel]]:
    """The dataflow of a graph: one stream per planned edge (hwbnn.plan.Edge), named
    ``<src ident>_to_<dst ident>_p<port>``, of ``fifo_depth + 1`` beats (the RTL FIFO's
    ``DEPTH`` plus its output register; 2 for an edge without FIFO), then a width converter
    into ``..._in`` where the edge's two widths differ. Units are called in the plan's
    topological order, each after the converters of its inputs, so that C simulation, which
    runs the calls one after the other, sees every input complete."""
    reads: dict[tuple[int, int], str] = {}
    writes: dict[tuple[int, int], str] = {}
    converters: dict[int, list[Call]] = {}
    channels: list[Channel] = []
    for e in plan.edges:
        if e.src < 0:
            reads[(e.dst, e.dst_port)] = "in"
            continue
        name = plan.edge_name(e)
        depth = e.fifo_depth + 1 if e.fifo_depth else 2
        channels.append(Channel(name, str(e.src_width), depth))
        writes[(e.src, e.src_port)] = name
        if e.src_width != e.dst_width:
            widened = f"{name}_in"
            channels.append(Channel(widened, str(e.dst_width)))
            targs = (str(e.src_width), str(e.dst_width), str(e.beats))
            converters.setdefault(e.dst, []).append(Call("convert_width", targs, (name, widened)))
            name = widened
        reads[(e.dst, e.dst_port)] = name
    calls: list[Call] = []
    last = len(plan.units) - 1
    for u in plan.units:
        calls += converters.get(u.index, [])
        ins = [reads[(u.index, port)] for port in range(len(u.inputs))]
        outs = ["out"] if u.index == last else [writes[(u.index, k)] for k in range(u.outputs)]
        unit_list, inner = unit_calls(u, ins, outs)
        calls += unit_list
        channels += inner
    return calls, channels


def tb_batch(stages: Sequence[UnitPlan], in_beats: int) -> int:
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


def render_hls(
    plan: Plan,
    net: Network,
    onnx_path: Path,
    build_dir: Path,
    *,
    part: str = DEFAULT_PART,
    clock_mhz: float = DEFAULT_CLOCK_MHZ,
) -> dict[str, Any]:
    """Write ``build_dir/hls/`` for ``plan`` (of ``net``: memories and testbench vectors; see
    the module docstring); return a summary for the manifest."""
    if clock_mhz <= 0:
        raise ValueError(f"clock frequency must be positive, got {clock_mhz} MHz")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", part):
        raise ValueError(f"not an FPGA part name: {part!r}")
    stages = list(plan.units)
    calls, channels = graph_calls(plan) if plan.is_graph else chain_calls(plan)
    first = next(s for s in stages if -1 in s.inputs)  # the unit reading the top's input
    widths = [(s.in_width, s) for s in stages] + [(s.out_width, s) for s in stages]
    max_width, widest = max(widths, key=lambda item: item[0])
    if max_width > AP_INT_LIMIT:
        raise ConfigError(
            f"layer {widest.name}: a {max_width}-bit stream exceeds ap_int's {AP_INT_LIMIT}-bit "
            f"limit; lower its PE or SIMD"
        )
    hls_dir = Path(build_dir) / HLS_DIR
    hls_dir.mkdir(parents=True, exist_ok=True)
    # units with arrays in params_<ident>.h: memories, a DBF unit's constants and a CI-BCNN
    # interaction's graph
    with_memories = [
        s
        for s in stages
        if s.has_memories or s.is_dbf or s.kind in (UnitKind.INTERACTION, UnitKind.MAJORITY_POOL)
    ]
    params = [f"params_{s.ident}.h" for s in with_memories]
    context: dict[str, Any] = {
        "source": Path(onnx_path).name,
        "top": TOP,
        "stages": stages,
        "calls": calls,
        "channels": channels,
        "first": first,
        "last": stages[-1],
        "io": plan.io,
        "ap_int_max_w": max(AP_INT_DEFAULT_MAX_W, -(-max_width // 1024) * 1024),
        "params": params,
        "tb_batch": tb_batch(stages, plan.io.in_beats),
        "part": part,
        "clock_period": f"{1000.0 / clock_mhz:.3f}",
        "clock_mhz": f"{clock_mhz:g}",
        "product": product_type,
        "activation": activation_type,
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
    for header, unit in zip(params, with_memories, strict=True):
        arrays = memories(unit, net.layers[unit.index])
        arrays.setdefault("codes", [])
        arrays.setdefault("alpha", [])
        files[header] = render(
            "params.h.j2",
            stage=unit,
            words_per_line=WORDS_PER_LINE,
            **arrays,
        )
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
            "in_width": plan.io.in_width,
            "in_bits": plan.io.in_bits,
            "out_width": plan.io.out_width,
            "acc_bits": plan.io.acc_width,
            "out_pe": plan.io.out_pe,
            "part": part,
            "clock_mhz": clock_mhz,
            "width_converters": len(plan.converters),
        }
    }


def generate_hls(
    net: Network, folding: Folding, onnx_path: Path, build_dir: Path, **options: Any
) -> dict[str, Any]:
    """Plan ``net`` at ``folding`` (hwbnn.plan.build_plan) and write ``build_dir/hls/`` with
    :func:`render_hls` (``options``: its ``part`` and ``clock_mhz``); return a summary for the
    manifest."""
    return render_hls(build_plan(net, folding), net, onnx_path, build_dir, **options)
