"""Lower a binary QONNX model to the hardware IR (:mod:`hwbnn.ir.types`).

:func:`prepare` normalises the graph (qonnx clean-up and the ONNX rewrites of
:mod:`hwbnn.frontend.passes`); :func:`lower` then walks its data-path nodes in topological order
and hands each to the lowering pass for its op (:data:`NODE_PASSES`), sharing one
:class:`~hwbnn.frontend.state.LoweringState`:

    input -> [affine | layout]* -> input quantizer                      (ExtractInputStage)
    [layout | MaxPool]* [Pad] (MatMul | Conv)      (LowerLayout, LowerMaxPool, LowerConvToWindow,
                                                    LowerMatMul)
    [Pad(-1)] AveragePool -> [affine | layout]* -> binary quantizer     (LowerAveragePool: a
                                                    MajorityPool)
      [-> MatMul | 1x1 Conv of integer alpha]      (LowerBasisCombination: a DBF layer)
    -> [CI-BCNN interaction]                        (CollapseInteractions, LowerInteraction)
    -> [affine | layout | MaxPool | Add]* -> quantizer                  (LowerAffine, LowerAdd,
                                                    LowerActivation: AbsorbAffineIntoThresholds,
                                                    NegateDecreasingChannels,
                                                    MovePoolBehindThreshold)
    ... -> MatMul -> [affine | layout]* -> output                        (ExtractOutputAffine)

with a :class:`Fork` wherever a quantized tensor is read by several nodes (InsertForks), an
:class:`AddJoin` or a side-input :class:`Threshold` for residual adds (LowerAdd) and a
:class:`Concat` for channel concatenation (LowerConcat). Each pass states its contract in
its module docstring.

- input quantizer: a binary quantizer (binarized input, becomes :class:`InputThreshold`) or an
  unsigned multi-bit Quant (integer input; it must map the input codes 1:1 to integers).
- every MatMul/Conv weight must be binary: +-s_c per output channel (BipolarQuant, Quant with
  bitwidth 1, or a plain +-s initializer), possibly transposed.
- images travel in stream order (pixels in raster order, channel innermost): input thresholds
  and the columns of a dense layer after an image are permuted from ONNX's (C, H, W) order.

Float scales: a product is evaluated as ``acc * s_in * s_c`` in float32; this is exact (and the
IR equals L1 bit for bit) when scales are powers of two, as in hwbnn's own models.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import onnx
from onnx import NodeProto
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.fold_constants import FoldConstants
from qonnx.transformation.infer_shapes import InferShapes

from hwbnn.data import code_values
from hwbnn.errors import ModelError
from hwbnn.export.qonnx_export import INPUT_LEVELS_KEY, clean_qonnx
from hwbnn.frontend.graph import SHAPE_OPS, SUPPORTED_OPS, data_graph, node_label, one_line
from hwbnn.frontend.limits import MAX_INPUT_LEVELS
from hwbnn.frontend.passes import (
    CollapseInteractions,
    ConvertGemmToMatMul,
    DeferPad,
    DuplicateSharedPad,
    ExtractInputStage,
    ExtractOutputAffine,
    FoldShapeOps,
    InsertForks,
    LowerActivation,
    LowerAdd,
    LowerAffine,
    LowerAveragePool,
    LowerBasisCombination,
    LowerConcat,
    LowerConvToWindow,
    LowerInteraction,
    LowerLayout,
    LowerMatMul,
    LowerMaxPool,
    SplitConvBias,
)
from hwbnn.frontend.passes.collapse_interactions import INTERACTION_OP
from hwbnn.frontend.passes.lower_basis_combination import (
    LowerDBFBasis,
    basis_of_dbf,
    combination_of_basis,
)
from hwbnn.frontend.state import LoweringState, NodePass
from hwbnn.frontend.validate import check_data_shapes, check_parameters, validate_model
from hwbnn.ir.types import InputFormat, Network

DEFAULT_INPUT_LEVELS = 256

NODE_PASSES: tuple[NodePass, ...] = (
    LowerLayout(),
    LowerAffine(),
    LowerMaxPool(),
    LowerAveragePool(),
    DeferPad(),
    LowerConvToWindow(),
    LowerMatMul(),
    LowerActivation(),
    LowerConcat(),
    LowerInteraction(),
)
JOIN_ADD = LowerAdd()  # an Add of two data tensors (an Add of a constant is LowerAffine's)
COMBINE = LowerBasisCombination()  # a MatMul/Conv reading a product: a DBF layer's combination


@dataclass(frozen=True)
class InputSpec:
    """How the float inputs of a model map to hardware codes, when the model does not say."""

    levels: int | None = None
    low: float = 0.0
    high: float = 1.0


def prepare(model: ModelWrapper) -> ModelWrapper:
    """The checks of :mod:`hwbnn.frontend.validate`, qonnx clean-up, CI-BCNN interaction
    layers collapsed (CollapseInteractions), then shape folding, Gemm -> MatMul, shapes and
    constant folding, and one ``Pad`` per reader of a shared pad (DuplicateSharedPad).
    ``model`` is not modified."""
    proto = onnx.ModelProto.FromString(model.model.SerializeToString())
    validate_model(proto)
    model = clean_qonnx(ModelWrapper(proto)).transform(CollapseInteractions())
    for node in model.graph.node:
        if node.op_type not in SUPPORTED_OPS | SHAPE_OPS | {INTERACTION_OP}:
            raise ModelError(
                f"{node_label(node)}: unsupported op; hwbnn lowers MatMul/Gemm, Conv, Pad, "
                f"MaxPool, AveragePool, BatchNormalization, Mul/Add/Sub/Div, Flatten/Reshape, "
                f"Concat, BipolarQuant and Quant"
            )
    try:
        model = model.transform(FoldShapeOps())
        model = model.transform(FoldConstants(exclude_op_types=["Quant", "BipolarQuant"]))
        model = model.transform(ConvertGemmToMatMul()).transform(InferShapes())
        model = model.transform(FoldConstants(exclude_op_types=["Quant", "BipolarQuant"]))
        return model.transform(DuplicateSharedPad()).transform(InferShapes())
    except ModelError:
        raise
    except Exception as exc:  # qonnx transformations raise many exception types
        raise ModelError(f"graph normalisation failed: {one_line(exc)}") from None


def input_levels(model: ModelWrapper, spec: InputSpec) -> int:
    """The number of input codes: ``spec.levels`` (``--input-levels``), else the model's
    ``hwbnn.input_levels`` metadata (hwbnn's exporter writes it), else 256; an integer in
    ``[2, MAX_INPUT_LEVELS]``."""
    if spec.levels is not None:
        levels, where = spec.levels, "--input-levels"
    else:
        given = [p.value for p in model.model.metadata_props if p.key == INPUT_LEVELS_KEY]
        if not given:
            return DEFAULT_INPUT_LEVELS
        if len(given) > 1 or not re.fullmatch(r"[0-9]{1,9}", given[0]):
            raise ModelError(
                f"metadata {INPUT_LEVELS_KEY} = {', '.join(repr(v[:20]) for v in given)} is not "
                f"one integer; re-export the model, or give --input-levels"
            )
        levels, where = int(given[0]), f"metadata {INPUT_LEVELS_KEY}"
    if not 2 <= levels <= MAX_INPUT_LEVELS:
        raise ModelError(
            f"{where} = {levels}: the input needs 2 to {MAX_INPUT_LEVELS} levels (codes of up "
            f"to 10 bits); re-export the model, or give --input-levels"
        )
    return levels


def input_format(model: ModelWrapper, spec: InputSpec) -> InputFormat:
    shape = model.get_tensor_shape(model.graph.input[0].name)
    if shape is None or len(shape) < 2:
        raise ModelError("model input must have a batch dimension and a known shape")
    levels = input_levels(model, spec)
    try:
        return InputFormat(
            tuple(int(d) for d in shape[1:]), code_values(levels, spec.low, spec.high)
        )
    except ValueError as exc:
        raise ModelError(
            f"input format of {levels} levels in [{spec.low}, {spec.high}]: {exc}"
        ) from None


def _node_pass(state: LoweringState, node: NodeProto) -> NodePass:
    """The pass lowering ``node``: by op, and an Add of two data tensors is a join."""
    op = node.op_type
    if op in ("Add", "Sub", "Mul", "Div") and len(state.data_inputs(node)) > 1:
        if op != "Add":
            raise ModelError(f"{node_label(node)}: {op} of two data tensors is not supported")
        return JOIN_ADD
    if combination_of_basis(state, node):
        return COMBINE
    for candidate in NODE_PASSES:
        if op in candidate.op_types:
            return LowerDBFBasis(candidate) if basis_of_dbf(state, node) else candidate
    raise ModelError(f"{node_label(node)}: unsupported op on the data path")


def lower_graph(model: ModelWrapper, fmt: InputFormat) -> Network:
    """Lower a prepared model: the input stage, every data-path node in topological order
    (forks inserted after each), then the output layer."""
    nodes, readers = data_graph(model)
    check_data_shapes(model, nodes)
    check_parameters(model)
    state = LoweringState(model, fmt, readers)
    forks = InsertForks()
    rest = ExtractInputStage().apply(state, nodes)
    forks.apply(state)
    for node in rest:
        _node_pass(state, node).apply(state, node)
        forks.apply(state)
    ExtractOutputAffine().apply(state)
    try:
        return Network(fmt, tuple(state.layers))
    except ValueError as exc:
        raise ModelError(f"lowered network is inconsistent: {exc}") from None


def lower(model: ModelWrapper, spec: InputSpec | None = None, source: str = "") -> Network:
    """Lower a binary QONNX model to a validated :class:`Network`; a ModelError otherwise,
    starting with ``source`` (the model's file) when one is given."""
    try:
        prepared = prepare(model)
        fmt = input_format(prepared, spec or InputSpec())
        try:
            prepared = prepared.transform(SplitConvBias()).transform(InferShapes())
        except ModelError:
            raise
        except Exception as exc:  # qonnx transformations raise many exception types
            raise ModelError(f"graph normalisation failed: {one_line(exc)}") from None
        net = lower_graph(prepared, fmt)
    except ModelError as exc:
        if source and not str(exc).startswith(source):
            raise ModelError(f"{source}: {exc}") from None
        raise
    return Network(net.input, net.layers, source)


def lower_file(path: Path, spec: InputSpec | None = None) -> Network:
    from hwbnn.frontend.load import load_model

    return lower(load_model(path).model, spec, str(path))
