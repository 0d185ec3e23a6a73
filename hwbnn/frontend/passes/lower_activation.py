"""LowerActivation: an activation quantizer (BipolarQuant/Quant) ends a tail and materializes
it as IR nodes.

Contract, by what the quantizer reads (a :class:`Tail`; anything else is an error):

- a product's accumulators through per-channel ops, binary quantizer: a hidden
  ``MatrixVector`` with one threshold per channel (:func:`.absorb_affine.binary_thresholds`,
  decreasing rows negated, :mod:`.negate_decreasing`), then the tail's max pools as OR pools
  (:mod:`.move_pool_behind_threshold`) -> a binary edge;
- a product's accumulators plus a binary shortcut (Bi-Real ``sign(h(acc) + x)``, recorded by
  :mod:`.lower_add`), or a product under a multi-bit quantizer: a hidden ``MatrixVector``
  emitting accumulators (``thresholds=None``) and a :class:`~hwbnn.ir.types.Threshold`
  reading it (and the shortcut as side input: two thresholds per channel) -> a binary edge,
  or an integer edge of the quantizer's codes;
- a DBF layer's combination (:class:`~hwbnn.frontend.state.BasisProduct`,
  :mod:`.lower_basis_combination`), binary quantizer: a hidden ``DBFMatrixVector`` with one
  threshold per channel on ``y``, decreasing channels' alpha rows negated;
- an integer edge (an add-join sum) through per-channel ops: a ``Threshold`` reading it
  (channels must not decrease: there are no weights to negate).

- a product's accumulators through a CI-BCNN interaction: :mod:`.lower_interaction`;
- the window counts of an average pool of bits, binary quantizer: a ``MajorityPool``
  (:mod:`.lower_average_pool`).

The edge's scale is the quantizer's scale. Max pools are only supported in the first form.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from onnx import NodeProto

from hwbnn.errors import ModelError
from hwbnn.frontend.graph import channel_function, is_binary_quant, node_label
from hwbnn.frontend.lower_conv import Stream
from hwbnn.frontend.passes.absorb_affine import binary_thresholds, step_thresholds
from hwbnn.frontend.passes.extract_input_stage import quant_scale
from hwbnn.frontend.passes.lower_average_pool import emit_majority
from hwbnn.frontend.passes.lower_basis_combination import DBF, dbf_unit
from hwbnn.frontend.passes.lower_interaction import emit_interacted
from hwbnn.frontend.passes.move_pool_behind_threshold import check_pools, emit_after_threshold
from hwbnn.frontend.passes.negate_decreasing import negate_rows
from hwbnn.frontend.state import (
    BasisProduct,
    Edge,
    LoweringState,
    NodePass,
    Product,
    Tail,
    WindowCount,
)
from hwbnn.ir.types import DBFMatrixVector, MatrixVector, Threshold, ValueKind


def _evaluator(
    state: LoweringState, tail: Tail, quant: NodeProto, channels: int
) -> Callable[[np.ndarray], np.ndarray]:
    """``v -> `` the quantizer's float output (m, C, S) for the tail's root variable ``v``."""
    model, root, side = state.model, tail.root, tail.side
    if isinstance(root, Edge):
        fn = channel_function(model, [*tail.nodes, quant], tail.start, channels)
        scale = np.float32(root.scale)
        return lambda v: fn(np.repeat((v.astype(np.float32) * scale)[:, None], channels, 1))[
            :, :, None
        ]
    if side is None:
        full = root.of_variable(model, [*tail.nodes, quant])
        return lambda v: full(v)[:, :, None]
    before = root.of_variable(model, side.before)
    after = channel_function(model, [*tail.nodes, quant], side.add.output[0], channels)
    values = [np.float32(-side.side.scale), np.float32(side.side.scale)]

    def run(v: np.ndarray) -> np.ndarray:
        g = np.asarray(before(v), dtype=np.float32)
        return np.stack([after((g + x).astype(np.float32)) for x in values], axis=-1)

    return run


class LowerActivation(NodePass):
    op_types = frozenset({"BipolarQuant", "Quant"})

    def apply(self, state: LoweringState, node: NodeProto) -> None:
        tail = state.only_input(node)
        if not isinstance(tail, Tail):
            raise ModelError(
                f"{node_label(node)}: quantizes a tensor that is already quantized (or a Pad); "
                f"hwbnn needs a MatMul/Conv (or an add) between two activation quantizers"
            )
        binary = is_binary_quant(state.model, node)
        root = tail.root
        if tail.interaction is not None:  # CI-BCNN: MVAU, interaction, threshold
            edge = emit_interacted(state, node, tail)
        elif isinstance(root, WindowCount):
            edge = emit_majority(state, node, tail)
        elif isinstance(root, BasisProduct):
            if tail.side is not None or not binary:
                raise ModelError(
                    f"{node_label(node)}: a {DBF} must be followed by a binary activation "
                    f"(BatchNorm/scale and sign); a shortcut add or a multi-bit activation "
                    f"after it is not supported"
                )
            edge = self._hidden(state, node, tail, root)
        elif isinstance(root, Product) and tail.side is None and binary:
            edge = self._hidden(state, node, tail, root)
        else:
            pools = [n for n in tail.nodes if n.op_type == "MaxPool"]
            if pools:
                raise ModelError(
                    f"{node_label(pools[0])}: max pooling before a multi-bit activation or an "
                    f"add is not supported; pool the binary activations instead"
                )
            edge = self._thresholded(state, node, tail)
        state.bind(node.output[0], emit_after_threshold(state, tail.nodes, edge))

    def _hidden(
        self, state: LoweringState, quant: NodeProto, tail: Tail, root: Product | BasisProduct
    ) -> Edge:
        nodes = [*tail.nodes, quant]
        thresholds, negate, channel = binary_thresholds(state, root, nodes)
        check_pools(state, root, tail.nodes, channel)
        name = state.unique(root.node.name, root.node.op_type.lower())
        unit: MatrixVector | DBFMatrixVector
        if isinstance(root, BasisProduct):
            unit = dbf_unit(name, root, negate, thresholds=thresholds)
        else:
            unit = MatrixVector(
                name,
                negate_rows(root.weights, negate),
                root.in_bits,
                root.in_levels,
                thresholds=thresholds,
                pixels=root.pixels,
                inputs=(root.source,),
            )
        state.emit(unit)
        return Edge(name, Stream(root.out_image), quant_scale(state, quant), ValueKind.BITS, 0, 1)

    def _thresholded(self, state: LoweringState, quant: NodeProto, tail: Tail) -> Edge:
        root = tail.root
        assert not isinstance(root, BasisProduct | WindowCount)
        scale = quant_scale(state, quant)
        if isinstance(root, Product):
            channels = root.mh
            low, high = root.variable_range
        else:
            shape = state.model.get_tensor_shape(tail.start)
            if not shape or len(shape) < 2:
                raise ModelError(f"{node_label(quant)}: needs a known (1, C, ...) shape")
            channels, (low, high) = int(shape[1]), (root.low, root.high)
        evaluate = _evaluator(state, tail, quant, channels)
        name = state.unique(quant.name, "threshold")
        width = channels * (2 if tail.side is not None else 1)
        t, negate, base = step_thresholds(state, quant, scale, evaluate, low, high, name, width)
        inputs: tuple[str, ...]
        if isinstance(root, Product):
            mw = int(root.weights.shape[1])
            unit = state.unique(root.node.name, root.node.op_type.lower())
            state.emit(
                MatrixVector(
                    unit,
                    negate_rows(root.weights, negate),
                    root.in_bits,
                    root.in_levels,
                    pixels=root.pixels,
                    inputs=(root.source,),
                )
            )
            acc_low, acc_high = state.layers[-1].acc_range  # type: ignore[union-attr]
            if root.in_bits == 1:  # thresholds on the popcount -> on acc = 2 v - MW
                t = 2 * t - mw
            t = np.clip(t, acc_low, acc_high + 1)
            image = root.out_image
            inputs = (unit,) if tail.side is None else (unit, tail.side.side.source)
        else:
            if negate.any():
                c = int(np.flatnonzero(negate)[0])
                raise ModelError(
                    f"{node_label(quant)}: channel {c} decreases with the integer sum it "
                    f"quantizes (a negative scale after an add); this is not supported"
                )
            image, inputs = None, (root.source,)
        threshold = Threshold(name, t, inputs=inputs, out_base=base)
        state.emit(threshold)
        stream = Stream(image) if isinstance(root, Product) else root.stream
        if threshold.binary_output:
            return Edge(name, stream, scale, ValueKind.BITS, 0, 1)
        low_code, high_code = threshold.out_range
        return Edge(name, stream, scale, ValueKind.INT, low_code, high_code)
