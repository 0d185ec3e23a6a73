"""MovePoolBehindThreshold: a MaxPool between a product and its binary activation becomes an
OR pool of the activation bits.

Contract: ``sign(h(max_i g_i)) = max_i sign(h(g_i))`` holds for every window exactly when
``sign(h)`` is non-decreasing on the values ``g`` the pool's input attains; this is checked
channel by channel at every attainable accumulator value (:func:`check_pool`), and is an
error naming the pool otherwise. :func:`emit_after_threshold` then emits the tail's pools
(and follows its layout ops) behind the thresholding unit, in the tail's order.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from onnx import NodeProto

from hwbnn.errors import ModelError
from hwbnn.frontend.graph import LAYOUT_OPS, node_label
from hwbnn.frontend.lower_conv import stream_after_layout
from hwbnn.frontend.passes.lower_max_pool import emit_pool
from hwbnn.frontend.state import BasisProduct, Edge, LoweringState, Product


def check_pool(
    pool: NodeProto,
    before: Callable[[np.ndarray], np.ndarray],
    channel: Callable[[np.ndarray], np.ndarray],
    values: np.ndarray,
) -> None:
    """``before(v)`` gives the pool's input (m, C) and ``channel(v)`` the activation (m, C) at
    the accumulator variables ``v``: the activation must not decrease with the pool input."""
    g = np.asarray(before(values), dtype=np.float64)
    out = np.asarray(channel(values), dtype=bool)
    for c in range(out.shape[1]):
        order = np.argsort(g[:, c], kind="stable")
        if np.any(np.diff(out[order, c].astype(np.int8)) < 0):
            raise ModelError(
                f"{node_label(pool)}: channel {c} decreases between the max pool and its "
                f"activation (e.g. a negative BatchNorm scale), so the pool is not an OR of "
                f"bits; put the MaxPool after the sign activation and retrain"
            )


def check_pools(
    state: LoweringState,
    product: Product | BasisProduct,
    tail: list[NodeProto],
    channel: Callable[[np.ndarray], np.ndarray],
) -> None:
    """Check every MaxPool of ``tail`` (ops between ``product`` and its binary quantizer)."""
    low, high = product.variable_range
    values = np.arange(low, high + 1, dtype=np.int64)
    for i, pool in enumerate(tail):
        if pool.op_type == "MaxPool":
            check_pool(pool, product.of_variable(state.model, tail[:i]), channel, values)


def emit_after_threshold(state: LoweringState, tail: list[NodeProto], edge: Edge) -> Edge:
    """The tail's pools (as OR pools) and layout ops applied to the thresholded ``edge``."""
    for node in tail:
        if node.op_type == "MaxPool":
            edge = emit_pool(state, node, edge)
        elif node.op_type in LAYOUT_OPS:
            edge = Edge(
                edge.source,
                stream_after_layout(state.model, node, edge.stream),
                edge.scale,
                edge.kind,
                edge.low,
                edge.high,
            )
    return edge
