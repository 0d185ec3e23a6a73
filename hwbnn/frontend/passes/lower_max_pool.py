"""LowerMaxPool: a MaxPool of binary activations is the OR pool :class:`MaxPool`.

Contract: on a binary :class:`Edge` image (floor mode, dilation 1, square kernel, equal
strides, ``pads`` smaller than the kernel; :func:`~hwbnn.frontend.lower_conv.pool_layer`) it
emits a ``MaxPool`` reading the edge's source and binds a binary edge of the pooled image (a
max pool on a shortcut branch lowers the same way). A constant ``Pad`` with the activation's
-1 (-scale) right before it joins the pool's padding (bit 0, the OR's neutral element, as
ONNX's own -inf pads are on +-1 values). On a :class:`Tail` (between a product and its
activation) the pool joins the tail and is moved behind the threshold
(:mod:`.move_pool_behind_threshold`): its -inf padding stays bit 0 there, the threshold being
monotone. Max pooling of integer inputs is an error.
"""

from __future__ import annotations

from dataclasses import replace

from onnx import NodeProto

from hwbnn.errors import ModelError
from hwbnn.frontend.graph import node_label
from hwbnn.frontend.lower_conv import Stream, pad_geometry, pool_layer
from hwbnn.frontend.state import Edge, LoweringState, NodePass, PendingPad, Tail
from hwbnn.ir.types import ValueKind


def emit_pool(
    state: LoweringState,
    node: NodeProto,
    edge: Edge,
    before: tuple[int, int, int, int] = (0, 0, 0, 0),
) -> Edge:
    """Emit the OR pool of ``node`` reading ``edge`` (padded by ``before`` from a -1 ``Pad``
    in front of it, besides its own pads); the pooled edge."""
    pool = pool_layer(state.model, node, edge.stream, before)
    name = state.unique(node.name, "maxpool")
    state.emit(replace(pool, name=name, inputs=(edge.source,)))
    return replace(edge, source=name, stream=Stream(pool.out_shape))


class LowerMaxPool(NodePass):
    op_types = frozenset({"MaxPool"})

    def apply(self, state: LoweringState, node: NodeProto) -> None:
        value = state.only_input(node)
        before = (0, 0, 0, 0)
        if isinstance(value, PendingPad):
            if value.edge.kind is not ValueKind.BITS:
                raise ModelError(f"{node_label(value.pad)}: a Pad must feed a Conv directly")
            edge = value.edge
            before, _ = pad_geometry(state.model, value.pad, edge.stream, edge.scale, 2)
            state.bind(node.output[0], emit_pool(state, node, edge.unnegated(node), before))
            return
        if isinstance(value, Tail):
            state.bind(node.output[0], value.extend(node))
            return
        if value.kind is not ValueKind.BITS:
            raise ModelError(f"{node_label(node)}: max pooling of integer inputs")
        state.bind(node.output[0], emit_pool(state, node, value.unnegated(node)))
