"""Build the hardware plan of a folded network, validated: :func:`build_plan`.

Per layer (hwbnn.ir.types, folded as hwbnn.ir.folding):

- input thresholds: SIMD codes of B bits in, SIMD bits out; thresholds of B + 1 bits in
  SIMD lanes of N/SIMD words;
- matrix-vector unit: SIMD elements of INPUT_BITS bits in, PE bits out (PE accumulators of
  ``acc_bits`` for the output layer); weights in PE lanes of (MH/PE)*(MW/SIMD) words of SIMD
  bits, thresholds in PE lanes of MH/PE words (widths: :func:`hwbnn.plan.widths.mvau_widths`);
- DBF unit (hwbnn.ir.dbf): as a matrix-vector unit on the streams (SIMD in, PE out); its
  codes, alpha and thresholds are constants of the unit, no memories;
- sliding window: SIMD elements of one pixel per beat, in and out, or at SIMD = m*C (m
  dividing K*K) C elements (one pixel) in and m window positions out per beat; elements are
  bits, or the input codes (B bits) for an integer first layer;
- max pool: a sliding window without padding on bits, then an OR over each window; at
  SIMD = m*C the window stream between them carries m positions per beat, and the pool reads
  and writes one pixel (C bits) per beat;
- majority pool (hwbnn.ir.majority): the same with the window's padding (pad bit 0), then a
  thresholded count over each window (:func:`majority_unit`); its thresholds are parameters
  the generators read from the IR node, no memory.

Between unit i (PE_i or SIMD_i elements out) and unit i+1 (SIMD_{i+1} in), a width converter
where the beat widths differ. The FIFO depth after every unit but the last is ``fifo_depth``;
by default (:func:`auto_fifo_depth`) none for a dense network, and for a network with image
layers the smallest power of 2 holding 8 beats and every max or majority pool's burst (C/SIMD
beats of one output pixel, sent back to back): with several layers at the same cycles per
frame a stall that no FIFO absorbs is lost for good.

Validation raises :class:`PlanError` naming the layer: a folding that does not fit
(hwbnn.ir.folding.check_folding), an output layer over several pixels, an integer-input unit
whose input bits differ from the input format's, a threshold outside its unit's range,
accumulators wider than 63 bits, or a FIFO depth that is not 0 or at least 2.

A graph (forks, joins, side-input thresholds, hidden units emitting accumulators) is planned by
:mod:`hwbnn.plan.graph`: the same units, plus a stream per edge with its FIFO.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from hwbnn.errors import ConfigError
from hwbnn.ir.folding import (
    Folding,
    LayerFolding,
    WeightStorage,
    check_folding,
    initiation_interval,
    layer_cycles,
)
from hwbnn.ir.types import (
    DBFMatrixVector,
    InputThreshold,
    Layer,
    MajorityPool,
    MatrixVector,
    MaxPool,
    Network,
    SlidingWindow,
)
from hwbnn.plan.model import (
    Converter,
    Memory,
    MemoryKind,
    Plan,
    StreamFormat,
    UnitKind,
    UnitPlan,
    Window,
)
from hwbnn.plan.widths import clog2, identifier, mvau_widths

#: Widest accumulator any backend reads back (int64 fields).
MAX_ACC_BITS = 63
#: Beats every FIFO holds at least (networks with image layers).
MIN_FIFO_BEATS = 8


class PlanError(ConfigError):
    """A network and folding that no hardware plan fits; the message names the layer."""


def line_buffer_rows(
    in_height: int,
    kernel: int,
    stride: int,
    pad_top: int = 0,
    pad_bottom: int = 0,
    dilation: int = 1,
) -> int:
    """Rows of hwbnn_sliding_window's line buffer (its localparam ROWS): E + STRIDE, or
    2*E - PAD_TOP - PAD_BOTTOM + (H + PAD_TOP + PAD_BOTTOM - E) % STRIDE when larger (the
    next frame's first rows load while the last row of windows is read), with the window's
    extent E = DILATION*(KERNEL-1) + 1 rows."""
    extent = dilation * (kernel - 1) + 1
    rem = (in_height + pad_top + pad_bottom - extent) % stride
    return max(extent + stride, 2 * extent - pad_top - pad_bottom + rem)


def auto_fifo_depth(net: Network, folding: Folding) -> int:
    """The default FIFO depth (see the module docstring)."""
    if net.is_dense:
        return 0
    bursts = [
        max(1, layer.channels // fold.simd)
        for layer, fold in zip(net.layers, folding.layers, strict=True)
        if isinstance(layer, MaxPool | MajorityPool)
    ]
    return 1 << clog2(max([MIN_FIFO_BEATS, *bursts]))


def _base(index: int, layer: Layer, fold: LayerFolding, fifo: int) -> dict[str, Any]:
    return {
        "index": index,
        "name": layer.name,
        "ident": identifier(index, layer.name),
        "pe": fold.pe,
        "simd": fold.simd,
        "cycles": layer_cycles(layer, fold),
        "fifo_depth": fifo,
        "is_output": False,
        "acc_bits": 0,
        "popcount_bits": 0,
        "threshold_bits": 0,
        "threshold_signed": False,
        "inner_beats": 0,
        "inputs": (index - 1,),
    }


def _check_values(layer: Layer, what: str, values: np.ndarray, low: int, high: int) -> None:
    array = np.asarray(values)
    if array.size and (int(array.min()) < low or int(array.max()) > high):
        bad = int(array[(array < low) | (array > high)][0])
        raise PlanError(f"layer {layer.name}: {what} {bad} outside [{low}, {high}]")


def threshold_unit(
    index: int, layer: InputThreshold, fold: LayerFolding, bits: int, fifo: int
) -> UnitPlan:
    """The unit of input thresholds on ``bits``-bit codes (see the module docstring)."""
    n, simd = layer.in_elements, fold.simd
    _check_values(layer, "input threshold", layer.thresholds, 0, 1 << bits)
    memory = Memory(MemoryKind.THRESHOLDS, simd, n // simd, bits + 1)
    base = _base(index, layer, fold, fifo)
    base["threshold_bits"] = bits + 1
    return UnitPlan(
        **base,
        kind=UnitKind.INPUT_THRESHOLD,
        mw=n,
        mh=n,
        pixels=1,
        in_bits=bits,
        out_bits=1,
        in_width=simd * bits,
        out_width=simd,
        in_beats=n // simd,
        out_beats=n // simd,
        thresholds=memory,
    )


def weight_storage(layer: MatrixVector, fold: LayerFolding, depth: int) -> WeightStorage:
    """Where the ``depth`` weight words of ``layer`` live: the folding's choice if it gives
    one, else CONSTANT for at most two words (every lane sees one or two weights, which the
    popcount's cells absorb: no memory and no XNOR LUTs), else a ROM whose kind (block RAM or
    logic) synthesis picks by its cost. PlanError for CONSTANT on more than two words."""
    if fold.weights is None:
        return WeightStorage.CONSTANT if depth <= 2 else WeightStorage.ROM
    if fold.weights is WeightStorage.CONSTANT and depth > 2:
        raise PlanError(
            f"layer {layer.name}: constant weights need at most 2 words per lane, this folding "
            f"has {depth} (MH/PE * MW/SIMD); raise PE or SIMD or choose a ROM"
        )
    return fold.weights


def mvau_unit(index: int, layer: MatrixVector, fold: LayerFolding, fifo: int) -> UnitPlan:
    """The matrix-vector unit of ``layer``: its widths, memories and beats."""
    pe, simd, bits = fold.pe, fold.simd, layer.input_bits
    widths = mvau_widths(layer.mw, bits)
    if widths.acc_width > MAX_ACC_BITS:
        raise PlanError(
            f"layer {layer.name}: {widths.acc_width}-bit accumulators exceed {MAX_ACC_BITS} bits"
        )
    nf, sf = layer.mh // pe, layer.mw // simd
    thresholds = None
    if layer.thresholds is not None:
        _check_values(layer, "threshold", layer.thresholds, widths.thresh_low, widths.thresh_high)
        signed = widths.thresh_signed
        thresholds = Memory(MemoryKind.THRESHOLDS, pe, nf, widths.thresh_width, signed)
    out_bits = widths.acc_width if layer.emits_acc else 1
    base = _base(index, layer, fold, fifo)
    base.update(
        is_output=layer.is_output,
        emits_acc=layer.emits_acc,
        acc_bits=widths.acc_width,
        popcount_bits=widths.popcount_width,
        threshold_bits=widths.thresh_width,
        threshold_signed=widths.thresh_signed,
    )
    return UnitPlan(
        **base,
        kind=UnitKind.MVAU,
        mw=layer.mw,
        mh=layer.mh,
        pixels=layer.pixels,
        in_bits=bits,
        out_bits=out_bits,
        in_width=simd * bits,
        out_width=pe * out_bits,
        in_beats=layer.pixels * sf,
        out_beats=layer.pixels * nf,
        weights=Memory(
            MemoryKind.WEIGHTS, pe, nf * sf, simd, storage=weight_storage(layer, fold, nf * sf)
        ),
        thresholds=thresholds,
    )


def dbf_unit(index: int, layer: DBFMatrixVector, fold: LayerFolding, fifo: int) -> UnitPlan:
    """The DBF unit of ``layer`` (rtl/hwbnn_dbf.v): SIMD elements in, PE bits (or PE ``y`` of
    ``acc_bits`` for the output layer) out; codes, alpha and thresholds are constants of the
    unit, not memories. ``popcount_bits`` holds the width of a basis product ``d_m``."""
    if layer.acc_bits > MAX_ACC_BITS:
        raise PlanError(
            f"layer {layer.name}: {layer.acc_bits}-bit accumulators exceed {MAX_ACC_BITS} bits"
        )
    pe, simd, bits = fold.pe, fold.simd, layer.input_bits
    out_bits = layer.acc_bits if layer.emits_acc else 1
    base = _base(index, layer, fold, fifo)
    base.update(
        is_output=layer.is_output,
        emits_acc=layer.emits_acc,
        acc_bits=layer.acc_bits,
        popcount_bits=layer.basis_bits,
        threshold_bits=layer.acc_bits + 1,
        threshold_signed=True,
    )
    return UnitPlan(
        **base,
        kind=UnitKind.DBF,
        bases=layer.bases,
        alpha_bits=layer.alpha_bits,
        bases_per_cycle=fold.bases_per_cycle(layer),
        mw=layer.mw,
        mh=layer.mh,
        pixels=layer.pixels,
        in_bits=bits,
        out_bits=out_bits,
        in_width=simd * bits,
        out_width=pe * out_bits,
        in_beats=layer.pixels * layer.mw // simd,
        out_beats=layer.pixels * layer.mh // pe,
    )


def image_unit(
    index: int, layer: SlidingWindow | MaxPool, fold: LayerFolding, bits: int, fifo: int
) -> UnitPlan:
    """The unit of a sliding window or max pool on ``bits``-bit elements, with its geometry."""
    h, w, c = layer.in_shape
    oh, ow, _ = layer.out_shape
    simd = fold.simd
    reads = min(simd, c)  # elements per input beat (one pixel at most)
    dilation = 1
    if isinstance(layer, SlidingWindow):
        padding, pad_code, kind = layer.padding, layer.pad_code, UnitKind.SLIDING_WINDOW
        out_elements, inner, dilation = layer.out_elements, 0, layer.dilation
    else:  # a pool pads with bit 0, the OR's neutral element
        padding, pad_code, kind = layer.padding, 0, UnitKind.MAX_POOL
        out_elements = layer.out_elements
        inner = oh * ow * layer.kernel**2 * c // simd
    top, _, bottom, _ = padding
    rows = line_buffer_rows(h, layer.kernel, layer.stride, top, bottom, dilation)
    base = _base(index, layer, fold, fifo)
    base["inner_beats"] = inner
    return UnitPlan(
        **base,
        kind=kind,
        mw=c,
        mh=c,
        pixels=oh * ow,
        in_bits=bits,
        out_bits=bits,
        in_width=reads * bits,
        out_width=(simd if isinstance(layer, SlidingWindow) else reads) * bits,
        in_beats=h * w * c // reads,
        out_beats=out_elements // (simd if isinstance(layer, SlidingWindow) else reads),
        window=Window(
            h, w, c, layer.kernel, layer.stride, padding, pad_code, oh, ow, rows, dilation
        ),
    )


def majority_unit(index: int, layer: MajorityPool, fold: LayerFolding, fifo: int) -> UnitPlan:
    """The unit of a majority pool: the padded sliding window of its geometry (pad bit 0)
    and hwbnn_window_majority, which writes ``min(SIMD, C)`` bits per window beat group."""
    h, w, c = layer.in_shape
    oh, ow, _ = layer.out_shape
    reads = min(fold.simd, c)
    window = SlidingWindow(layer.name, layer.in_shape, layer.kernel, layer.stride, layer.padding)
    unit = image_unit(index, window, fold, 1, fifo)
    return replace(
        unit,
        kind=UnitKind.MAJORITY_POOL,
        inner_beats=unit.out_beats,
        out_width=reads,
        out_beats=layer.out_elements // reads,
    )


def element_bits(net: Network, layer: Layer) -> int:
    """Bits per element a layer reads: the input code width for integer inputs, else 1."""
    if isinstance(layer, MatrixVector | DBFMatrixVector):
        if not layer.binary_input and layer.input_bits != net.input.bits:
            raise PlanError(
                f"layer {layer.name}: reads {layer.input_bits}-bit codes, the input format has "
                f"{net.input.bits}-bit codes"
            )
        return layer.input_bits
    if isinstance(layer, InputThreshold):
        return net.input.bits
    if isinstance(layer, SlidingWindow) and layer.input_levels != 2:
        return net.input.bits
    return 1


def is_chain_plan(net: Network) -> bool:
    """True when ``net`` is planned as a chain: every node reads the one before it and is a
    thresholding, matrix-vector, window or pool unit, and only the last emits accumulators."""
    kinds = InputThreshold | MatrixVector | DBFMatrixVector | SlidingWindow | MaxPool | MajorityPool
    return net.is_chain and all(
        isinstance(n, kinds)
        and not (isinstance(n, MatrixVector | DBFMatrixVector) and n.emits_acc and not n.is_output)
        for n in net.layers
    )


def build_chain_plan(net: Network, folding: Folding, *, fifo_depth: int | None = None) -> Plan:
    """The validated hardware plan of a chain ``net`` folded as ``folding`` (see the module
    docstring); :func:`hwbnn.plan.graph.build_plan` takes any network.

    Raises:
        PlanError (a ConfigError): naming the layer that does not fit.
    """
    try:
        check_folding(net, folding)
    except PlanError:
        raise
    except ConfigError as exc:
        raise PlanError(str(exc)) from None
    out = net.output_layer
    if out.pixels > 1:
        raise PlanError(
            f"layer {out.name}: an output layer of {out.pixels} pixels is not generated; "
            f"flatten the image into a dense output layer"
        )
    depth = auto_fifo_depth(net, folding) if fifo_depth is None else fifo_depth
    if depth and depth < 2:
        raise PlanError(f"FIFO depth must be 0 (none) or at least 2, got {depth}")
    units: list[UnitPlan] = []
    last = len(net.layers) - 1
    for index, (layer, fold) in enumerate(zip(net.layers, folding.layers, strict=True)):
        fifo = 0 if index == last else depth
        bits = element_bits(net, layer)
        if isinstance(layer, InputThreshold):
            units.append(threshold_unit(index, layer, fold, bits, fifo))
        elif isinstance(layer, MatrixVector):
            units.append(mvau_unit(index, layer, fold, fifo))
        elif isinstance(layer, DBFMatrixVector):
            units.append(dbf_unit(index, layer, fold, fifo))
        elif isinstance(layer, SlidingWindow | MaxPool):
            units.append(image_unit(index, layer, fold, bits, fifo))
        elif isinstance(layer, MajorityPool):
            units.append(majority_unit(index, layer, fold, fifo))
    converters = tuple(
        Converter(a.index, a.out_width, b.in_width, a.out_beats)
        for a, b in zip(units, units[1:], strict=False)
        if a.out_width != b.in_width
    )
    first, final = units[0], units[-1]
    io = StreamFormat(
        in_elements=net.input.elements,
        in_levels=net.input.levels,
        in_bits=first.in_bits,
        in_simd=first.in_per_beat,
        in_width=first.in_width,
        in_beats=net.input.elements // first.in_per_beat,
        classes=net.classes,
        out_pe=final.pe,
        acc_width=final.out_bits,
        out_width=final.out_width,
        out_beats=final.out_beats,
    )
    return Plan(
        source=net.source,
        units=tuple(units),
        converters=converters,
        io=io,
        initiation_interval=initiation_interval(net, folding),
        fifo_depth=depth,
    )
