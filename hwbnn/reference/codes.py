"""Float inputs -> input codes: every value must be one of the format's code values exactly.

:class:`CodeReader` is :func:`to_codes` for one format. Where a float32 formula reproduces every
code value exactly (``k / (levels - 1)`` or ``low + k * step``, checked once over all codes), it
guesses each code by ``rint`` and proves the guess by recomputing the value (no table look-up;
NumPy passes, or with ``kernel="numba"`` the same float32 operations in one compiled pass);
any value it cannot prove, and every other format, goes the general way (a guess checked
against the table, binary search for the misses), which also names an offending value.
Both ways give the same codes: the code of a value is unique (the values strictly increase).
"""

from __future__ import annotations

import numpy as np

from hwbnn.errors import DataError
from hwbnn.ir.types import InputFormat
from hwbnn.reference import kernels


def code_dtype(levels: int) -> np.dtype:
    """The integer type the reference keeps codes in: int16 holds 0..levels (a threshold may
    equal ``levels``), int64 beyond."""
    return np.dtype(np.int16 if levels <= np.iinfo(np.int16).max else np.int64)


class CodeReader:
    """Converts float inputs of one :class:`~hwbnn.ir.types.InputFormat` to codes."""

    def __init__(self, fmt: InputFormat, kernel: str = "numpy") -> None:
        self.fmt = fmt
        self.kernel = kernel
        self.dtype = code_dtype(fmt.levels)
        values = fmt.values
        levels = len(values)
        self._low, self._high = values[0], values[-1]
        self._scale = np.float32((levels - 1) / (float(self._high) - float(self._low)))
        k = np.arange(levels, dtype=np.float32)
        self._divisor = np.float32(levels - 1)
        self._step = np.float32((float(self._high) - float(self._low)) / (levels - 1))
        self._mode = None
        if self._low == 0 and np.array_equal(k / self._divisor, values):
            self._mode = "divide"
        elif np.array_equal(self._low + k * self._step, values):
            self._mode = "step"

    def codes(self, x: np.ndarray, rounding: bool = False, first_frame: int = 0) -> np.ndarray:
        """(B, *shape) floats -> (B, elements) codes in stream order, as :func:`to_codes`."""
        fmt = self.fmt
        x = np.asarray(x, dtype=np.float32)
        if x.shape[1:] != fmt.shape:
            raise DataError(f"input shape {x.shape[1:]} does not match the model's {fmt.shape}")
        if not len(x):
            return np.zeros((0, fmt.elements), dtype=self.dtype)
        flat = fmt.to_stream(x)
        proven = self._proven(flat)
        if proven is not None:
            return proven
        return _general_codes(fmt, flat, rounding, first_frame).astype(self.dtype)

    def _proven(self, flat: np.ndarray) -> np.ndarray | None:
        """Codes of ``flat`` if every value is proven to be a code value, else None."""
        if self._mode is None or flat.size == 0:
            return None
        if self.kernel == "numba":  # the same float32 operations in one compiled pass
            out = np.empty(flat.shape, dtype=self.dtype)
            divide = self._mode == "divide"
            back_scale = self._divisor if divide else self._step
            low, high = np.float32(self._low), np.float32(self._high)
            kernel_fn = kernels.compiled_kernel("proven_codes", flat.size)
            if kernel_fn(flat, low, high, self._scale, back_scale, divide, out):
                return out
            return None
        if not (flat.min() >= self._low and flat.max() <= self._high):  # also rejects NaN
            return None
        if self._low:
            guess = np.subtract(flat, self._low)
            guess *= self._scale
        else:
            guess = np.multiply(flat, self._scale)
        np.rint(guess, out=guess)  # in [0, levels - 1]: the values lie in [low, high]
        if self._mode == "divide":
            back = guess / self._divisor
        else:
            back = guess * self._step
            back += self._low
        if not np.array_equal(back, flat):
            return None
        return guess.astype(self.dtype)


def to_codes(
    fmt: InputFormat, x: np.ndarray, rounding: bool = False, first_frame: int = 0
) -> np.ndarray:
    """Float inputs in the ONNX model's own format -> (B, n) int64 codes in stream order.

    Each value must equal one of ``fmt.values`` exactly, unless ``rounding`` is asked for (then
    the nearest code is taken). Anything else is an error naming the first offending value
    (frames are numbered from ``first_frame``).
    """
    return CodeReader(fmt).codes(x, rounding, first_frame).astype(np.int64)


def _general_codes(
    fmt: InputFormat, flat: np.ndarray, rounding: bool, first_frame: int
) -> np.ndarray:
    values = fmt.values
    # a guess for evenly spaced codes, verified exactly; searchsorted for the rest
    step = (float(values[-1]) - float(values[0])) / (len(values) - 1)
    guess = np.rint((flat.astype(np.float64) - float(values[0])) / step)
    guess[np.isnan(guess)] = 0  # NaN is no code value: it fails the check below
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
        exact = ~np.isnan(flat)  # every other value has a nearest code
    if not exact.all():
        bad = int(np.flatnonzero(~exact)[0])
        frame, element = divmod(bad, flat.shape[1])
        frame += first_frame
        element = int(fmt.stream_index()[element])  # numbered as in the ONNX input
        hint = (
            "NaN has no nearest code"
            if rounding
            else "pass rounding (hwbnn eval --round) to take the nearest code"
        )
        raise DataError(
            f"input frame {frame} element {element}: value {float(flat.flat[bad])!r} is not one "
            f"of the model's {len(values)} input codes (in [{values[0]}, {values[-1]}]); {hint}"
        )
    return codes
