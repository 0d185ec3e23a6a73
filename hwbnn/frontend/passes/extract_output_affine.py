"""ExtractOutputAffine: the ops after the last product become the output layer's per-class
affine map ``logit_c = a_c * acc_c + b_c``.

Contract: the graph output must be a :class:`Tail` over a one-pixel product (a dense
classifier) without max pooling or a shortcut. The tail is evaluated with the model's ops at
the extreme accumulators, ``a``/``b`` fitted, and every attainable accumulator checked against
the fit within float32 rounding; a tail that is not per-class affine is an error. Emits the
output ``MatrixVector`` (``out_scale = a``, ``out_bias = b``).
"""

from __future__ import annotations

import numpy as np

from hwbnn.errors import ModelError
from hwbnn.frontend.graph import channel_function, node_label
from hwbnn.frontend.state import LoweringState, Product, Tail
from hwbnn.ir.types import MatrixVector


class ExtractOutputAffine:
    def apply(self, state: LoweringState) -> None:
        output = state.model.graph.output[0].name
        tail = state.values.get(output)
        if not isinstance(tail, Tail) or not isinstance(tail.root, Product) or tail.side:
            raise ModelError(
                f"graph output {output} is not the output of a MatMul (and per-class affine "
                f"ops); end the network with a dense classifier"
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
        acc = np.arange(-bound, bound + 1, step, dtype=np.int64)
        x = acc.astype(np.float32)[:, None] * factor[None, :]
        logits = channel_function(state.model, tail.nodes, node.output[0], mh)(x)
        logits = logits.astype(np.float64)
        a = (logits[-1] - logits[0]) / (acc[-1] - acc[0])
        b = logits[0] - a * acc[0]
        fitted = a[None, :] * acc[:, None].astype(np.float64) + b[None, :]
        # float32 evaluation of an affine map deviates from it by rounding only
        slack = 4 * np.finfo(np.float32).eps * (np.abs(logits).max(axis=0) + 1.0)
        if np.any(np.abs(fitted - logits) > slack[None, :]):
            raise ModelError(
                f"{node_label(node)}: the ops after the last MatMul are not a per-class "
                f"affine map of its accumulator"
            )
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
