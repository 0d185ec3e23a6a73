"""The hardware IR's single-input layer kinds (semantics: :mod:`hwbnn.ir.types`).

Every node has a name and ``inputs``: the names of the nodes (or ``"input"``) it reads; empty
means the previous node of :attr:`hwbnn.ir.types.Network.layers`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hwbnn.ir.edges import LayerKind, Shape3, bits_for_range, normalize_inputs


@dataclass(frozen=True)
class InputThreshold:
    """Multi-bit input codes to bipolar bits: ``bit_i = code_i >= thresholds[i]``."""

    name: str
    thresholds: np.ndarray = field(repr=False)
    levels: int
    kind: LayerKind = field(default=LayerKind.INPUT_THRESHOLD, init=False)
    inputs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        normalize_inputs(self)
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


class ProductUnitBase:
    """What the units that multiply share (:class:`MatrixVector`, the DBF unit of
    :mod:`hwbnn.ir.dbf`): ``pixels`` vectors of ``mw`` inputs to ``mh`` outputs, thresholds or
    accumulators, an output layer's per-class affine."""

    name: str
    input_bits: int
    thresholds: np.ndarray | None
    out_scale: np.ndarray | None
    pixels: int

    @property
    def mh(self) -> int:
        raise NotImplementedError

    @property
    def mw(self) -> int:
        raise NotImplementedError

    @property
    def acc_range(self) -> tuple[int, int]:
        raise NotImplementedError

    @property
    def binary_input(self) -> bool:
        return self.input_bits == 1

    @property
    def is_output(self) -> bool:
        """The network's output layer (per-class affine of its accumulators)."""
        return self.out_scale is not None

    @property
    def emits_acc(self) -> bool:
        """Emits signed accumulators (the output layer, or a hidden unit feeding a join or a
        threshold) instead of threshold bits."""
        return self.thresholds is None

    @property
    def acc_bits(self) -> int:
        low, high = self.acc_range
        return bits_for_range(low, high)

    @property
    def in_elements(self) -> int:
        return self.mw * self.pixels

    @property
    def out_elements(self) -> int:
        return self.mh * self.pixels


@dataclass(frozen=True)
class MatrixVector(ProductUnitBase):
    """A binary-weight matrix-vector unit; see the module docstring for its arithmetic.

    ``weights[c, i]`` is True for +1. ``thresholds`` is None for a unit that emits its
    accumulators: the output layer, which has ``out_scale``/``out_bias``, or a hidden unit
    (neither) feeding a :class:`~hwbnn.ir.joins.Threshold` or an add-join. ``input_levels``
    bounds the unsigned input codes of an integer-input layer (codes ``0..input_levels-1``);
    it is 2 for bipolar input. ``pixels`` vectors of MW elements make one frame (a
    convolution's output pixels; 1 for dense layers).
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
    inputs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        normalize_inputs(self)
        if self.pixels < 1:
            raise ValueError(f"{self.name}: pixels must be >= 1")
        w = np.asarray(self.weights)
        if w.dtype != np.bool_ or w.ndim != 2:
            raise ValueError(f"{self.name}: weights must be a 2-D bool array")
        if self.input_bits < 1 or (self.input_bits == 1) != (self.input_levels == 2):
            raise ValueError(f"{self.name}: inconsistent input_bits/input_levels")
        if self.input_levels > 2**self.input_bits:
            raise ValueError(f"{self.name}: {self.input_levels} levels exceed input_bits")
        if (self.out_scale is None) != (self.out_bias is None):
            raise ValueError(f"{self.name}: the output layer needs both out_scale and out_bias")
        if self.thresholds is not None and self.out_scale is not None:
            raise ValueError(f"{self.name}: an output layer has no thresholds")
        if self.thresholds is None and self.out_scale is not None:
            for arr_name in ("out_scale", "out_bias"):
                arr = np.asarray(getattr(self, arr_name), dtype=np.float64)
                if arr.shape != (self.mh,):
                    raise ValueError(f"{self.name}: {arr_name} must have shape ({self.mh},)")
                object.__setattr__(self, arr_name, arr)
        elif self.thresholds is not None:
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
    def acc_range(self) -> tuple[int, int]:
        """Range of the signed accumulator (2*popcount - MW, or the integer sum)."""
        bound = self.mw * (self.input_levels - 1)
        return -bound, bound

    @property
    def popcount_bits(self) -> int:
        return bits_for_range(0, self.mw)


def _window_out(
    size: int, before: int, after: int, kernel: int, stride: int, dilation: int = 1
) -> int:
    """Output rows (columns): ``(size + pads - D*(K-1) - 1) // S + 1`` (floor mode)."""
    return (size + before + after - dilation * (kernel - 1) - 1) // stride + 1


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


def _check_window_geometry(layer: SlidingWindow | MaxPool, extent: int) -> None:
    """Normalise ``in_shape`` and ``padding`` to ints and check them, the kernel and the
    stride; each padding is at most ``extent - 1`` (the window's extent on the image)."""
    normalize_inputs(layer)
    object.__setattr__(layer, "in_shape", tuple(int(d) for d in layer.in_shape))
    if len(layer.in_shape) != 3 or min(layer.in_shape) < 1:
        raise ValueError(f"{layer.name}: in_shape must be (H, W, C) with positive sizes")
    if layer.kernel < 1 or layer.stride < 1:
        raise ValueError(f"{layer.name}: kernel and stride must be >= 1")
    object.__setattr__(layer, "padding", tuple(int(p) for p in layer.padding))
    if len(layer.padding) != 4 or min(layer.padding) < 0 or max(layer.padding) >= extent:
        raise ValueError(f"{layer.name}: padding must be 4 values in [0, {extent})")
    if min(layer.out_shape) < 1:
        raise ValueError(f"{layer.name}: window extent {extent} larger than the padded image")


@dataclass(frozen=True)
class SlidingWindow(_ImageStage):
    """Image (H, W, C) to one K*K*C window vector per output pixel; see the module docstring.

    ``padding`` is (top, left, bottom, right), each at most ``dilation * (kernel - 1)``.
    ``input_levels`` is 2 for bits, else the number of unsigned input codes (an integer-input
    first layer); ``pad_code`` is the code of positions outside the image. ``dilation`` D
    spaces the window's taps: element (ky, kx) reads input row oy*S - pad_top + ky*D (a
    dilated convolution, Yu & Koltun 2016, "Multi-scale context aggregation by dilated
    convolutions"); the window covers ``extent = D*(K-1) + 1`` rows and columns.
    """

    name: str
    in_shape: Shape3
    kernel: int
    stride: int = 1
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)
    input_levels: int = 2
    pad_code: int = 0
    kind: LayerKind = field(default=LayerKind.SLIDING_WINDOW, init=False)
    inputs: tuple[str, ...] = ()
    dilation: int = 1

    def __post_init__(self) -> None:
        if self.dilation < 1:
            raise ValueError(f"{self.name}: dilation must be >= 1")
        _check_window_geometry(self, self.extent)
        if not 0 <= self.pad_code < self.input_levels:
            raise ValueError(f"{self.name}: pad_code outside [0, {self.input_levels})")

    @property
    def extent(self) -> int:
        """Rows (columns) of the image one window spans: D*(K-1) + 1."""
        return self.dilation * (self.kernel - 1) + 1

    @property
    def window(self) -> int:
        """Elements per window vector: K*K*C."""
        return self.kernel * self.kernel * self.channels

    @property
    def out_shape(self) -> Shape3:
        """(OH, OW, K*K*C)."""
        h, w, _ = self.in_shape
        top, left, bottom, right = self.padding
        oh = _window_out(h, top, bottom, self.kernel, self.stride, self.dilation)
        ow = _window_out(w, left, right, self.kernel, self.stride, self.dilation)
        return (oh, ow, self.window)

    @property
    def out_elements(self) -> int:
        return self.pixels * self.window


@dataclass(frozen=True)
class MaxPool(_ImageStage):
    """Max pooling of a binary image as a bitwise OR over K x K windows with stride S
    (floor mode); see the module docstring. ``padding`` (top, left, bottom, right), each
    smaller than K, adds bit 0 (-1) around the image: torch pads a max pool with -inf, which on
    +-1 values (and behind a monotone threshold, where -1 is the smallest value) is -1, the
    OR's neutral element."""

    name: str
    in_shape: Shape3
    kernel: int
    stride: int
    kind: LayerKind = field(default=LayerKind.MAX_POOL, init=False)
    inputs: tuple[str, ...] = ()
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)

    def __post_init__(self) -> None:
        _check_window_geometry(self, self.kernel)

    @property
    def out_shape(self) -> Shape3:
        h, w, c = self.in_shape
        top, left, bottom, right = self.padding
        return (
            _window_out(h, top, bottom, self.kernel, self.stride),
            _window_out(w, left, right, self.kernel, self.stride),
            c,
        )

    @property
    def out_elements(self) -> int:
        return int(np.prod(self.out_shape))
