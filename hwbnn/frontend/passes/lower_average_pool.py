"""LowerAveragePool: ``[Pad(-1)] -> AveragePool -> [affine]* -> binary quantizer`` on a binary
image becomes a :class:`~hwbnn.ir.types.MajorityPool`.

Contract: an ``AveragePool`` (square kernel K, equal strides S, no ``pads`` attribute,
``ceil_mode`` 0, dilation 1) reading a binary :class:`Edge`, or a ``Pad`` of one that pads
with -s (a :class:`PendingPad`, :func:`~hwbnn.frontend.lower_conv.pad_geometry`), binds its
output to a :class:`Tail` over a :class:`WindowCount`: on +-s values the window mean is a
function of the count ``v`` of +s values alone. Per-channel ops (BatchNorm, Mul/Add) and layout
ops join the tail as after a product; the binary quantizer ending it (:func:`emit_majority`,
called by :mod:`.lower_activation`) evaluates the model's own AveragePool and ops at every count
``0..K*K`` (:func:`~hwbnn.frontend.passes.absorb_affine.binary_thresholds`) and emits the
``MajorityPool`` with those thresholds, reading the edge's source.

Errors, each naming the node: ``pads`` on the AveragePool (ONNX pads with 0, not a +-1 value,
whether or not ``count_include_pad`` counts them), an average pool of integers or of
unquantized values, a channel that decreases with the count (no weights to negate), a
multi-bit activation, a max pool or a shortcut add between the pool and its sign.
"""

from __future__ import annotations

from onnx import NodeProto

from hwbnn.errors import ModelError
from hwbnn.frontend.graph import is_binary_quant, node_label
from hwbnn.frontend.lower_conv import Stream, pad_geometry, pool_window, spatial_ints
from hwbnn.frontend.passes.absorb_affine import binary_thresholds
from hwbnn.frontend.passes.extract_input_stage import quant_scale
from hwbnn.frontend.state import Edge, LoweringState, NodePass, PendingPad, Tail, WindowCount
from hwbnn.ir.types import MajorityPool, SlidingWindow, ValueKind


def average_window(
    state: LoweringState, pad: NodeProto | None, node: NodeProto, edge: Edge
) -> SlidingWindow:
    """The window geometry (padding with code 0) of ``node``, an AveragePool of ``edge``."""
    kernel, stride = pool_window(node, "average pooling")
    if any(spatial_ints(node, "pads", 0, 4)):
        raise ModelError(
            f"{node_label(node)}: its pads pad the +-1 activations with 0, which is not a 1-bit "
            f"value (with or without count_include_pad); pad with -1 explicitly before the "
            f"pool (hwbnn.nn.conv.PadConstant(p, -1.0), then AvgPool2d(k, s, padding=0))"
        )
    image = edge.stream.image
    if image is None:
        raise ModelError(f"{node_label(node)}: needs a (1, C, H, W) image input")
    geometry = (0, 0, 0, 0)
    if pad is not None:
        geometry, code = pad_geometry(state.model, pad, edge.stream, edge.scale, 2)
        assert code == 0  # a binary image pads with -s: code 0 (pad_geometry's check)
    if max(geometry) >= kernel:
        raise ModelError(
            f"{node_label(node)}: padding {geometry} must be smaller than the {kernel}x{kernel} "
            f"kernel"
        )
    try:
        return SlidingWindow(node.name or "avgpool", image, kernel, stride, geometry)
    except ValueError as exc:
        raise ModelError(f"{node_label(node)}: {exc}") from None


class LowerAveragePool(NodePass):
    op_types = frozenset({"AveragePool"})

    def apply(self, state: LoweringState, node: NodeProto) -> None:
        value = state.only_input(node)
        if isinstance(value, Tail):
            raise ModelError(
                f"{node_label(node)}: average pooling of unquantized values is not supported; "
                f"pool the binary activations (pad with -1, AvgPool2d, then a sign)"
            )
        pad, edge = (value.pad, value.edge) if isinstance(value, PendingPad) else (None, value)
        if edge.kind is not ValueKind.BITS:
            raise ModelError(
                f"{node_label(node)}: average pooling of integer inputs is not supported; only "
                f"binary activations are pooled (a majority)"
            )
        window = average_window(state, pad, node, edge.unnegated(node))
        state.bind(node.output[0], Tail(WindowCount(node, edge, window)))


def emit_majority(state: LoweringState, quant: NodeProto, tail: Tail) -> Edge:
    """Emit the MajorityPool of ``tail`` (over a :class:`WindowCount`) ended by ``quant``."""
    root = tail.root
    assert isinstance(root, WindowCount)
    where = node_label(root.node)
    if not is_binary_quant(state.model, quant):
        raise ModelError(
            f"{where}: an average pool must be followed by a binary activation (sign); "
            f"{node_label(quant)} is a multi-bit quantizer"
        )
    if tail.side is not None:
        raise ModelError(f"{where}: a shortcut added after an average pool is not supported")
    pools = [n for n in tail.nodes if n.op_type in ("MaxPool", "AveragePool")]
    if pools:
        raise ModelError(
            f"{node_label(pools[0])}: pooling between an average pool and its sign is not "
            f"supported; pool the binary activations"
        )
    thresholds, negate, _ = binary_thresholds(state, root, [*tail.nodes, quant])
    if negate.any():
        c = int(negate.argmax())
        raise ModelError(
            f"{where}: channel {c} decreases with the window's count of +1 (a negative scale "
            f"after the pool); a majority pool has no weights to negate, so the channel cannot "
            f"become a threshold"
        )
    g = root.window
    name = state.unique(root.node.name, "avgpool")
    pool = MajorityPool(
        name, g.in_shape, g.kernel, g.stride, g.padding, thresholds, inputs=(root.edge.source,)
    )
    state.emit(pool)
    return Edge(name, Stream(pool.out_shape), quant_scale(state, quant), ValueKind.BITS, 0, 1)
