"""LowerAffine: an elementwise op with constants (Mul/Add/Sub/Div, BatchNormalization) joins
the per-channel tail it applies to.

Contract: the op's one data input must be a :class:`Tail` (the accumulators of a product, or an
integer sum, with ops already applied); the op is appended and later absorbed into the
thresholds of the next quantizer (:mod:`.absorb_affine`) or into the output affine map
(:mod:`.extract_output_affine`). After an activation quantizer (an :class:`Edge`) an
elementwise op is an error: it cannot act on the bits before a product.
"""

from __future__ import annotations

from onnx import NodeProto

from hwbnn.errors import ModelError
from hwbnn.frontend.graph import AFFINE_OPS, node_label
from hwbnn.frontend.state import LoweringState, NodePass, PendingPad, Tail


class LowerAffine(NodePass):
    op_types = AFFINE_OPS

    def apply(self, state: LoweringState, node: NodeProto) -> None:
        value = state.only_input(node)
        if node.op_type == "BatchNormalization" and node.input[0] not in state.values:
            raise ModelError(
                f"{node_label(node)}: its data must be input 0 (X, scale, B, mean, var); are "
                f"the node's inputs in the wrong order?"
            )
        if isinstance(value, PendingPad):
            raise ModelError(f"{node_label(value.pad)}: a Pad must feed a Conv directly")
        if not isinstance(value, Tail):
            raise ModelError(
                f"{node_label(node)}: elementwise op between an activation quantizer "
                f"and a MatMul is not supported; move it after the MatMul"
            )
        state.bind(node.output[0], value.extend(node))
