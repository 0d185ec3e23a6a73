"""LowerInteraction: a collapsed CI-BCNN interaction (:mod:`.collapse_interactions`) and the
activation quantizer after it become a hidden matrix-vector unit emitting its accumulators, an
:class:`~hwbnn.ir.interaction.Interaction` and a :class:`~hwbnn.ir.types.Threshold`.

Contract:

- ``ChannelInteraction`` must read a product's accumulators directly (a Conv or MatMul with
  binary weights, no per-channel op in between) whose float output is the integer ``Y``
  itself (``s_in * s_c == 1`` for every channel: the deadzone and the edge weights are on the
  dot-product grid ``Y = 2 * popcount - N``, or the integer sum of an integer-input layer), and
  its graph must have as many channels as the product. Its output is recorded on the tail
  (:attr:`~hwbnn.frontend.state.Tail.interaction`); per-channel affine ops may follow.
- The activation quantizer ending that tail (:func:`emit_interacted`, called by
  :mod:`.lower_activation`) gives: the product as a ``MatrixVector`` with ``thresholds=None``
  and its weight rows *not* negated (the interaction needs the true ``Y``); the
  ``Interaction``; a ``Threshold`` whose thresholds are found as
  :mod:`.absorb_affine` finds them, by evaluating the model's own ops (BatchNorm, quantizer)
  at every integer of the range of ``Y'`` (:meth:`~hwbnn.ir.interaction.Interaction.out_range`,
  wider than the range of ``Y``), exact. A channel that decreases with ``Y'`` is negated by the
  interaction node (``negate``), so the threshold compares with ``>=``; the range is symmetric,
  so the negated value stays in it.
- Anything else (the interaction read through another op, a max pool, layout op or shortcut
  before the quantizer, a graph output right after it) is a ModelError naming the node.
"""

from __future__ import annotations

import numpy as np
from onnx import NodeProto

from hwbnn.errors import ModelError
from hwbnn.frontend.graph import LAYOUT_OPS, channel_function, node_label
from hwbnn.frontend.lower_conv import Stream
from hwbnn.frontend.passes.absorb_affine import step_thresholds
from hwbnn.frontend.passes.collapse_interactions import INTERACTION_OP, interaction_attributes
from hwbnn.frontend.passes.extract_input_stage import quant_scale
from hwbnn.frontend.state import Edge, LoweringState, NodePass, Product, Tail
from hwbnn.ir.types import Interaction, MatrixVector, Threshold, ValueKind


class LowerInteraction(NodePass):
    op_types = frozenset({INTERACTION_OP})

    def apply(self, state: LoweringState, node: NodeProto) -> None:
        value = state.only_input(node)
        if not (
            isinstance(value, Tail)
            and isinstance(value.root, Product)
            and not value.nodes
            and value.side is None
            and value.interaction is None
        ):
            raise ModelError(
                f"{node_label(node)}: a CI-BCNN interaction must read the integer output of a "
                f"binary Conv or MatMul directly"
            )
        product = value.root
        signs, _, _ = interaction_attributes(node)
        if len(signs) != product.mh:
            raise ModelError(
                f"{node_label(node)}: an interaction of {len(signs)} channels after "
                f"{node_label(product.node)} of {product.mh} output channels"
            )
        if not np.all(product.factor == np.float32(1)):
            c = int(np.flatnonzero(product.factor != np.float32(1))[0])
            raise ModelError(
                f"{node_label(node)}: {node_label(product.node)} scales channel {c} by "
                f"{float(product.factor[c]):g}; the interaction needs the integer dot product "
                f"(input and weight scales 1)"
            )
        state.bind(node.output[0], Tail(product, interaction=node))


def emit_interacted(state: LoweringState, quant: NodeProto, tail: Tail) -> Edge:
    """The IR of ``tail`` (a product, its interaction, per-channel affine ops) ended by the
    activation quantizer ``quant`` (see the module docstring); returns the quantized edge."""
    product, node = tail.root, tail.interaction
    assert isinstance(product, Product) and node is not None
    for op in tail.nodes:
        if op.op_type == "MaxPool" or op.op_type in LAYOUT_OPS or tail.side is not None:
            raise ModelError(
                f"{node_label(op)}: between a CI-BCNN interaction and its activation quantizer "
                f"only per-channel affine ops (BatchNorm, scale, bias) are supported"
            )
    signs, deadzone, magnitude = interaction_attributes(node)
    unit = state.unique(product.node.name, product.node.op_type.lower())
    mvau = MatrixVector(
        unit,
        product.weights,
        product.in_bits,
        product.in_levels,
        pixels=product.pixels,
        inputs=(product.source,),
    )
    state.emit(mvau)
    low, high = Interaction(unit, signs, deadzone, magnitude).out_range(*mvau.acc_range)
    channels = product.mh
    function = channel_function(state.model, [*tail.nodes, quant], node.output[0], channels)

    def evaluate(v: np.ndarray) -> np.ndarray:
        rows = np.repeat(v.astype(np.float32)[:, None], channels, axis=1)
        return np.asarray(function(rows))[:, :, None]

    scale = quant_scale(state, quant)
    name = state.unique(quant.name, "threshold")
    t, negate, base = step_thresholds(state, quant, scale, evaluate, low, high, name, channels)
    interaction = state.unique(node.name, "interaction")
    state.emit(Interaction(interaction, signs, deadzone, magnitude, negate, inputs=(unit,)))
    threshold = Threshold(name, t, inputs=(interaction,), out_base=base)
    state.emit(threshold)
    stream = Stream(product.out_image)
    if threshold.binary_output:
        return Edge(name, stream, scale, ValueKind.BITS, 0, 1)
    low_code, high_code = threshold.out_range
    return Edge(name, stream, scale, ValueKind.INT, low_code, high_code)
