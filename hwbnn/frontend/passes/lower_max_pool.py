"""LowerMaxPool: a MaxPool of binary activations is the OR pool :class:`MaxPool`.

Contract: on a binary :class:`Edge` image (no padding, floor mode, dilation 1, square kernel,
equal strides; :func:`~hwbnn.frontend.lower_conv.pool_layer`) it emits a ``MaxPool`` reading
the edge's source and binds a binary edge of the pooled image (a max pool on a shortcut branch
lowers the same way). On a :class:`Tail` (between a product and its activation) the pool
joins the tail and is moved behind the threshold (:mod:`.move_pool_behind_threshold`). Max
pooling of integer inputs, or after a ``Pad``, is an error.
"""

from __future__ import annotations

from dataclasses import replace

from onnx import NodeProto

from hwbnn.errors import ModelError
from hwbnn.frontend.graph import node_label
from hwbnn.frontend.lower_conv import Stream, pool_layer
from hwbnn.frontend.state import Edge, LoweringState, NodePass, PendingPad, Tail
from hwbnn.ir.types import ValueKind


def emit_pool(state: LoweringState, node: NodeProto, edge: Edge) -> Edge:
    """Emit the OR pool of ``node`` reading ``edge``; the pooled edge."""
    pool = pool_layer(state.model, node, edge.stream)
    name = state.unique(node.name, "maxpool")
    state.emit(replace(pool, name=name, inputs=(edge.source,)))
    return replace(edge, source=name, stream=Stream(pool.out_shape))


class LowerMaxPool(NodePass):
    op_types = frozenset({"MaxPool"})

    def apply(self, state: LoweringState, node: NodeProto) -> None:
        value = state.only_input(node)
        if isinstance(value, PendingPad):
            raise ModelError(f"{node_label(value.pad)}: a Pad must feed a Conv directly")
        if isinstance(value, Tail):
            state.bind(node.output[0], value.extend(node))
            return
        if value.kind is not ValueKind.BITS:
            raise ModelError(f"{node_label(node)}: max pooling of integer inputs")
        state.bind(node.output[0], emit_pool(state, node, value.unnegated(node)))
