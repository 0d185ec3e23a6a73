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
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

import numpy as np


class LayerKind(enum.Enum):
    INPUT_THRESHOLD = "input_threshold"
    MATRIX_VECTOR = "matrix_vector"


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
    integer-input layer (codes ``0..input_levels-1``); it is 2 for bipolar input.
    """

    name: str
    weights: np.ndarray = field(repr=False)
    input_bits: int
    input_levels: int
    thresholds: np.ndarray | None = field(default=None, repr=False)
    out_scale: np.ndarray | None = field(default=None, repr=False)
    out_bias: np.ndarray | None = field(default=None, repr=False)
    kind: LayerKind = field(default=LayerKind.MATRIX_VECTOR, init=False)

    def __post_init__(self) -> None:
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
        return self.mw

    @property
    def out_elements(self) -> int:
        return self.mh


Layer = InputThreshold | MatrixVector


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
        for index, layer in enumerate(self.layers):
            if layer.in_elements != width:
                raise ValueError(
                    f"{layer.name}: expects {layer.in_elements} inputs, previous stage gives "
                    f"{width}"
                )
            if isinstance(layer, InputThreshold):
                if index != 0 or layer.levels != levels:
                    raise ValueError(f"{layer.name}: input thresholds must come first")
            elif layer.input_levels != levels:
                raise ValueError(
                    f"{layer.name}: expects {layer.input_levels}-level inputs, gets {levels}"
                )
            last = index == len(self.layers) - 1
            if isinstance(layer, MatrixVector) and layer.is_output != last:
                raise ValueError(f"{layer.name}: only the last layer emits accumulators")
            width, levels = layer.out_elements, 2
        if not isinstance(self.layers[-1], MatrixVector):
            raise ValueError("the last layer must be a matrix-vector unit")

    @property
    def output_layer(self) -> MatrixVector:
        layer = self.layers[-1]
        assert isinstance(layer, MatrixVector)
        return layer

    @property
    def classes(self) -> int:
        return self.output_layer.mh
