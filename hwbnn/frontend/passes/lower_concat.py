"""LowerConcat: a data ``Concat`` on the channel axis becomes a :class:`Concat` node.

Contract: every input is a quantized :class:`Edge` of one kind (bits, or integers) and one
scale, all images of the same H and W (channel axis 1; stream order is per pixel the
channels of input 0, then of input 1, ... as ONNX's (C, H, W) concatenation on C), or all flat
tensors in ONNX element order (axis 1). The output edge has the summed channels. Anything else
is an error naming the node.
"""

from __future__ import annotations

from onnx import NodeProto

from hwbnn.errors import ModelError
from hwbnn.frontend.graph import node_attr, node_label
from hwbnn.frontend.lower_conv import Stream
from hwbnn.frontend.state import Edge, LoweringState, NodePass
from hwbnn.ir.types import Concat


class LowerConcat(NodePass):
    op_types = frozenset({"Concat"})

    def apply(self, state: LoweringState, node: NodeProto) -> None:
        values = [state.values[name] for name in state.data_inputs(node)]
        edges = [v for v in values if isinstance(v, Edge)]
        if len(values) != len(node.input) or len(edges) != len(values) or len(edges) < 2:
            raise ModelError(
                f"{node_label(node)}: concatenates unquantized or constant tensors; "
                f"concatenate activation-quantizer outputs of one scale"
            )
        first = edges[0]
        rank = 4 if first.stream.image is not None else 2
        axis = int(node_attr(node, "axis", 1))
        if axis % rank != 1:
            raise ModelError(
                f"{node_label(node)}: only channel concatenation (axis 1) is supported"
            )
        for edge in edges:
            if (edge.kind, edge.scale, edge.low, edge.high) != (
                first.kind,
                first.scale,
                first.low,
                first.high,
            ):
                raise ModelError(
                    f"{node_label(node)}: inputs of different quantizers; concatenate outputs of "
                    f"one activation quantizer (same scale and bit width)"
                )
            if edge.stream.perm is not None or edge.column_negate is not None:
                raise ModelError(f"{node_label(node)}: concatenates flattened images")
            pixels = edge.stream.image[:2] if edge.stream.image is not None else None
            if pixels != (first.stream.image[:2] if first.stream.image is not None else None):
                raise ModelError(f"{node_label(node)}: concatenates images of different sizes")
        name = state.unique(node.name, "concat")
        state.emit(Concat(name, inputs=tuple(e.source for e in edges)))
        image = first.stream.image
        if image is not None:
            channels = sum(e.stream.image[2] for e in edges if e.stream.image is not None)
            image = (image[0], image[1], channels)
        state.bind(
            node.output[0],
            Edge(name, Stream(image), first.scale, first.kind, first.low, first.high),
        )
