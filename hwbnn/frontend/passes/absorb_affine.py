"""AbsorbAffineIntoThresholds: the float ops between an integer value and its activation
quantizer become exact integer thresholds.

Contract: the quantizer's output is evaluated with the model's own ops (qonnx
``execute_onnx``) at *every* attainable value of the integer variable ``v`` (a product's
popcount or integer sum, or an integer edge such as an add-join sum), per channel; the
enumeration (:mod:`hwbnn.frontend.thresholds`) reads the thresholds off:

- :func:`binary_thresholds`: a binary quantizer after a product: one threshold per channel
  on ``v`` (and the rows to negate), as a hidden ``MatrixVector`` stores them;
- :func:`step_thresholds`: any quantizer (binary: one step; multi-bit signed/unsigned
  ``Quant``: one step per code above the lowest) of a function of ``v`` and optionally a
  binary side input: thresholds (C, S, N) and ``out_base`` (the lowest code) as a
  :class:`~hwbnn.ir.types.Threshold` stores them.

Non-monotone channels are errors naming the layer and channel.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from onnx import NodeProto

from hwbnn.errors import ModelError
from hwbnn.frontend.graph import constant_scalar, is_binary_quant, node_attr, node_label
from hwbnn.frontend.limits import MAX_TENSOR_ELEMENTS, rows_per_chunk
from hwbnn.frontend.state import BasisProduct, LoweringState, Product, WindowCount
from hwbnn.frontend.thresholds import search_steps, search_thresholds

MAX_ACTIVATION_BITS = 16  # a multi-bit activation's codes (thresholds per channel: 2**bits - 1)


def binary_thresholds(
    state: LoweringState, product: Product | BasisProduct | WindowCount, nodes: list[NodeProto]
) -> tuple[np.ndarray, np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """(thresholds (MH,) on ``v``, negate (MH,), the channel function ``v -> bits``) of the
    per-channel ``nodes`` ending in a binary quantizer after ``product`` (or after the window
    counts of an average pool, :mod:`.lower_average_pool`)."""
    full = product.of_variable(state.model, nodes)

    def channel(v: np.ndarray) -> np.ndarray:
        return full(v) > 0

    low, high = product.variable_range
    thresholds, negate = search_thresholds(channel, low, high, product.mh, product.node.name)
    return thresholds, negate, channel


def code_range(state: LoweringState, quant: NodeProto) -> tuple[int, int]:
    """(lowest, highest) integer code of an activation quantizer (binary: 0/1 for -1/+1)."""
    if is_binary_quant(state.model, quant):
        return 0, 1
    bits = constant_scalar(state.model, quant.input[3], quant, "the bit width")
    if bits != int(bits) or not 2 <= bits <= MAX_ACTIVATION_BITS:
        raise ModelError(
            f"{node_label(quant)}: bit width {bits:g} is not an integer in "
            f"[2, {MAX_ACTIVATION_BITS}]"
        )
    narrow = int(node_attr(quant, "narrow", 0))
    if int(node_attr(quant, "signed", 1)):
        return -(2 ** (int(bits) - 1)) + narrow, 2 ** (int(bits) - 1) - 1
    return 0, 2 ** int(bits) - 1 - narrow


def codes(state: LoweringState, quant: NodeProto, out: np.ndarray, scale: float) -> np.ndarray:
    """Integer codes of a quantizer's float output (binary: 1 for +s, 0 for -s)."""
    if is_binary_quant(state.model, quant):
        return (out > 0).astype(np.int64)
    return np.rint(np.asarray(out, dtype=np.float64) / scale).astype(np.int64)


def step_thresholds(
    state: LoweringState,
    quant: NodeProto,
    scale: float,
    evaluate: Callable[[np.ndarray], np.ndarray],
    low: int,
    high: int,
    name: str,
    width: int,
) -> tuple[np.ndarray, np.ndarray, int]:
    """(thresholds (C, S, N) on ``v``, negate (C,), out_base) of the quantizer ``quant``
    whose float output at the values ``v`` is ``evaluate(v)`` (m, C, S); ``width`` = C * S
    bounds how many values are evaluated at once."""
    lowest, highest = code_range(state, quant)

    def table(v: np.ndarray) -> np.ndarray:
        return codes(state, quant, evaluate(v), scale)

    levels = np.arange(lowest + 1, highest + 1, dtype=np.int64)
    if width * len(levels) > MAX_TENSOR_ELEMENTS:
        raise ModelError(
            f"{node_label(quant)}: {width} channels of {len(levels)} thresholds each exceed "
            f"{MAX_TENSOR_ELEMENTS}; use fewer activation bits"
        )
    chunk = rows_per_chunk(width * len(levels))
    thresholds, negate = search_steps(table, low, high, levels, name, chunk)
    return thresholds, negate, lowest
