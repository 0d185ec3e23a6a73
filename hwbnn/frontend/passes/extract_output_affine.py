"""ExtractOutputAffine: the ops after the last product become the output layer's per-class
affine map ``logit_c = a_c * acc_c + b_c``.

Contract: the graph output must be a :class:`Tail` over a one-pixel product (a dense
classifier) without max pooling or a shortcut. The tail is evaluated with the model's ops at
the extreme accumulators, ``a``/``b`` fitted, and every attainable accumulator checked against
the fit within float32 rounding (a bounded chunk of accumulators at a time); a tail that is not
per-class affine, or that gives NaN or Inf anywhere, is an error. Emits the output
``MatrixVector`` (``out_scale = a``, ``out_bias = b``); after a DBF layer's combination
(:mod:`.lower_basis_combination`) the same fit over every integer ``y`` of its range gives the
output ``DBFMatrixVector``.
"""

from __future__ import annotations

import numpy as np
from onnx import NodeProto

from hwbnn.errors import ModelError
from hwbnn.frontend.graph import channel_function, node_label
from hwbnn.frontend.limits import rows_per_chunk
from hwbnn.frontend.passes.lower_basis_combination import dbf_unit
from hwbnn.frontend.state import BasisProduct, LoweringState, Product, Tail
from hwbnn.ir.types import MatrixVector


class ExtractOutputAffine:
    def apply(self, state: LoweringState) -> None:
        output = state.model.graph.output[0].name
        tail = state.values.get(output)
        if isinstance(tail, Tail) and isinstance(tail.root, BasisProduct) and not tail.side:
            self._dbf(state, tail, tail.root)
            return
        if not isinstance(tail, Tail) or not isinstance(tail.root, Product) or tail.side:
            raise ModelError(
                f"graph output {output} is not the output of a MatMul (and per-class affine "
                f"ops); end the network with a dense classifier"
            )
        if tail.interaction is not None:
            raise ModelError(
                f"{node_label(tail.interaction)}: a CI-BCNN interaction on the output layer is "
                f"not supported; interact hidden convolutions only"
            )
        product = tail.root
        node, weights, factor = product.node, product.weights, product.factor
        pools = [n for n in tail.nodes if n.op_type == "MaxPool"]
        if pools:
            raise ModelError(f"{node_label(pools[0])}: max pooling of the output layer")
        if product.pixels != 1:
            raise ModelError(
                f"{node_label(node)}: the last layer gives {product.pixels} pixels per frame; "
                f"end the network with a dense classifier"
            )
        mh, mw = weights.shape
        bound = mw * (product.in_levels - 1)
        step = 2 if product.in_bits == 1 else 1
        a, b = _fit_affine(state, node, tail, factor, bound, step)
        name = state.unique(node.name, "output")
        state.emit(
            MatrixVector(
                name,
                weights,
                product.in_bits,
                product.in_levels,
                out_scale=a,
                out_bias=b,
                inputs=(product.source,),
            )
        )

    def _dbf(self, state: LoweringState, tail: Tail, root: BasisProduct) -> None:
        """The output layer of a DBF network: ``y`` of every integer in its range."""
        node = root.node
        pools = [n for n in tail.nodes if n.op_type == "MaxPool"]
        if pools or root.pixels != 1:
            raise ModelError(
                f"{node_label(node)}: the last DBF layer must be a dense classifier (one "
                f"pixel, no max pooling)"
            )
        a, b = _fit_affine(state, node, tail, root.factor, root.variable_range[1], 1)
        state.emit(dbf_unit(state.unique(node.name, "output"), root, out_scale=a, out_bias=b))


def _fit_affine(
    state: LoweringState,
    node: NodeProto,
    tail: Tail,
    factor: np.ndarray,
    bound: int,
    step: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) of the per-class affine ``logit = a * acc + b`` of ``tail`` after ``node``,
    checked at every accumulator ``-bound, -bound + step, ..., bound``."""
    mh = len(factor)
    fn = channel_function(state.model, tail.nodes, node.output[0], mh)

    def logits_at(acc: np.ndarray) -> np.ndarray:
        x = acc.astype(np.float32)[:, None] * factor[None, :]
        logits = np.asarray(fn(x), dtype=np.float64)
        if not np.all(np.isfinite(logits)):
            row, c = np.argwhere(~np.isfinite(logits))[0]
            raise ModelError(
                f"{node_label(node)}: the ops after the last MatMul give {logits[row, c]} "
                f"for class {c} at accumulator {acc[row]}; the output parameters must be "
                f"finite"
            )
        return logits

    rows = rows_per_chunk(mh)
    starts = range(-bound, bound + 1, step * rows)
    chunks = [np.arange(s, min(s + step * rows, bound + 1), step) for s in starts]
    # pass 1: the ends (the fit) and the largest magnitude (the rounding slack)
    cached = logits_at(chunks[0]) if len(chunks) == 1 else None
    largest, first, last = np.zeros(mh), np.zeros(mh), np.zeros(mh)
    for acc in chunks:
        logits = cached if cached is not None else logits_at(acc)
        largest = np.maximum(largest, np.abs(logits).max(axis=0))
        if acc[0] == -bound:
            first = logits[0]
        if acc[-1] == bound:
            last = logits[-1]
    a = (last - first) / (2 * bound)
    b = first + a * bound
    # float32 evaluation of an affine map deviates from it by rounding only
    slack = 4 * np.finfo(np.float32).eps * (largest + 1.0)
    for acc in chunks:  # pass 2: every attainable accumulator against the fit
        logits = cached if cached is not None else logits_at(acc)
        fitted = a[None, :] * acc[:, None].astype(np.float64) + b[None, :]
        if np.any(np.abs(fitted - logits) > slack[None, :]):
            raise ModelError(
                f"{node_label(node)}: the ops after the last MatMul are not a per-class "
                f"affine map of its accumulator"
            )
    return a, b
