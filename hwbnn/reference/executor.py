"""Bit-exact NumPy execution of a :class:`~hwbnn.ir.types.Network`, batched.

Bipolar vectors are packed LSB-first into little-endian uint64 words (element i at bit i % 64 of
word i // 64, padding bits 0). For an XNOR layer ``popcount_c = MW - popcount(x XOR w_c)``
(padding bits agree, so they never count as mismatches); :mod:`hwbnn.reference.kernels` counts
them for a whole block at once. Integer-input layers multiply the codes by the +-1 weight matrix
in float32 when every sum stays below 2**24, else in float64 (exact below 2**53). Streams are
(B, H*W*C) arrays in stream order (:mod:`hwbnn.ir.types`); a matrix-vector unit with P pixels
runs on (B*P, MW) rows. A thresholded unit with a multiple of 8 outputs hands its bits on
byte-packed (:mod:`hwbnn.reference.images`): windows, pools and the next unit move bytes.

Frames run in blocks (a few hundred frames, fewer when they are large), every stage on the whole
block: no Python loop over frames, pixels or channels. Integer codes are kept in int16 inside a
block; the layer outputs a caller keeps are bool bits or int64.

A graph runs node by node in topological order; each node's output is kept until its last
reader has run. Forks pass their input on, add-joins sum (a bit counts as -1/+1), concatenation
interleaves the inputs' channels per pixel, thresholds count the steps passed, a CI-BCNN
interaction adds its level matrices' ternary sums level by level (:func:`interact`). A DBF unit
(:mod:`hwbnn.ir.dbf`) computes its basis products and their integer combination as exact
float64 matrix products (every sum is an integer far below 2**53).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from hwbnn.errors import DataError
from hwbnn.ir.types import (
    INPUT,
    AddJoin,
    Concat,
    DBFMatrixVector,
    EdgeType,
    Fork,
    InputThreshold,
    Interaction,
    Layer,
    MajorityPool,
    MatrixVector,
    MaxPool,
    Network,
    SlidingWindow,
    Threshold,
    ValueKind,
)
from hwbnn.reference.codes import CodeReader, to_codes
from hwbnn.reference.images import (
    PackedBits,
    majority_pool,
    or_pool,
    pack_stream,
    sliding_windows,
    unpacked,
)
from hwbnn.reference.kernels import (
    KERNELS,
    default_kernel,
    mismatches,
    mismatches_within,
    pack_bits,
)

__all__ = [  # to_codes and pack_bits are re-exported: this module was their home
    "Reference",
    "ReferenceResult",
    "majority_pool",
    "or_pool",
    "pack_bits",
    "run_layer",
    "run_node",
    "run_reference",
    "sliding_windows",
    "to_codes",
]

# frames per block: at most 2**18 input elements and 2**16 matrix rows (frames x pixels).
# Measured here (benchmarks/reference_speed.py): fewer frames pay more Python per frame, more
# leave the caches (784-input MLPs: about 1.0 M frames/s in blocks of 334, 0.26 M in 512)
_BLOCK_ELEMENTS = 2**18
_BLOCK_ROWS = 2**16


@dataclass
class ReferenceResult:
    """Integer accumulators of the output layer, labels, and (optionally) every layer's output."""

    accumulators: np.ndarray
    labels: np.ndarray
    layer_outputs: list[np.ndarray] = field(default_factory=list)


class _PackedLayer:
    """A matrix-vector unit with its weights prepared once: packed words for XNOR layers,
    a +-1 matrix for integer-input layers (float32 where every sum is exact in it)."""

    def __init__(self, layer: MatrixVector, kernel: str) -> None:
        self.layer = layer
        self.kernel = kernel
        if layer.binary_input:
            self.words = pack_bits(layer.weights)  # (MH, W)
            if layer.thresholds is not None:  # popcount >= T  <=>  mismatches <= MW - T
                self.limit = layer.mw - layer.thresholds
        else:
            largest = layer.mw * (layer.input_levels - 1)
            exact32 = largest < 2**24  # every partial sum is an integer float32 holds
            self.signed = np.where(layer.weights, 1.0, -1.0).T.astype(
                np.float32 if exact32 else np.float64
            )  # (MW, MH)

    def run(self, x: np.ndarray | PackedBits) -> np.ndarray | PackedBits:
        """(B, pixels*MW) inputs -> (B, pixels*MH) accumulators (the output layer and hidden
        units that emit them), or output bits of a thresholded layer (packed when MH is a
        multiple of 8, see :mod:`hwbnn.reference.images`)."""
        layer = self.layer
        frames, rows = len(x), len(x) * layer.pixels
        if not layer.binary_input:
            codes = unpacked(x).reshape(rows, layer.mw)
            acc = (codes.astype(self.signed.dtype) @ self.signed).astype(np.int64)
            t = layer.thresholds
            out = acc if t is None else acc >= t[None, :]
            return out.reshape(frames, layer.pixels * layer.mh)
        packed = self._words(x, rows)
        if layer.emits_acc:
            counts = mismatches(packed, self.words, self.kernel)
            return (layer.mw - 2 * counts).reshape(frames, layer.pixels * layer.mh)
        bits = mismatches_within(packed, self.words, self.limit, self.kernel)
        bits = bits.reshape(frames, layer.pixels * layer.mh)
        return pack_stream(bits) if layer.mh % 8 == 0 else bits

    def _words(self, x: np.ndarray | PackedBits, rows: int) -> np.ndarray:
        """The input rows as (rows, W) words: packed bytes padded to whole words, or bits
        packed."""
        mw, words = self.layer.mw, self.words.shape[1]
        compiled = self.kernel == "numba"  # the same words, packed in compiled loops
        if compiled:
            from hwbnn.reference import _compiled
        if not isinstance(x, PackedBits) or mw % 8:
            bits = unpacked(x).reshape(rows, mw).astype(bool, copy=False)
            if compiled and mw < 64:  # np.packbits is faster on whole bytes
                return _compiled.pack_bool_rows(np.ascontiguousarray(bits), words)
            return pack_bits(bits)
        row_bytes = x.data.reshape(rows, mw // 8)
        if row_bytes.shape[1] != 8 * words:
            if compiled:
                row_bytes = _compiled.pad_byte_rows(np.ascontiguousarray(row_bytes), words)
            else:
                whole = np.zeros((rows, 8 * words), dtype=np.uint8)
                whole[:, : row_bytes.shape[1]] = row_bytes
                row_bytes = whole
        return np.ascontiguousarray(row_bytes).view("<u8")


class Reference:
    """A network prepared for repeated execution (weights packed once).

    ``kernel`` is the XNOR-popcount kernel (:mod:`hwbnn.reference.kernels`): ``"numpy"`` (the
    definition), ``"numba"`` (compiled, equal to it; it also reads the input codes and ORs the
    pools in compiled loops), or None for the fastest one available.
    """

    def __init__(self, net: Network, kernel: str | None = None) -> None:
        self.net = net
        self.kernel = kernel or default_kernel()
        if self.kernel not in KERNELS:
            raise ValueError(f"unknown reference kernel '{kernel}'; choose one of {KERNELS}")
        self._stages = [
            _PackedLayer(layer, self.kernel) if isinstance(layer, MatrixVector) else layer
            for layer in net.layers
        ]
        self._reads = [net.inputs_of(layer.name) for layer in net.layers]
        self._in_edges = [net.in_edges(layer.name) for layer in net.layers]
        # after node i runs, drop the values whose last reader it is
        last_reader: dict[str, int] = {}
        for index, reads in enumerate(self._reads):
            for name in reads:
                last_reader[name] = index
        self._drop = [
            [name for name in set(reads) if last_reader[name] == index]
            for index, reads in enumerate(self._reads)
        ]
        self._codes = CodeReader(net.input, self.kernel)
        pixels = max(
            (
                layer.pixels
                for layer in net.layers
                if isinstance(layer, MatrixVector | DBFMatrixVector)
            ),
            default=1,
        )
        elements = max(1, net.input.elements)
        self._block = max(1, min(_BLOCK_ELEMENTS // elements, _BLOCK_ROWS // pixels))

    def run_codes(self, codes: np.ndarray, keep_layers: bool = False) -> ReferenceResult:
        """Execute on (B, n) integer input codes."""
        codes = np.asarray(codes, dtype=np.int64)
        codes = codes.reshape(len(codes), -1 if codes.size else self.net.input.elements)
        if codes.shape[1] != self.net.input.elements:
            raise DataError(
                f"expected {self.net.input.elements} input codes per frame, got {codes.shape[1]}"
            )
        if codes.size and (codes.min() < 0 or codes.max() >= self.net.input.levels):
            raise DataError(f"input codes outside [0, {self.net.input.levels - 1}]")
        codes = codes.astype(self._codes.dtype)
        return self._run_blocks(codes, lambda block, first: block, keep_layers)

    def run(self, x: np.ndarray, rounding: bool = False) -> ReferenceResult:
        """Execute on float inputs in the ONNX model's format (see :func:`to_codes`)."""
        fmt = self.net.input
        x = np.asarray(x, dtype=np.float32)
        if x.shape[1:] != fmt.shape:
            raise DataError(f"input shape {x.shape[1:]} does not match the model's {fmt.shape}")

        def convert(block: np.ndarray, first: int) -> np.ndarray:
            return self._codes.codes(block, rounding, first)

        return self._run_blocks(x, convert, False)

    def _run_blocks(
        self,
        inputs: np.ndarray,
        convert: Callable[[np.ndarray, int], np.ndarray],
        keep_layers: bool,
    ) -> ReferenceResult:
        """Run blocks of frames through all layers (temporaries stay in cache)."""
        size = self._block

        blocks = [
            self._run_block(convert(inputs[start : start + size], start), keep_layers)
            for start in range(0, len(inputs), size)
        ] or [self._run_block(convert(inputs, 0), keep_layers)]
        acc = np.concatenate([b[0] for b in blocks]).astype(np.int64, copy=False)
        layers = [np.concatenate(parts) for parts in zip(*(b[1] for b in blocks), strict=True)]
        out = self.net.output_layer
        assert out.out_scale is not None and out.out_bias is not None
        logits = acc * out.out_scale[None, :] + out.out_bias[None, :]
        return ReferenceResult(acc, np.argmax(logits, axis=1), layers)

    def _run_block(self, codes: np.ndarray, keep_layers: bool) -> tuple[np.ndarray, list]:
        outputs: list[np.ndarray] = []
        values: dict[str, np.ndarray | PackedBits] = {INPUT: codes}  # bipolar: code 1 is +1
        x: np.ndarray | PackedBits = codes
        for index, stage in enumerate(self._stages):
            args = [values[name] for name in self._reads[index]]
            x = _run_stage(stage, args, self._in_edges[index], self.kernel)
            for name in self._drop[index]:
                del values[name]
            values[self.net.layers[index].name] = x
            if keep_layers:  # bits as bool, every integer as int64
                out = unpacked(x)
                outputs.append(out if out.dtype == bool else out.astype(np.int64))
        return unpacked(x), outputs


def _like(values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Integer ``values`` in the integer type of ``x`` when it holds them all (a comparison
    then runs without widening the block)."""
    if x.dtype.kind in "iu" and len(values):
        info = np.iinfo(x.dtype)
        if info.min <= values.min() and values.max() <= info.max:
            return values.astype(x.dtype)
    return values


def _signed(x: np.ndarray, edge: EdgeType) -> np.ndarray:
    """An input's values as integers (a bit is -1 or +1)."""
    x = np.asarray(x, dtype=np.int64)
    return 2 * x - 1 if edge.kind is ValueKind.BITS else x


def _run_stage(
    stage: _PackedLayer | Layer,
    inputs: Sequence[np.ndarray | PackedBits],
    edges: Sequence[EdgeType],
    kernel: str,
) -> np.ndarray | PackedBits:
    """One node on (B, n) codes, bits or integers in stream order; matrix-vector units,
    windows, pools and forks also take packed bits. ``kernel`` also ORs the pools."""
    if isinstance(stage, _PackedLayer):
        return stage.run(inputs[0])
    if isinstance(stage, SlidingWindow):
        return sliding_windows(stage, inputs[0])
    if isinstance(stage, MaxPool):
        return or_pool(stage, inputs[0], kernel)
    if isinstance(stage, MajorityPool):
        return majority_pool(stage, inputs[0])
    if isinstance(stage, Fork):
        return inputs[0]
    if isinstance(stage, DBFMatrixVector):
        return _dbf(stage, unpacked(inputs[0]))
    args = [unpacked(a) for a in inputs]
    x = args[0]
    if isinstance(stage, InputThreshold):
        return x >= _like(stage.thresholds, x)[None, :]
    if isinstance(stage, AddJoin):
        total = _signed(args[0], edges[0])
        for arg, edge in zip(args[1:], edges[1:], strict=True):
            total = total + _signed(arg, edge)
        return total
    if isinstance(stage, Concat):
        pixels = edges[0].pixels
        parts = [
            np.asarray(a).reshape(len(a), pixels, e.elements // pixels)
            for a, e in zip(args, edges, strict=True)
        ]
        dtype = np.result_type(*parts)
        joined = np.concatenate([p.astype(dtype) for p in parts], axis=2)
        return joined.reshape(len(x), sum(e.elements for e in edges))
    if isinstance(stage, Threshold):
        return _threshold(stage, args)
    if isinstance(stage, Interaction):
        return interact(stage, args[0])
    raise AssertionError(f"no reference for {stage!r}")


def _dbf(layer: DBFMatrixVector, x: np.ndarray) -> np.ndarray:
    """A DBF unit (:mod:`hwbnn.ir.dbf`) on (B, pixels*MW) bits or codes: basis products
    ``d``, combination ``y = alpha d``, then ``y >= T`` (hidden) or ``y`` (output)."""
    frames = len(x)
    y = layer.combine(layer.basis_products(x.reshape(frames * layer.pixels, layer.mw)))
    out = y if layer.thresholds is None else y >= layer.thresholds[None, :]
    return out.reshape(frames, layer.pixels * layer.mh)


def _threshold(node: Threshold, args: Sequence[np.ndarray]) -> np.ndarray:
    """out = out_base + #{j : x >= T[c, side, j]} per element (channel innermost)."""
    x = np.asarray(args[0], dtype=np.int64)
    channels = node.channels
    pixels = x.shape[1] // channels
    data = x.reshape(len(x), pixels, channels)
    side = np.asarray(args[1], dtype=np.int64).reshape(data.shape) if node.has_side else None
    t = node.thresholds  # (C, S, N)
    if node.has_side:
        chosen = t[np.arange(channels)[None, None, :], side]  # (B, P, C, N)
    else:  # every element reads side 0: broadcast instead of gathering
        chosen = t[None, None, :, 0, :]
    count = (data[..., None] >= chosen).sum(axis=3)
    out = (node.out_base + count).reshape(len(x), x.shape[1])
    return out.astype(bool) if node.binary_output else out


def interact(node: Interaction, x: np.ndarray) -> np.ndarray:
    """The interaction of :mod:`hwbnn.ir.interaction` on (B, pixels*C) integers in stream
    order: ``Y^(k) = Y^(k-1) + W_k t(Y^(k-1))`` per pixel for k = 1..D, then ``negate``."""
    y = np.asarray(x, dtype=np.int64).reshape(len(x), -1, node.channels)
    m = node.deadzone
    for weight in node.level_matrices():
        t = (y >= m).astype(np.int64) - (y <= -m)
        y = y + t @ weight.T
    negate = np.asarray(node.negate, dtype=bool)
    y = np.where(negate[None, None, :], -y, y)
    return y.reshape(len(x), -1)


def run_layer(layer: Layer, x: np.ndarray) -> np.ndarray:
    """One single-input layer on unpacked inputs in stream order, for checkers of single
    hardware units.

    ``x`` (F, in_elements): unsigned codes for input thresholds, integer-input layers and their
    sliding windows, bits 0/1 otherwise. Returns (F, out_elements) int64: output bits 0/1 (or
    the window codes of a sliding window), or signed accumulators.
    """
    if isinstance(layer, AddJoin | Concat) or (isinstance(layer, Threshold) and layer.has_side):
        raise TypeError(f"{layer.name}: a node with several inputs runs with run_node")
    if isinstance(layer, Threshold):
        return run_node(layer, [x])
    x = np.asarray(x, dtype=np.int64)
    kernel = default_kernel()
    stage = _PackedLayer(layer, kernel) if isinstance(layer, MatrixVector) else layer
    return unpacked(_run_stage(stage, [x], [], kernel)).astype(np.int64)


def run_node(
    node: Layer, inputs: Sequence[np.ndarray], edges: Sequence[EdgeType] | None = None
) -> np.ndarray:
    """One node of any kind on its unpacked (F, elements) inputs in stream order (bits 0/1,
    codes, or signed integers), for checkers of single hardware units; returns int64.

    ``edges`` are the input streams' types: an add-join needs them to tell bits (-1/+1) from
    integers, a concatenation to know the pixels; other nodes ignore them.
    """
    if isinstance(node, AddJoin | Concat) and edges is None:
        raise TypeError(f"{node.name}: run_node needs the input edges of an add-join or concat")
    arrays = [np.asarray(a, dtype=np.int64) for a in inputs]
    kernel = default_kernel()
    stage = _PackedLayer(node, kernel) if isinstance(node, MatrixVector) else node
    return unpacked(_run_stage(stage, arrays, list(edges or []), kernel)).astype(np.int64)


def run_reference(net: Network, x: np.ndarray, rounding: bool = False) -> ReferenceResult:
    return Reference(net).run(x, rounding)
