"""What flows on the edges of the IR: the input format, value kinds and edge types
(:mod:`hwbnn.ir.types` states the numeric contract)."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class LayerKind(enum.Enum):
    INPUT_THRESHOLD = "input_threshold"
    MATRIX_VECTOR = "matrix_vector"
    DBF_MATRIX_VECTOR = "dbf_matrix_vector"
    SLIDING_WINDOW = "sliding_window"
    MAX_POOL = "max_pool"
    FORK = "fork"
    ADD_JOIN = "add_join"
    CONCAT = "concat"
    THRESHOLD = "threshold"
    INTERACTION = "interaction"
    MAJORITY_POOL = "majority_pool"


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


class ValueKind(enum.Enum):
    """What the elements of a stream are."""

    BITS = "bits"  # 0/1 meaning -1/+1 (as an integer a bit is -1 or +1)
    CODES = "codes"  # unsigned input codes 0 .. levels-1
    INT = "int"  # signed integers in [low, high]


@dataclass(frozen=True)
class EdgeType:
    """The stream a node writes: ``elements`` per frame, an (H, W, C) ``image`` in stream order
    or None, and the elements' kind and value range."""

    elements: int
    image: Shape3 | None
    kind: ValueKind
    low: int
    high: int

    @property
    def channels(self) -> int:
        """Elements per pixel: C of an image, else every element (one pixel)."""
        return self.image[2] if self.image is not None else self.elements

    @property
    def pixels(self) -> int:
        return self.image[0] * self.image[1] if self.image is not None else 1

    @property
    def bits(self) -> int:
        """Bits per element in a stream (two's complement for INT)."""
        if self.kind is ValueKind.BITS:
            return 1
        if self.kind is ValueKind.CODES:
            return bits_for_range(0, self.high)
        return bits_for_range(min(self.low, -1), self.high)

    @property
    def levels(self) -> int:
        """Levels of BITS (2) or CODES elements; 0 for INT."""
        return 0 if self.kind is ValueKind.INT else self.high + 1

    @property
    def value_range(self) -> tuple[int, int]:
        """The integer range of the elements (a bit counts as -1 or +1)."""
        return (-1, 1) if self.kind is ValueKind.BITS else (self.low, self.high)

    def describe(self) -> str:
        shape = "x".join(map(str, self.image)) if self.image else f"{self.elements}"
        if self.kind is ValueKind.BITS:
            return f"{shape} bits"
        if self.kind is ValueKind.CODES:
            return f"{shape} codes 0..{self.high}"
        return f"{shape} int [{self.low}, {self.high}]"


def bits_edge(elements: int, image: Shape3 | None) -> EdgeType:
    return EdgeType(elements, image, ValueKind.BITS, 0, 1)


def normalize_inputs(node: Any) -> None:
    """Store a node's ``inputs`` as a tuple of strings (frozen dataclasses)."""
    inputs = node.inputs
    if isinstance(inputs, str):
        raise ValueError(f"{node.name}: inputs must be a sequence of node names")
    object.__setattr__(node, "inputs", tuple(str(i) for i in inputs))
