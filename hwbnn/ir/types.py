"""The typed hardware IR of a binary network.

A :class:`Network` is an input format followed by a chain of layers. Layer semantics (the
numeric contract of DESIGN.md; bit 1 is +1, bit 0 is -1):

- :class:`InputThreshold`: ``bit_i = code_i >= T_i`` for unsigned input codes, ``T_i`` in
  ``[0, levels]`` (0: always +1, ``levels``: always -1).
- :class:`MatrixVector` with ``input_bits == 1`` (XNOR-popcount):
  ``popcount_c = #{i : x_i == w_ci}``; hidden: ``out_c = popcount_c >= T_c`` with ``T_c`` in
  ``[0, MW + 1]``; output layer: ``acc_c = 2 * popcount_c - MW``.
- :class:`MatrixVector` with ``input_bits > 1`` (integer input times +-1 weights):
  ``acc_c = sum_i (w_ci ? +k_i : -k_i)``; hidden: ``out_c = acc_c >= T_c``; output layer: acc_c.

The output layer carries the per-class float affine of the exported model:
``logit_c = out_scale_c * acc_c + out_bias_c``; the label is the argmax (lowest index on ties).

Convolutional networks (images, streamed pixel by pixel):

- Stream order: an image of height H, width W and C channels is a stream of H*W pixels in
  raster order (row by row), the C elements of a pixel contiguous (channel innermost), i.e.
  element ``(y, x, c)`` is number ``(y*W + x)*C + c``. A model input of ONNX shape (C, H, W)
  is streamed in this order (:meth:`InputFormat.to_stream`); a 1-D or 2-D input in its own order.
- :class:`SlidingWindow`: for each output pixel ``(oy, ox)`` in raster order, the window vector
  of K*K*C elements ordered ``(ky, kx, c)`` (c innermost): input element
  ``(oy*S - pad_top + ky, ox*S - pad_left + kx, c)``, or ``pad_code`` where that lies outside
  the image (binary convolutions pad with -1: code 0).
  ``OH = (H + pad_top + pad_bottom - K) // S + 1``, likewise OW.
- :class:`MatrixVector` with ``pixels = P > 1`` applies the same unit to P consecutive vectors
  of MW elements (one per output pixel of the preceding :class:`SlidingWindow`); its output is
  the (OH, OW, MH) image in stream order. A convolution is a SlidingWindow followed by such a
  MatrixVector whose weight columns are ordered ``(ky, kx, c)``.
- :class:`MaxPool` on bits: ``out(oy, ox, c) = OR over ky, kx < K of in(oy*S+ky, ox*S+kx, c)``
  (max of +-1 values; valid behind the monotone thresholds, DESIGN.md), no padding, floor mode.
- A dense layer after a convolution reads the image in stream order; lowering permutes its
  weight columns from the ONNX (C, H, W) flatten order.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

import numpy as np


class LayerKind(enum.Enum):
    INPUT_THRESHOLD = "input_threshold"
    MATRIX_VECTOR = "matrix_vector"
    SLIDING_WINDOW = "sliding_window"
    MAX_POOL = "max_pool"


#: (height, width, channels) of an image in stream order.
Shape3 = tuple[int, int, int]


def bits_for_range(low: int, high: int) -> int:
    """Two's-complement bits holding every integer in [low, high] (unsigned if low >= 0)."""
    if low >= 0:
        return max(1, math.ceil(math.log2(high + 1)))
    return max(1, math.ceil(math.log2(max(-low, high + 1)))) + 1


@dataclass(frozen=True)
class InputFormat:
    """Hardware input format: per element an unsigned code ``k`` in ``[0, levels)`` whose float
    value (the value fed to the ONNX model) is ``values[k]`` (float32, strictly increasing)."""

    shape: tuple[int, ...]
    values: np.ndarray = field(repr=False)

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=np.float32)
        object.__setattr__(self, "values", values)
        if values.ndim != 1 or len(values) < 2:
            raise ValueError("input format needs at least two code values")
        if not np.all(np.diff(values) > 0):
            raise ValueError("input code values must be strictly increasing")

    @property
    def levels(self) -> int:
        return len(self.values)

    @property
    def bits(self) -> int:
        return bits_for_range(0, self.levels - 1)

    @property
    def elements(self) -> int:
        return int(np.prod(self.shape))

    @property
    def image_shape(self) -> Shape3 | None:
        """(H, W, C) of a (C, H, W) image input in stream order; None for other inputs."""
        if len(self.shape) != 3:
            return None
        c, h, w = self.shape
        return (h, w, c)

    def to_stream(self, x: np.ndarray) -> np.ndarray:
        """(B, *shape) -> (B, elements) in stream order (channel innermost for images)."""
        x = np.asarray(x)
        if self.image_shape is not None:
            x = x.transpose(0, 2, 3, 1)
        return x.reshape(len(x), -1)

    def stream_index(self) -> np.ndarray:
        """``p`` with ``stream[i] == flat[p[i]]``, where ``flat`` is the ONNX (C-order) flatten."""
        order = np.arange(self.elements).reshape(1, *self.shape)
        return self.to_stream(order)[0]


@dataclass(frozen=True)
class InputThreshold:
    """Multi-bit input codes to bipolar bits: ``bit_i = code_i >= thresholds[i]``."""

    name: str
    thresholds: np.ndarray = field(repr=False)
    levels: int
    kind: LayerKind = field(default=LayerKind.INPUT_THRESHOLD, init=False)

    def __post_init__(self) -> None:
        t = np.asarray(self.thresholds, dtype=np.int64)
        object.__setattr__(self, "thresholds", t)
        if t.ndim != 1:
            raise ValueError(f"{self.name}: thresholds must be 1-D")
        if t.min(initial=0) < 0 or t.max(initial=0) > self.levels:
            raise ValueError(f"{self.name}: input thresholds outside [0, {self.levels}]")

    @property
    def in_elements(self) -> int:
        return len(self.thresholds)

    @property
    def out_elements(self) -> int:
        return len(self.thresholds)


@dataclass(frozen=True)
class MatrixVector:
    """A binary-weight matrix-vector unit; see the module docstring for its arithmetic.

    ``weights[c, i]`` is True for +1. ``thresholds`` is None for the output layer, which has
    ``out_scale``/``out_bias`` instead. ``input_levels`` bounds the unsigned input codes of an
    integer-input layer (codes ``0..input_levels-1``); it is 2 for bipolar input. ``pixels``
    vectors of MW elements make one frame (a convolution's output pixels; 1 for dense layers).
    """

    name: str
    weights: np.ndarray = field(repr=False)
    input_bits: int
    input_levels: int
    thresholds: np.ndarray | None = field(default=None, repr=False)
    out_scale: np.ndarray | None = field(default=None, repr=False)
    out_bias: np.ndarray | None = field(default=None, repr=False)
    pixels: int = 1
    kind: LayerKind = field(default=LayerKind.MATRIX_VECTOR, init=False)

    def __post_init__(self) -> None:
        if self.pixels < 1:
            raise ValueError(f"{self.name}: pixels must be >= 1")
        w = np.asarray(self.weights)
        if w.dtype != np.bool_ or w.ndim != 2:
            raise ValueError(f"{self.name}: weights must be a 2-D bool array")
        if self.input_bits < 1 or (self.input_bits == 1) != (self.input_levels == 2):
            raise ValueError(f"{self.name}: inconsistent input_bits/input_levels")
        if self.input_levels > 2**self.input_bits:
            raise ValueError(f"{self.name}: {self.input_levels} levels exceed input_bits")
        if self.thresholds is None:
            if self.out_scale is None or self.out_bias is None:
                raise ValueError(f"{self.name}: output layer needs out_scale and out_bias")
            for arr_name in ("out_scale", "out_bias"):
                arr = np.asarray(getattr(self, arr_name), dtype=np.float64)
                if arr.shape != (self.mh,):
                    raise ValueError(f"{self.name}: {arr_name} must have shape ({self.mh},)")
                object.__setattr__(self, arr_name, arr)
        else:
            t = np.asarray(self.thresholds, dtype=np.int64)
            if t.shape != (self.mh,):
                raise ValueError(f"{self.name}: thresholds must have shape ({self.mh},)")
            low, high = self.acc_range
            if self.binary_input:
                low, high = 0, self.mw
            if t.min() < low or t.max() > high + 1:
                raise ValueError(f"{self.name}: thresholds outside [{low}, {high + 1}]")
            object.__setattr__(self, "thresholds", t)

    @property
    def mh(self) -> int:
        return int(self.weights.shape[0])

    @property
    def mw(self) -> int:
        return int(self.weights.shape[1])

    @property
    def binary_input(self) -> bool:
        return self.input_bits == 1

    @property
    def is_output(self) -> bool:
        return self.thresholds is None

    @property
    def acc_range(self) -> tuple[int, int]:
        """Range of the signed accumulator (2*popcount - MW, or the integer sum)."""
        bound = self.mw * (self.input_levels - 1)
        return -bound, bound

    @property
    def acc_bits(self) -> int:
        low, high = self.acc_range
        return bits_for_range(low, high)

    @property
    def popcount_bits(self) -> int:
        return bits_for_range(0, self.mw)

    @property
    def in_elements(self) -> int:
        return self.mw * self.pixels

    @property
    def out_elements(self) -> int:
        return self.mh * self.pixels


def _window_out(size: int, before: int, after: int, kernel: int, stride: int) -> int:
    return (size + before + after - kernel) // stride + 1


class _ImageStage:
    """What sliding windows and pools share: an (H, W, C) input and (OH, OW, ...) output."""

    in_shape: Shape3

    @property
    def out_shape(self) -> Shape3:
        raise NotImplementedError

    @property
    def channels(self) -> int:
        return self.in_shape[2]

    @property
    def pixels(self) -> int:
        """Output pixels per frame."""
        return self.out_shape[0] * self.out_shape[1]

    @property
    def in_elements(self) -> int:
        return int(np.prod(self.in_shape))


def _check_window_geometry(layer: SlidingWindow | MaxPool) -> None:
    """Normalise ``in_shape`` to ints and check it, the kernel and the stride."""
    object.__setattr__(layer, "in_shape", tuple(int(d) for d in layer.in_shape))
    if len(layer.in_shape) != 3 or min(layer.in_shape) < 1:
        raise ValueError(f"{layer.name}: in_shape must be (H, W, C) with positive sizes")
    if layer.kernel < 1 or layer.stride < 1:
        raise ValueError(f"{layer.name}: kernel and stride must be >= 1")


@dataclass(frozen=True)
class SlidingWindow(_ImageStage):
    """Image (H, W, C) to one K*K*C window vector per output pixel; see the module docstring.

    ``padding`` is (top, left, bottom, right), each smaller than the kernel. ``input_levels``
    is 2 for bits, else the number of unsigned input codes (an integer-input first layer);
    ``pad_code`` is the code of positions outside the image.
    """

    name: str
    in_shape: Shape3
    kernel: int
    stride: int = 1
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)
    input_levels: int = 2
    pad_code: int = 0
    kind: LayerKind = field(default=LayerKind.SLIDING_WINDOW, init=False)

    def __post_init__(self) -> None:
        _check_window_geometry(self)
        object.__setattr__(self, "padding", tuple(int(p) for p in self.padding))
        if len(self.padding) != 4 or min(self.padding) < 0 or max(self.padding) >= self.kernel:
            raise ValueError(f"{self.name}: padding must be 4 values in [0, kernel)")
        if not 0 <= self.pad_code < self.input_levels:
            raise ValueError(f"{self.name}: pad_code outside [0, {self.input_levels})")
        if min(self.out_shape) < 1:
            raise ValueError(f"{self.name}: kernel {self.kernel} larger than the padded image")

    @property
    def window(self) -> int:
        """Elements per window vector: K*K*C."""
        return self.kernel * self.kernel * self.channels

    @property
    def out_shape(self) -> Shape3:
        """(OH, OW, K*K*C)."""
        h, w, _ = self.in_shape
        top, left, bottom, right = self.padding
        oh = _window_out(h, top, bottom, self.kernel, self.stride)
        ow = _window_out(w, left, right, self.kernel, self.stride)
        return (oh, ow, self.window)

    @property
    def out_elements(self) -> int:
        return self.pixels * self.window


@dataclass(frozen=True)
class MaxPool(_ImageStage):
    """Max pooling of a binary image as a bitwise OR over K x K windows with stride S
    (no padding, floor mode); see the module docstring."""

    name: str
    in_shape: Shape3
    kernel: int
    stride: int
    kind: LayerKind = field(default=LayerKind.MAX_POOL, init=False)

    def __post_init__(self) -> None:
        _check_window_geometry(self)
        if min(self.out_shape) < 1:
            raise ValueError(f"{self.name}: kernel {self.kernel} larger than the image")

    @property
    def out_shape(self) -> Shape3:
        h, w, c = self.in_shape
        return (
            _window_out(h, 0, 0, self.kernel, self.stride),
            _window_out(w, 0, 0, self.kernel, self.stride),
            c,
        )

    @property
    def out_elements(self) -> int:
        return int(np.prod(self.out_shape))


Layer = InputThreshold | MatrixVector | SlidingWindow | MaxPool


@dataclass(frozen=True)
class Network:
    """Input format plus the layer chain; validated when built."""

    input: InputFormat
    layers: tuple[Layer, ...]
    source: str = ""

    def __post_init__(self) -> None:
        if not self.layers:
            raise ValueError("network has no layers")
        width = self.input.elements
        levels = self.input.levels
        image = self.input.image_shape  # (H, W, C) of the stream, None when not an image
        window: SlidingWindow | None = None  # the SlidingWindow feeding the next layer
        for index, layer in enumerate(self.layers):
            if layer.in_elements != width:
                raise ValueError(
                    f"{layer.name}: expects {layer.in_elements} inputs, previous stage gives "
                    f"{width}"
                )
            if isinstance(layer, InputThreshold):
                if index != 0 or layer.levels != levels:
                    raise ValueError(f"{layer.name}: input thresholds must come first")
            elif isinstance(layer, MaxPool):
                if levels != 2:
                    raise ValueError(f"{layer.name}: max pooling needs binary inputs")
            elif layer.input_levels != levels:
                raise ValueError(
                    f"{layer.name}: expects {layer.input_levels}-level inputs, gets {levels}"
                )
            if isinstance(layer, SlidingWindow | MaxPool) and layer.in_shape != image:
                raise ValueError(
                    f"{layer.name}: expects a {layer.in_shape} (H, W, C) image, previous stage "
                    f"gives {image}"
                )
            if isinstance(layer, MatrixVector):
                if window is not None and (layer.mw, layer.pixels) != (
                    window.window,
                    window.pixels,
                ):
                    raise ValueError(
                        f"{layer.name}: expects {layer.pixels} vectors of {layer.mw}, window "
                        f"{window.name} gives {window.pixels} of {window.window}"
                    )
                if window is None and layer.pixels != 1:
                    raise ValueError(f"{layer.name}: pixels > 1 needs a sliding window before it")
            last = index == len(self.layers) - 1
            if isinstance(layer, MatrixVector) and layer.is_output != last:
                raise ValueError(f"{layer.name}: only the last layer emits accumulators")
            width = layer.out_elements
            if isinstance(layer, SlidingWindow):
                window, image = layer, None
            else:
                levels = 2
                if isinstance(layer, MaxPool):
                    image = layer.out_shape
                elif isinstance(layer, MatrixVector):
                    image = (*window.out_shape[:2], layer.mh) if window is not None else None
                window = None
        if not isinstance(self.layers[-1], MatrixVector):
            raise ValueError("the last layer must be a matrix-vector unit")

    @property
    def is_dense(self) -> bool:
        """True when the network has no image layers (no sliding windows or pools)."""
        return all(isinstance(layer, InputThreshold | MatrixVector) for layer in self.layers)

    @property
    def output_layer(self) -> MatrixVector:
        layer = self.layers[-1]
        assert isinstance(layer, MatrixVector)
        return layer

    @property
    def classes(self) -> int:
        return self.output_layer.mh
