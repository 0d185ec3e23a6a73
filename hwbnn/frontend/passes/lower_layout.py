"""LowerLayout: Flatten/Reshape/Squeeze/Unsqueeze/Identity change only how ONNX numbers the
elements, never the hardware stream.

Contract: on an :class:`Edge` the output is the same stream (same IR source) with the layout
of :func:`~hwbnn.frontend.lower_conv.stream_after_layout` (flattening an image to
(1, C*H*W) keeps stream order; the next dense layer permutes its weight columns); on a
:class:`Tail` the op joins the tail (it does not act per channel and is cut out when the tail
is evaluated). A layout op after a ``Pad`` is an error.
"""

from __future__ import annotations

from dataclasses import replace

from onnx import NodeProto

from hwbnn.errors import ModelError
from hwbnn.frontend.graph import LAYOUT_OPS, node_label
from hwbnn.frontend.lower_conv import stream_after_layout
from hwbnn.frontend.state import LoweringState, NodePass, PendingPad, Tail


class LowerLayout(NodePass):
    op_types = LAYOUT_OPS

    def apply(self, state: LoweringState, node: NodeProto) -> None:
        value = state.only_input(node)
        if isinstance(value, PendingPad):
            raise ModelError(f"{node_label(value.pad)}: a Pad must feed a Conv directly")
        if isinstance(value, Tail):
            state.bind(node.output[0], value.extend(node))
            return
        stream = stream_after_layout(state.model, node, value.stream)
        state.bind(node.output[0], replace(value, stream=stream))
