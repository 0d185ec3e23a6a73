"""LowerAdd: an ``Add`` of two data tensors (a residual join).

Contract, by what the two inputs are:

- both quantized (:class:`Edge` of bits or integer codes, e.g. two outputs of one shared
  Brevitas activation quantizer) with the *same* scale ``s``: ``s*a + s*b = s*(a + b)`` is an
  :class:`~hwbnn.ir.types.AddJoin` of the integer values (a bit counts as -1/+1); the sum is an
  integer edge that the next quantizer thresholds (:mod:`.lower_activation`); a sum added
  again is the input of another join. Different scales are an error.
- a product's accumulators (through per-channel ops, no pooling or layout) and a binary
  :class:`Edge` of the same layout (a Bi-Real shortcut ``h(acc) + x``): recorded on the tail
  (:class:`SideAdd`); the binary quantizer after it (possibly through more per-channel ops)
  becomes a side-input ``Threshold`` with two thresholds per channel.
- anything else, in particular two unquantized real tensors, is an error naming the node and
  saying how to quantize it.
"""

from __future__ import annotations

from onnx import NodeProto

from hwbnn.errors import ModelError
from hwbnn.frontend.graph import LAYOUT_OPS, node_label
from hwbnn.frontend.state import Edge, LoweringState, NodePass, PendingPad, Product, SideAdd, Tail
from hwbnn.ir.types import AddJoin, ValueKind

QUANTIZE_HINT = (
    "quantize both inputs with one shared activation quantizer (the same brevitas QuantIdentity "
    "on both branches, so they share one scale), or make the shortcut a binary activation "
    "added before the next sign (Bi-Real: sign(BN(conv(x)) + x))"
)


def _joinable(value: Edge | Tail | PendingPad) -> Edge | None:
    """The integer or binary edge a value stands for, if it is quantized."""
    if isinstance(value, Tail) and isinstance(value.root, Edge) and not value.nodes:
        return value.root  # an add-join sum not yet thresholded
    if isinstance(value, Edge) and value.kind is not ValueKind.CODES:
        return value
    return None


class LowerAdd(NodePass):
    op_types = frozenset({"Add"})

    def apply(self, state: LoweringState, node: NodeProto) -> None:
        names = state.data_inputs(node)
        values = [state.values[name] for name in names]
        if len(values) != 2:
            raise ModelError(f"{node_label(node)}: takes {len(values)} non-constant inputs")
        if any(isinstance(v, PendingPad) for v in values):
            raise ModelError(f"{node_label(node)}: adds a padded tensor; a Pad must feed a Conv")
        edges = [_joinable(v) for v in values]
        if edges[0] is not None and edges[1] is not None:
            self._join(state, node, edges[0].unnegated(node), edges[1].unnegated(node))
            return
        for main, side in (values, values[::-1]):
            if (
                isinstance(main, Tail)
                and isinstance(main.root, Product)
                and main.side is None
                and main.interaction is None
                and isinstance(side, Edge)
                and side.kind is ValueKind.BITS
            ):
                self._side(state, node, main, main.root, side.unnegated(node))
                return
        quantized = [isinstance(v, Edge) for v in values]
        if not any(quantized):
            raise ModelError(
                f"{node_label(node)}: adds two unquantized real tensors; {QUANTIZE_HINT}"
            )
        raise ModelError(
            f"{node_label(node)}: adds an unquantized tensor to integer codes or to a sum; "
            f"{QUANTIZE_HINT}"
        )

    def _join(self, state: LoweringState, node: NodeProto, a: Edge, b: Edge) -> None:
        if a.scale != b.scale:
            raise ModelError(
                f"{node_label(node)}: adds tensors quantized with different scales ({a.scale:g} "
                f"and {b.scale:g}); {QUANTIZE_HINT}"
            )
        if a.stream.image != b.stream.image or (a.stream.perm is None) != (b.stream.perm is None):
            raise ModelError(f"{node_label(node)}: adds tensors of different layouts")
        name = state.unique(node.name, "add")
        state.emit(AddJoin(name, inputs=(a.source, b.source)))
        low = sum(-1 if e.kind is ValueKind.BITS else e.low for e in (a, b))
        high = sum(1 if e.kind is ValueKind.BITS else e.high for e in (a, b))
        root = Edge(name, a.stream, a.scale, ValueKind.INT, low, high)
        state.bind(node.output[0], Tail(root, start=node.output[0]))

    def _side(
        self, state: LoweringState, node: NodeProto, main: Tail, product: Product, side: Edge
    ) -> None:
        for op in main.nodes:
            if op.op_type == "MaxPool" or op.op_type in LAYOUT_OPS:
                raise ModelError(
                    f"{node_label(node)}: a shortcut added after {node_label(op)} is not "
                    f"supported; add it right after the product's per-channel ops"
                )
        if side.stream.image != product.out_image or side.stream.perm is not None:
            raise ModelError(
                f"{node_label(node)}: the shortcut's layout {side.stream.image} differs from the "
                f"product's output {product.out_image}"
            )
        state.bind(node.output[0], Tail(product, [], SideAdd(node, side, main.nodes)))
