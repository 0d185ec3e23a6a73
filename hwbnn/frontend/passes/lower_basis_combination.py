"""LowerBasisCombination: a Deterministic Binary Filter layer (Tseng, Bhattacharya,
Fernandez-Marques, Alizadeh, Tong and Lane, IJCAI 2018; :mod:`hwbnn.nn.dbf`) becomes one
:class:`~hwbnn.ir.dbf.DBFMatrixVector`.

Contract: the exported pattern per layer is

1. the *basis*: a MatMul (or Conv, with its sliding window) whose weights are +-1 codes under
   a BipolarQuant, lowered as any binary product (:mod:`.lower_matmul`,
   :mod:`.lower_conv_to_window`) to a :class:`~hwbnn.frontend.state.Product` whose output
   ``d_m`` nothing quantizes;
2. the *combination*: a MatMul (or 1x1 Conv: stride 1, group 1, no padding) reading that
   product directly, whose weights are a ``Quant`` (signed, zero point 0, 2..16 bits) with
   one positive power-of-two scale ``s_c`` per output channel: ``alpha = s_c * q_cm`` with
   integer ``q``.

This pass handles the combination (:func:`combination_of_basis` picks it out by its input: an
unquantized product; an op in between is an error); it binds the output to a
:class:`~hwbnn.frontend.state.Tail` over a :class:`~hwbnn.frontend.state.BasisProduct`
(``y_c = sum_m q_cm d_m``, float value ``y_c * s_in * s_basis * s_c``, exact in float32 for
power-of-two scales). Then:

- a binary activation (:mod:`.lower_activation`) makes a hidden ``DBFMatrixVector`` whose
  thresholds on ``y_c`` are found, as for every product (DESIGN.md), by evaluating the
  exported float function (BatchNorm, scales, sign) at every integer of ``y``'s range
  ``[-B, B]`` (the attainable ``y`` are not contiguous, so the whole integer range is
  searched; the function must be monotone on it); a decreasing channel has its ``q`` row
  negated (``y -> -y``), so every comparison is ``>=``;
- the graph output (:mod:`.extract_output_affine`) makes the output ``DBFMatrixVector``
  emitting ``y_c`` with the fitted per-class affine.

Anything else is an error naming the node and saying it is a DBF layer (:class:`LowerDBFBasis`
adds that to the errors of the basis product's own lowering, e.g. a zero-padded basis Conv):
basis scales that differ between bases, a non-integer or non-power-of-two ``alpha`` scale, an op
between basis and combination, a multi-bit or residual activation after the combination.
"""

from __future__ import annotations

import numpy as np
from onnx import NodeProto

from hwbnn.errors import ModelError
from hwbnn.frontend.graph import constant_value, node_attr, node_label
from hwbnn.frontend.lower_conv import spatial_ints
from hwbnn.frontend.state import BasisProduct, LoweringState, NodePass, Product, Tail
from hwbnn.ir.types import DBFMatrixVector

MAX_ALPHA_BITS = 16
DBF = "DBF layer (fixed +-1 bases, then integer combination)"
COMBINATION_OPS = frozenset({"MatMul", "Conv"})


def combination_of_basis(state: LoweringState, node: NodeProto) -> bool:
    """True for a MatMul/Conv reading a binary product's unquantized output: the combination
    of a DBF layer (any other MatMul/Conv reads a quantized activation)."""
    if node.op_type not in COMBINATION_OPS or len(state.data_inputs(node)) != 1:
        return False
    value = state.only_input(node)
    return isinstance(value, Tail) and isinstance(value.root, Product)


def basis_of_dbf(state: LoweringState, node: NodeProto) -> bool:
    """True for a MatMul/Conv whose only reader is a MatMul/Conv with multi-bit ``Quant``
    weights: the basis product of a DBF layer."""
    model = state.model
    if node.op_type not in COMBINATION_OPS:
        return False
    readers = model.find_consumers(node.output[0]) or []
    if len(readers) != 1 or readers[0].op_type not in COMBINATION_OPS:
        return False
    if len(readers[0].input) < 2:
        return False
    producer = model.find_producer(readers[0].input[1])
    return producer is not None and producer.op_type == "Quant"


class LowerDBFBasis(NodePass):
    """The basis product of a DBF layer, lowered by the ordinary pass ``inner``
    (:mod:`.lower_matmul`, :mod:`.lower_conv_to_window`); its errors say that the node is a
    DBF layer's basis."""

    def __init__(self, inner: NodePass) -> None:
        self.inner = inner
        self.op_types = inner.op_types

    def apply(self, state: LoweringState, node: NodeProto) -> None:
        try:
            self.inner.apply(state, node)
        except ModelError as exc:
            raise ModelError(
                f"{exc} ({node_label(node)} is the basis product of a {DBF}, which is lowered "
                f"as a binary product)"
            ) from None


def _quant_of(state: LoweringState, node: NodeProto) -> NodeProto:
    """The Quant node producing the combination's weights."""
    producer = state.model.find_producer(node.input[1])
    if producer is None or producer.op_type != "Quant":
        found = "an initializer" if producer is None else node_label(producer)
        raise ModelError(
            f"{node_label(node)}: reads a binary product's output directly, so it must be the "
            f"combination of a {DBF}, whose weights are a Quant node; they are {found}. "
            f"Otherwise quantize the product's output with a binary activation"
        )
    return producer


def combination_alpha(
    state: LoweringState, node: NodeProto, bases: int
) -> tuple[np.ndarray, np.ndarray]:
    """(integer alpha (MH, M), per-channel scales s_c (MH,) float32) of a DBF combination."""
    quant = _quant_of(state, node)
    model = state.model
    w = np.asarray(constant_value(model, node.input[1], node), dtype=np.float64)
    if node.op_type == "MatMul":
        if w.ndim != 2 or w.shape[0] != bases:
            raise ModelError(
                f"{node_label(node)}: {DBF} combination weights {w.shape}, expected ({bases}, C)"
            )
        w = w.T
    else:
        if node_attr(node, "group", 1) != 1 or spatial_ints(node, "dilations", 1) != [1, 1]:
            raise ModelError(f"{node_label(node)}: a {DBF} combination is a plain 1x1 Conv")
        if spatial_ints(node, "strides", 1) != [1, 1] or any(spatial_ints(node, "pads", 0, 4)):
            raise ModelError(
                f"{node_label(node)}: the 1x1 combination Conv of a {DBF} must have stride 1 "
                f"and no padding"
            )
        if w.ndim != 4 or w.shape[1:] != (bases, 1, 1):
            raise ModelError(
                f"{node_label(node)}: {DBF} combination weights {w.shape}, expected "
                f"(C, {bases}, 1, 1)"
            )
        w = w[:, :, 0, 0]
    mh = w.shape[0]
    scale = np.asarray(constant_value(model, quant.input[1], quant), dtype=np.float64)
    zero = np.asarray(constant_value(model, quant.input[2], quant))
    bits = np.asarray(constant_value(model, quant.input[3], quant)).reshape(-1)
    if np.any(zero != 0) or not int(node_attr(quant, "signed", 1)):
        raise ModelError(f"{node_label(quant)}: {DBF} alpha must be signed with zero point 0")
    if bits.size != 1 or bits[0] != int(bits[0]) or not 2 <= bits[0] <= MAX_ALPHA_BITS:
        raise ModelError(
            f"{node_label(quant)}: {DBF} alpha bit width {bits.tolist()} is not one integer "
            f"in [2, {MAX_ALPHA_BITS}]"
        )
    if scale.size not in (1, mh):
        raise ModelError(
            f"{node_label(quant)}: {DBF} alpha needs one scale per output channel, got shape "
            f"{scale.shape}"
        )
    s = np.broadcast_to(scale.reshape(-1), (mh,))
    if not np.all(s > 0) or np.any(np.frexp(s)[0] != 0.5):
        c = int(np.flatnonzero(~((s > 0) & (np.frexp(s)[0] == 0.5)))[0])
        raise ModelError(
            f"{node_label(quant)}: {DBF} alpha scale of channel {c} is {s[c]:g}, not a "
            f"positive power of two; train alpha with hwbnn.nn.dbf.alpha_quant (PoT scales)"
        )
    q = w / s[:, None]
    largest = 2 ** (int(bits[0]) - 1)
    if np.any(q != np.rint(q)) or np.any(np.abs(q) > largest):
        raise ModelError(
            f"{node_label(node)}: {DBF} alpha is not an integer of {int(bits[0])} bits times "
            f"its channel's scale"
        )
    return np.rint(q).astype(np.int64), s.astype(np.float32)


class LowerBasisCombination(NodePass):
    op_types = COMBINATION_OPS

    def apply(self, state: LoweringState, node: NodeProto) -> None:
        tail = state.only_input(node)
        assert isinstance(tail, Tail) and isinstance(tail.root, Product)
        basis = tail.root
        if tail.nodes or tail.side is not None:
            between = ", ".join(node_label(n) for n in tail.nodes) or "a shortcut add"
            raise ModelError(
                f"{node_label(node)}: reads the output of {node_label(basis.node)} through "
                f"{between}; the integer combination of a {DBF} must read its basis product "
                f"directly (otherwise quantize the product's output with a binary activation)"
            )
        if node.op_type == "Conv" and basis.out_image is None:
            raise ModelError(f"{node_label(node)}: a {DBF} 1x1 combination needs an image")
        if node.op_type == "MatMul" and basis.out_image is not None:
            raise ModelError(f"{node_label(node)}: a {DBF} dense combination reads a vector")
        if np.any(basis.factor != basis.factor[0]):
            raise ModelError(
                f"{node_label(basis.node)}: the bases of a {DBF} must share one scale, got "
                f"{np.unique(basis.factor)[:3].tolist()}"
            )
        alpha, s = combination_alpha(state, node, basis.mh)
        factor = (basis.factor[0] * s).astype(np.float32)
        state.bind(node.output[0], Tail(BasisProduct(node, basis, alpha, factor)))


def dbf_unit(
    name: str,
    root: BasisProduct,
    negate: np.ndarray | None = None,
    thresholds: np.ndarray | None = None,
    out_scale: np.ndarray | None = None,
    out_bias: np.ndarray | None = None,
) -> DBFMatrixVector:
    """The IR node of a lowered DBF layer (alpha rows of ``negate`` negated)."""
    basis = root.basis
    alpha = root.alpha if negate is None else np.where(negate[:, None], -root.alpha, root.alpha)
    try:
        return DBFMatrixVector(
            name,
            basis.weights,
            alpha,
            basis.in_bits,
            basis.in_levels,
            thresholds=thresholds,
            out_scale=out_scale,
            out_bias=out_bias,
            pixels=basis.pixels,
            inputs=(basis.source,),
        )
    except ValueError as exc:
        raise ModelError(f"{node_label(root.node)}: {DBF}: {exc}") from None
