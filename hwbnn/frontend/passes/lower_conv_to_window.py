"""LowerConvToWindow: ``[Pad] -> Conv`` on an image edge becomes a :class:`SlidingWindow`
feeding a per-pixel product.

Contract: a ``Pad`` of an :class:`Edge` is held (:class:`PendingPad`) until the Conv reading
it; ``Pad`` + ``Conv`` (binary weights ``+-s_m`` per output channel, group 1, equal
dilations, square kernel, equal strides) emit the window (padding and pad code from
:func:`~hwbnn.frontend.lower_conv.conv_window`, named ``<conv>_window``) and bind the Conv's
output to a :class:`Tail` over a :class:`Product` with ``pixels = OH*OW`` and weight columns
in (ky, kx, c) order. The product's activation (:mod:`.lower_activation`) later turns it into
a ``MatrixVector``. A strided 1x1 conv on a shortcut branch lowers the same way. A Conv bias
was split off by :class:`~hwbnn.frontend.passes.SplitConvBias`. A Conv reading an
unquantized tensor, or after a decreasing input binarization, is an error.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from onnx import NodeProto

from hwbnn.errors import ModelError
from hwbnn.frontend.graph import node_label
from hwbnn.frontend.lower_conv import conv_dilation, conv_weights, conv_window
from hwbnn.frontend.state import Edge, LoweringState, NodePass, PendingPad, Product, Tail


def product_input(state: LoweringState, node: NodeProto) -> Edge | PendingPad:
    """The activation a product reads (an error when it is unquantized)."""
    value = state.only_input(node)
    if isinstance(value, Tail):
        raise ModelError(
            f"{node_label(node)}: reads an unquantized tensor; only 1-bit activations are "
            f"supported between layers"
        )
    return value


class DeferPad(NodePass):
    """Holds a Pad for the Conv (or, padding bits with -1, the MaxPool) reading it."""

    op_types = frozenset({"Pad"})

    def apply(self, state: LoweringState, node: NodeProto) -> None:
        value = product_input(state, node)
        if isinstance(value, PendingPad):
            raise ModelError(f"{node_label(value.pad)}: a Pad must feed a Conv directly")
        state.bind(node.output[0], PendingPad(node, value))


class LowerConvToWindow(NodePass):
    op_types = frozenset({"Conv"})

    def apply(self, state: LoweringState, node: NodeProto) -> None:
        value = product_input(state, node)
        pad, edge = (value.pad, value.edge) if isinstance(value, PendingPad) else (None, value)
        if edge.column_negate is not None:
            raise ModelError(
                f"{node_label(node)}: a decreasing input binarization before a convolution is "
                f"not supported (its bits cannot be negated per weight column)"
            )
        in_bits, in_levels = edge.input_precision(node)
        weights, w_scale, kernel, stride = conv_weights(state.model, node)
        window = conv_window(
            state.model,
            pad,
            node,
            edge.stream,
            edge.scale,
            in_levels,
            kernel,
            stride,
            conv_dilation(node),
        )
        if window.window != weights.shape[1]:
            raise ModelError(
                f"{node_label(node)}: weights take {weights.shape[1]} inputs per window, the "
                f"image gives {window.window}"
            )
        name = state.unique(window.name, "window")
        state.emit(replace(window, name=name, inputs=(edge.source,)))
        factor = (np.float32(edge.scale) * w_scale).astype(np.float32)
        out_image = (window.out_shape[0], window.out_shape[1], int(weights.shape[0]))
        product = Product(node, weights, factor, window.pixels, out_image, in_bits, in_levels, name)
        state.bind(node.output[0], Tail(product))
