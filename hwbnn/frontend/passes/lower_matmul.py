"""LowerMatMul: a MatMul of a flat activation edge by binary weights becomes a dense product.

Contract: the weight (MW, MH) must hold ``+-s_c`` per output column (any 1-bit quantizer or a
plain ``+-s`` initializer, possibly transposed); the rows of the product are output channels,
its columns stream elements: an edge flattened from an image permutes ONNX's (c, y, x)
columns into stream (y, x, c) order, and an edge whose input binarization was decreasing
negates the matching columns (:func:`.negate_decreasing.negate_columns`). Binds the MatMul's
output to a :class:`Tail` over a one-pixel :class:`Product`; its activation
(:mod:`.lower_activation`) or the graph output (:mod:`.extract_output_affine`) makes it a
``MatrixVector``. An image input (not flattened) or a ``Pad`` in front is an error.
"""

from __future__ import annotations

import numpy as np
from onnx import NodeProto

from hwbnn.errors import ModelError
from hwbnn.frontend.graph import binary_matrix, constant_value, node_label
from hwbnn.frontend.passes.lower_conv_to_window import product_input
from hwbnn.frontend.passes.negate_decreasing import negate_columns
from hwbnn.frontend.state import LoweringState, NodePass, PendingPad, Product, Tail


class LowerMatMul(NodePass):
    op_types = frozenset({"MatMul"})

    def apply(self, state: LoweringState, node: NodeProto) -> None:
        edge = product_input(state, node)
        if isinstance(edge, PendingPad):
            raise ModelError(f"{node_label(edge.pad)}: a Pad must feed a Conv directly")
        in_bits, in_levels = edge.input_precision(node)
        w = np.asarray(constant_value(state.model, node.input[1], node), dtype=np.float32)
        if w.ndim != 2:
            raise ModelError(f"{node_label(node)}: weight must be a 2-D matrix, got {w.shape}")
        if edge.stream.image is not None:
            raise ModelError(f"{node_label(node)}: multiplies an image; flatten it first")
        weights, w_scale = binary_matrix(node, w)
        if edge.stream.perm is not None:  # ONNX (C, H, W) columns -> stream (y, x, c) order
            weights = weights[:, edge.stream.perm]
        if edge.column_negate is not None:
            weights = negate_columns(weights, edge.column_negate)
        factor = (np.float32(edge.scale) * w_scale).astype(np.float32)
        product = Product(node, weights, factor, 1, None, in_bits, in_levels, edge.source)
        state.bind(node.output[0], Tail(product))
