"""Bit-exact NumPy execution of a :class:`~hwbnn.ir.types.Network`, batched.

Bipolar vectors are packed LSB-first into little-endian uint64 words (element i at bit i % 64 of
word i // 64, padding bits 0). For an XNOR layer ``popcount_c = MW - popcount(x XOR w_c)``
(padding bits agree, so they never count as mismatches). Integer-input layers multiply the codes
by the +-1 weight matrix in float64, which is exact below 2**53. Image stages (sliding
windows, OR max pools) work on unpacked (B, H*W*C) arrays in stream order
(:mod:`hwbnn.ir.types`); a matrix-vector unit with P pixels runs on (B*P, MW) rows.

A graph runs node by node in topological order; each node's output is kept until its last
reader has run. Forks pass their input on, add-joins sum (a bit counts as -1/+1), concatenation
interleaves the inputs' channels per pixel, thresholds count the steps passed.
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
    EdgeType,
    Fork,
    InputFormat,
    InputThreshold,
    Layer,
    MatrixVector,
    MaxPool,
    Network,
    SlidingWindow,
    Threshold,
    ValueKind,
)

_BLOCK = 128  # frames per block: keeps (block, MH) temporaries in cache


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """(B, n) bool -> (B, ceil(n/64)) uint64, element i at bit i (LSB first)."""
    b, n = bits.shape
    words = (n + 63) // 64
    packed = np.packbits(bits, axis=1, bitorder="little")
    padded = np.zeros((b, words * 8), dtype=np.uint8)
    padded[:, : packed.shape[1]] = packed
    return padded.view("<u8")


def to_codes(
    fmt: InputFormat, x: np.ndarray, rounding: bool = False, first_frame: int = 0
) -> np.ndarray:
    """Float inputs in the ONNX model's own format -> (B, n) integer codes in stream order.

    Each value must equal one of ``fmt.values`` exactly, unless ``rounding`` is asked for (then
    the nearest code is taken). Anything else is an error naming the first offending value
    (frames are numbered from ``first_frame``).
    """
    x = np.asarray(x, dtype=np.float32)
    if x.shape[1:] != fmt.shape:
        raise DataError(f"input shape {x.shape[1:]} does not match the model's {fmt.shape}")
    flat = fmt.to_stream(x)
    values = fmt.values
    # fast path for evenly spaced codes, verified exactly; searchsorted for the rest
    step = (float(values[-1]) - float(values[0])) / (len(values) - 1)
    guess = np.rint((flat.astype(np.float64) - float(values[0])) / step)
    codes = np.clip(guess, 0, len(values) - 1).astype(np.int64)
    exact = values[codes] == flat
    if not exact.all():
        miss = ~exact
        codes[miss] = np.minimum(np.searchsorted(values, flat[miss]), len(values) - 1)
        exact = values[codes] == flat
    if rounding and not exact.all():
        below = np.maximum(codes - 1, 0)
        nearer = np.abs(flat - values[below]) <= np.abs(values[codes] - flat)
        codes = np.where(~exact & nearer, below, codes)
    elif not exact.all():
        bad = int(np.flatnonzero(~exact)[0])
        frame, element = divmod(bad, flat.shape[1])
        frame += first_frame
        element = int(fmt.stream_index()[element])  # numbered as in the ONNX input
        raise DataError(
            f"input frame {frame} element {element}: value {flat.flat[bad]!r} is not one "
            f"of the model's {len(values)} input codes (in [{values[0]}, {values[-1]}]); "
            f"pass rounding to take the nearest code"
        )
    return codes.astype(np.int64)


@dataclass
class ReferenceResult:
    """Integer accumulators of the output layer, labels, and (optionally) every layer's output."""

    accumulators: np.ndarray
    labels: np.ndarray
    layer_outputs: list[np.ndarray] = field(default_factory=list)


def sliding_windows(layer: SlidingWindow, x: np.ndarray) -> np.ndarray:
    """(B, H*W*C) -> (B, OH*OW*K*K*C): each output pixel's window, ``(ky, kx, c)`` order."""
    h, w, c = layer.in_shape
    k, s = layer.kernel, layer.stride
    oh, ow, _ = layer.out_shape
    top, left, bottom, right = layer.padding
    image = np.asarray(x).reshape(len(x), h, w, c)
    image = np.pad(
        image,
        ((0, 0), (top, bottom), (left, right), (0, 0)),
        constant_values=np.asarray(layer.pad_code).astype(image.dtype),
    )
    # (B, H', W', C, K, K) -> strided output positions -> (B, OH, OW, K, K, C)
    view = np.lib.stride_tricks.sliding_window_view(image, (k, k), axis=(1, 2))
    view = view[:, : (oh - 1) * s + 1 : s, : (ow - 1) * s + 1 : s]
    return view.transpose(0, 1, 2, 4, 5, 3).reshape(len(x), -1)


def or_pool(layer: MaxPool, x: np.ndarray) -> np.ndarray:
    """(B, H*W*C) bits -> (B, OH*OW*C): OR over each K x K window (max of +-1)."""
    h, w, c = layer.in_shape
    k, s = layer.kernel, layer.stride
    oh, ow, _ = layer.out_shape
    image = np.asarray(x).astype(bool).reshape(len(x), h, w, c)
    view = np.lib.stride_tricks.sliding_window_view(image, (k, k), axis=(1, 2))
    view = view[:, : (oh - 1) * s + 1 : s, : (ow - 1) * s + 1 : s]
    return view.any(axis=(4, 5)).reshape(len(x), -1)


class _PackedLayer:
    def __init__(self, layer: MatrixVector) -> None:
        self.layer = layer
        if layer.binary_input:
            self.words = pack_bits(layer.weights)  # (MH, W)
        else:
            self.signed = np.where(layer.weights, 1.0, -1.0).T.copy()  # (MW, MH) float64

    def run(self, x: np.ndarray) -> np.ndarray:
        """Unpacked (B, pixels*MW) inputs -> (B, pixels*MH) accumulators (the output layer
        and hidden units that emit them), or output bits of a thresholded layer."""
        layer = self.layer
        rows = np.asarray(x).reshape(len(x) * layer.pixels, layer.mw)
        acc = self.accumulate(pack_bits(rows.astype(bool)) if layer.binary_input else rows)
        out = acc if layer.emits_acc else self.compare(acc)
        return out.reshape(len(x), -1)

    def accumulate(self, x: np.ndarray) -> np.ndarray:
        """Signed accumulators (B, MH) of packed bits or integer codes (B, MW):
        2*popcount - MW, or the integer sum."""
        layer = self.layer
        if not layer.binary_input:
            return np.rint(x.astype(np.float64) @ self.signed).astype(np.int64)
        # one packed word at a time keeps the temporaries at (B, MH)
        mismatches = np.zeros((len(x), self.words.shape[0]), dtype=np.int64)
        for k in range(self.words.shape[1]):
            mismatches += np.bitwise_count(x[:, k, None] ^ self.words[None, :, k])
        return layer.mw - 2 * mismatches

    def compare(self, acc: np.ndarray) -> np.ndarray:
        """Hidden-layer output bits: popcount (or acc) >= T."""
        layer = self.layer
        assert layer.thresholds is not None
        value = (acc + layer.mw) // 2 if layer.binary_input else acc
        return value >= layer.thresholds[None, :]


class Reference:
    """A network prepared for repeated execution (weights packed once)."""

    def __init__(self, net: Network) -> None:
        self.net = net
        self._stages = [
            _PackedLayer(layer) if isinstance(layer, MatrixVector) else layer
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

    def run_codes(self, codes: np.ndarray, keep_layers: bool = False) -> ReferenceResult:
        """Execute on (B, n) integer input codes."""
        codes = np.asarray(codes, dtype=np.int64).reshape(len(codes), -1)
        if codes.shape[1] != self.net.input.elements:
            raise DataError(
                f"expected {self.net.input.elements} input codes per frame, got {codes.shape[1]}"
            )
        if codes.size and (codes.min() < 0 or codes.max() >= self.net.input.levels):
            raise DataError(f"input codes outside [0, {self.net.input.levels - 1}]")
        return self._run_blocks(codes, lambda block, first: block, keep_layers)

    def run(self, x: np.ndarray, rounding: bool = False) -> ReferenceResult:
        """Execute on float inputs in the ONNX model's format (see :func:`to_codes`)."""
        fmt = self.net.input
        x = np.asarray(x, dtype=np.float32)
        if x.shape[1:] != fmt.shape:
            raise DataError(f"input shape {x.shape[1:]} does not match the model's {fmt.shape}")

        def convert(block: np.ndarray, first: int) -> np.ndarray:
            return to_codes(fmt, block, rounding, first)

        return self._run_blocks(x, convert, False)

    def _run_blocks(
        self,
        inputs: np.ndarray,
        convert: Callable[[np.ndarray, int], np.ndarray],
        keep_layers: bool,
    ) -> ReferenceResult:
        """Run blocks of frames through all layers (temporaries stay in cache)."""
        blocks = [
            self._run_block(convert(inputs[start : start + _BLOCK], start), keep_layers)
            for start in range(0, len(inputs), _BLOCK)
        ] or [self._run_block(convert(inputs, 0), keep_layers)]
        acc = np.concatenate([b[0] for b in blocks])
        layers = [np.concatenate(parts) for parts in zip(*(b[1] for b in blocks), strict=True)]
        out = self.net.output_layer
        assert out.out_scale is not None and out.out_bias is not None
        logits = acc * out.out_scale[None, :] + out.out_bias[None, :]
        return ReferenceResult(acc, np.argmax(logits, axis=1), layers)

    def _run_block(self, codes: np.ndarray, keep_layers: bool) -> tuple[np.ndarray, list]:
        outputs: list[np.ndarray] = []
        values: dict[str, np.ndarray] = {INPUT: codes}  # bipolar input: code 1 is +1
        x: np.ndarray = codes
        for index, stage in enumerate(self._stages):
            args = [values[name] for name in self._reads[index]]
            x = _run_stage(stage, args, self._in_edges[index])
            for name in self._drop[index]:
                del values[name]
            values[self.net.layers[index].name] = x
            if keep_layers:
                outputs.append(x)
        return x, outputs


def _signed(x: np.ndarray, edge: EdgeType) -> np.ndarray:
    """An input's values as integers (a bit is -1 or +1)."""
    x = np.asarray(x, dtype=np.int64)
    return 2 * x - 1 if edge.kind is ValueKind.BITS else x


def _run_stage(
    stage: _PackedLayer | Layer, args: Sequence[np.ndarray], edges: Sequence[EdgeType]
) -> np.ndarray:
    """One node on unpacked (B, n) codes, bits or integers, in stream order."""
    x = args[0]
    if isinstance(stage, _PackedLayer):
        return stage.run(x)
    if isinstance(stage, InputThreshold):
        return x >= stage.thresholds[None, :]
    if isinstance(stage, SlidingWindow):
        return sliding_windows(stage, x)
    if isinstance(stage, MaxPool):
        return or_pool(stage, x)
    if isinstance(stage, Fork):
        return x
    if isinstance(stage, AddJoin):
        total = _signed(args[0], edges[0])
        for arg, edge in zip(args[1:], edges[1:], strict=True):
            total = total + _signed(arg, edge)
        return total
    if isinstance(stage, Concat):
        pixels = edges[0].pixels
        parts = [np.asarray(a).reshape(len(a), pixels, -1) for a in args]
        dtype = np.result_type(*parts)
        return np.concatenate([p.astype(dtype) for p in parts], axis=2).reshape(len(x), -1)
    if isinstance(stage, Threshold):
        return _threshold(stage, args)
    raise AssertionError(f"no reference for {stage!r}")


def _threshold(node: Threshold, args: Sequence[np.ndarray]) -> np.ndarray:
    """out = out_base + #{j : x >= T[c, side, j]} per element (channel innermost)."""
    x = np.asarray(args[0], dtype=np.int64)
    channels = node.channels
    pixels = x.shape[1] // channels
    data = x.reshape(len(x), pixels, channels)
    side = (
        np.asarray(args[1], dtype=np.int64).reshape(data.shape)
        if node.has_side
        else np.zeros(data.shape, dtype=np.int64)
    )
    t = node.thresholds  # (C, S, N)
    chosen = t[np.arange(channels)[None, None, :], side]  # (B, P, C, N)
    count = (data[..., None] >= chosen).sum(axis=3)
    out = (node.out_base + count).reshape(len(x), -1)
    return out.astype(bool) if node.binary_output else out


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
    stage = _PackedLayer(layer) if isinstance(layer, MatrixVector) else layer
    return np.asarray(_run_stage(stage, [x], [])).astype(np.int64)


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
    stage = _PackedLayer(node) if isinstance(node, MatrixVector) else node
    return np.asarray(_run_stage(stage, arrays, list(edges or []))).astype(np.int64)


def run_reference(net: Network, x: np.ndarray, rounding: bool = False) -> ReferenceResult:
    return Reference(net).run(x, rounding)
