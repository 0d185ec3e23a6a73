"""ExtractInputStage: the ops from the model input to its quantizer become the input format.

Contract: the graph input must flow through a chain ``[affine | layout]* -> Q`` to a quantizer
``Q`` (nothing else reads the input or those ops).

- ``Q`` binary: the whole stage, run with the model's own ops at each of the input format's
  codes, is a per-element threshold of the code (``search_thresholds``): an
  :class:`InputThreshold` (in stream order). An element whose binarization *decreases* with
  the code (``sign(0.5 - x)``) emits the negated bit, ``code >= last + 1`` with ``last`` the
  last code giving +1; the dense layer reading it negates the matching weight column
  (``Edge.column_negate``, :mod:`.negate_decreasing`).
- ``Q`` unsigned multi-bit: the stage must map code ``k`` to ``k * scale`` exactly; the input
  codes then feed the first product directly (no IR node).

Binds ``Q``'s output to an :class:`Edge` of scale ``Q``'s scale. Returns the remaining nodes.
"""

from __future__ import annotations

import numpy as np
from onnx import NodeProto

from hwbnn.errors import ModelError
from hwbnn.frontend.graph import (
    AFFINE_OPS,
    LAYOUT_OPS,
    constant_value,
    is_binary_quant,
    node_label,
    run_piece,
)
from hwbnn.frontend.limits import MAX_TENSOR_ELEMENTS
from hwbnn.frontend.lower_conv import Stream
from hwbnn.frontend.state import Edge, LoweringState
from hwbnn.frontend.thresholds import search_thresholds
from hwbnn.ir.types import INPUT, InputThreshold, ValueKind

PRODUCTS = ("MatMul", "Conv")
QUANTIZERS = ("BipolarQuant", "Quant")


def quant_scale(state: LoweringState, node: NodeProto) -> float:
    """The one positive scalar scale of an activation quantizer (zero point 0)."""
    scale = np.asarray(constant_value(state.model, node.input[1], node), dtype=np.float32)
    if scale.size != 1 or not scale.reshape(-1)[0] > 0:
        raise ModelError(f"{node_label(node)}: activation scale must be one positive scalar")
    if node.op_type == "Quant":
        zero = np.asarray(constant_value(state.model, node.input[2], node))
        if np.any(zero != 0):
            raise ModelError(f"{node_label(node)}: non-zero zero-point is not supported")
    return float(scale.reshape(-1)[0])


class ExtractInputStage:
    """Lower the input stage; see the module docstring."""

    def apply(self, state: LoweringState, nodes: list[NodeProto]) -> list[NodeProto]:
        tensor, pre = state.model.graph.input[0].name, list[NodeProto]()
        for node in nodes:
            if tensor not in node.input:
                continue
            if state.consumers.get(tensor, 0) != 1:
                raise ModelError(
                    f"tensor {tensor} is read by {state.consumers.get(tensor, 0)} nodes before "
                    f"the input quantizer; quantize the model input before it branches"
                )
            if node.op_type in QUANTIZERS:
                self._quantizer(state, [*pre, node], node)
                return [n for n in nodes if n not in pre and n is not node]
            if node.op_type in (*PRODUCTS, "Pad", "MaxPool", "AveragePool"):
                raise ModelError(
                    f"{node_label(node)}: takes the unquantized model input; put a binary or "
                    f"unsigned Quant on the model input"
                )
            if node.op_type not in AFFINE_OPS | LAYOUT_OPS:
                raise ModelError(f"{node_label(node)}: unsupported op on the data path")
            pre.append(node)
            tensor = node.output[0]
        raise ModelError("graph ends before its first MatMul or Conv")

    def _quantizer(self, state: LoweringState, stage: list[NodeProto], first: NodeProto) -> None:
        model, fmt = state.model, state.fmt
        source = model.graph.input[0].name
        if fmt.levels * fmt.elements > MAX_TENSOR_ELEMENTS:
            raise ModelError(
                f"{node_label(first)}: {fmt.levels} input levels of {fmt.elements} elements "
                f"make a table of more than {MAX_TENSOR_ELEMENTS} values; use fewer levels"
            )
        rows = []
        for value in fmt.values:  # the stage's outputs for every code, ONNX element order
            x = np.full((1, *fmt.shape), value, dtype=np.float32)
            out = run_piece(model, stage, source, x)
            if out.ndim < 2 or out.shape[0] != 1 or out.size != fmt.elements:
                raise ModelError(
                    f"{node_label(first)}: its output has shape {out.shape} for an input of "
                    f"shape {(1, *fmt.shape)}; the input stage must keep batch 1 and every "
                    f"element (e.g. Flatten with axis 1)"
                )
            rows.append(out.reshape(-1))
        table = np.stack(rows)
        s_in = quant_scale(state, first)
        levels = fmt.levels
        index = fmt.stream_index()  # stream element i is ONNX element index[i]
        shape = model.get_tensor_shape(first.output[0])
        if shape is not None and len(shape) == 4:
            if fmt.image_shape is None or tuple(shape[1:]) != fmt.shape:
                raise ModelError(f"{node_label(first)}: image {shape} is not the model input")
            stream = Stream(fmt.image_shape)
        else:
            identity = np.array_equal(index, np.arange(len(index)))
            stream = Stream(None, None if identity else index)
        if is_binary_quant(model, first):
            bits = table > 0
            thresholds, negate = search_thresholds(
                lambda v: bits[v], 0, levels - 1, bits.shape[1], "input_threshold"
            )
            # a decreasing element emits the negated bit, code >= last + 1 where ``last`` is
            # the last code giving +1; the search gives the reversed code's threshold
            # levels - 1 - last, so the code's threshold is levels - T
            thresholds = np.where(negate, levels - thresholds, thresholds)
            name = state.emit(InputThreshold("input_threshold", thresholds[index], levels))
            column_negate = negate[index] if negate.any() else None
            state.bind(
                first.output[0], Edge(name, stream, s_in, ValueKind.BITS, 0, 1, column_negate)
            )
            return
        expected = np.arange(levels, dtype=np.float64)[:, None] * s_in
        if not np.array_equal(table.astype(np.float64), np.broadcast_to(expected, table.shape)):
            raise ModelError(
                f"{node_label(first)}: the input quantizer does not map the {levels} input "
                f"codes 1:1 to integers; give the model's input format with --input-levels "
                f"and --input-range"
            )
        if levels <= 2:
            raise ModelError(f"{node_label(first)}: a 2-level integer input is not supported")
        state.bind(first.output[0], Edge(INPUT, stream, s_in, ValueKind.CODES, 0, levels - 1))
