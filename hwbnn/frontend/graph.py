"""Read the data-path nodes of a cleaned QONNX graph, and run pieces of it.

Tensors computed from initializers alone (weight quantizers, transposes) are *constant*; every
other tensor is on the data path, a DAG from the graph input to the graph output. Pieces of
the graph are executed with qonnx ``execute_onnx`` (onnxruntime per node, qonnx's
own Python for Quant/BipolarQuant), the same engine as ladder level L1; a piece the engine
cannot run (an op onnxruntime rejects at this opset, operands that do not broadcast) is a
ModelError naming its nodes, with the engine's message on one line.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import onnx
from onnx import NodeProto, TensorProto, helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.transformation.infer_shapes import InferShapes

from hwbnn.errors import ModelError
from hwbnn.frontend.limits import MAX_TENSOR_ELEMENTS

AFFINE_OPS = frozenset({"Mul", "Add", "Sub", "Div", "BatchNormalization"})
LAYOUT_OPS = frozenset({"Flatten", "Reshape", "Squeeze", "Unsqueeze", "Identity"})
# ops of static shape arithmetic, folded to constants before lowering (FoldShapeOps)
SHAPE_OPS = frozenset({"Shape", "Gather", "Concat", "Constant", "Cast", "Slice"})
# ops of convolutional networks (hwbnn.frontend.lower_conv)
IMAGE_OPS = frozenset({"Conv", "Pad", "MaxPool", "AveragePool"})
SUPPORTED_OPS = AFFINE_OPS | LAYOUT_OPS | IMAGE_OPS | {"MatMul", "Gemm", "BipolarQuant", "Quant"}


def node_label(node: NodeProto) -> str:
    return f"node {node.name or '?'} ({node.op_type})"


def one_line(exc: BaseException | str, limit: int = 300) -> str:
    """An exception (or text) as one line of at most ``limit`` characters: engines' messages
    (onnxruntime, onnx's checker) span lines and quote C++ signatures."""
    text = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _execute(
    piece: Callable[[], ModelWrapper],
    inputs: dict[str, np.ndarray],
    nodes: list[NodeProto],
    output: str,
) -> np.ndarray:
    """Build a piece and run it with execute_onnx; a ModelError naming ``nodes`` when the engine
    cannot (the model is malformed in a way only the engine sees)."""
    try:
        return np.asarray(execute_onnx(piece(), inputs)[output])
    except ModelError:
        raise
    except Exception as exc:  # onnxruntime, onnx and qonnx raise many exception types
        names = ", ".join(node_label(n) for n in nodes[-2:]) or output
        raise ModelError(f"{names}: onnxruntime cannot evaluate it: {one_line(exc)}") from None


def node_attr(node: NodeProto, name: str, default: Any = None) -> Any:
    """The value of ONNX attribute ``name`` of ``node`` (ints, floats, strings as bytes,
    lists), or ``default`` when the node has none: the one reader of ONNX attributes."""
    for attr in node.attribute:
        if attr.name == name:
            return helper.get_attribute_value(attr)
    return default


def is_binary_quant(model: ModelWrapper, node: NodeProto) -> bool:
    """BipolarQuant, or Quant with bitwidth 1 and signed (qonnx executes it as sign)."""
    if node.op_type == "BipolarQuant":
        return True
    if node.op_type != "Quant":
        return False
    if len(node.input) < 4:
        raise ModelError(f"{node_label(node)}: Quant needs 4 inputs (x, scale, zero, bits)")
    bits = model.get_initializer(node.input[3])
    signed = node_attr(node, "signed", 1)
    if bits is None or np.asarray(bits).size != 1:
        return False
    return float(np.asarray(bits).reshape(-1)[0]) == 1.0 and bool(signed)


def binary_matrix(node: NodeProto, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bool weights (MH, MW), per-channel magnitudes (MH,)) of a (MW, MH) weight matrix whose
    column (output channel) ``c`` holds only ``+-s_c``; an error naming the node otherwise."""
    if w.size == 0:
        raise ModelError(f"{node_label(node)}: the weight matrix {w.shape} is empty")
    mag = np.abs(w)
    scale = mag[0]
    bad = np.flatnonzero(np.any(mag != scale[None, :], axis=0) | (scale == 0))
    if bad.size:
        c = int(bad[0])
        distinct = np.unique(w[:, c])
        raise ModelError(
            f"{node_label(node)}: weights are not binary-quantized (output channel {c} has "
            f"{distinct.size} distinct values, e.g. {distinct[:3].tolist()}); quantize them "
            f"with a 1-bit weight quantizer (BipolarQuant or Quant bitwidth=1)"
        )
    return (w.T > 0), scale


def constant_tensors(model: ModelWrapper) -> set[str]:
    """Names of tensors computable from initializers alone."""
    const = {init.name for init in model.graph.initializer}
    for node in model.graph.node:  # graph nodes are topologically sorted
        if all(not name or name in const for name in node.input):
            const.update(node.output)
    return const


def data_graph(model: ModelWrapper) -> tuple[list[NodeProto], dict[str, int]]:
    """The data-path nodes in topological order (every node reachable from the graph input
    that the graph output depends on) and, per data tensor, how many of them read it.

    Errors: several graph inputs/outputs, a node with several outputs, a data node whose
    output nobody reads (a dead branch), a graph output that does not depend on the input."""
    if len(model.graph.input) != 1 or len(model.graph.output) != 1:
        raise ModelError("hwbnn lowers graphs with exactly one input and one output")
    const = constant_tensors(model)
    data = {model.graph.input[0].name}
    nodes: list[NodeProto] = []
    for node in model.graph.node:  # topologically sorted
        if not any(name in data for name in node.input if name and name not in const):
            continue
        if len(node.output) != 1:
            raise ModelError(f"{node_label(node)}: nodes with several outputs are not supported")
        nodes.append(node)
        data.add(node.output[0])
    output = model.graph.output[0].name
    if output not in data:
        raise ModelError(f"graph output {output} does not depend on the graph input")
    readers: dict[str, int] = {}
    for node in nodes:
        for name in dict.fromkeys(n for n in node.input if n in data):
            readers[name] = readers.get(name, 0) + 1
    for node in nodes:
        if node.output[0] != output and not readers.get(node.output[0]):
            raise ModelError(f"{node_label(node)}: its output is not used by the graph")
    return nodes, readers


def _producers(model: ModelWrapper, tensor: str) -> list[NodeProto]:
    """The nodes computing ``tensor`` from initializers, in topological order."""
    wanted, nodes = {tensor}, []
    for node in reversed(list(model.graph.node)):
        if wanted.intersection(node.output):
            nodes.append(node)
            wanted.update(i for i in node.input if i)
    return list(reversed(nodes))


def _submodel(
    model: ModelWrapper,
    nodes: list[NodeProto],
    inputs: list[onnx.ValueInfoProto],
    output: str,
    output_shape: list[int] | None,
) -> ModelWrapper:
    used = {name for node in nodes for name in node.input}
    inits = [init for init in model.graph.initializer if init.name in used]
    out = helper.make_tensor_value_info(output, TensorProto.FLOAT, output_shape)
    graph = helper.make_graph(list(nodes), "piece", inputs, [out], initializer=inits)
    proto = helper.make_model(graph, opset_imports=list(model.model.opset_import))
    proto.ir_version = model.model.ir_version
    piece = ModelWrapper(proto).transform(InferShapes())
    for node in nodes:  # what the engine will allocate, before it does
        shape = piece.get_tensor_shape(node.output[0])
        if shape and math.prod(shape) > MAX_TENSOR_ELEMENTS:
            raise ModelError(
                f"{node_label(node)}: evaluating it makes a tensor of shape {shape}, more "
                f"than {MAX_TENSOR_ELEMENTS} elements"
            )
    return piece


def constant_scalar(model: ModelWrapper, tensor: str, node: NodeProto, what: str) -> float:
    """The value of a one-element constant (a bit width, a pad value) ``node`` reads."""
    value = np.asarray(constant_value(model, tensor, node))
    if value.size != 1:
        raise ModelError(f"{node_label(node)}: {what} must be one number, got shape {value.shape}")
    return float(value.reshape(-1)[0])


def constant_value(model: ModelWrapper, tensor: str, node: NodeProto | None = None) -> np.ndarray:
    """Evaluate a constant tensor (an initializer or a chain of nodes over initializers) that
    ``node`` reads; an error naming the node when it depends on the graph input."""
    init = model.get_initializer(tensor)
    if init is not None:
        return np.asarray(init)
    if tensor not in constant_tensors(model):
        where = node_label(node) if node is not None else f"tensor {tensor}"
        raise ModelError(
            f"{where}: {tensor} must be a constant (weights, scales, parameters) but depends on "
            f"the model input; are the node's inputs in the wrong order?"
        )
    nodes = _producers(model, tensor)
    shape = model.get_tensor_shape(tensor)
    return _execute(lambda: _submodel(model, nodes, [], tensor, shape), {}, nodes, tensor)


def run_piece(
    model: ModelWrapper,
    nodes: list[NodeProto],
    source: str,
    x: np.ndarray,
    out_shape: list[int] | None = None,
) -> np.ndarray:
    """Run ``nodes`` (a piece of the data chain starting at tensor ``source``) on ``x``.

    Constant inputs of the nodes come along; the input's shape is ``x.shape``; the output's
    shape is ``out_shape``, by default the shape the model gives that tensor.
    """
    if out_shape is None:
        out_shape = model.get_tensor_shape(nodes[-1].output[0])
    const_nodes: list[NodeProto] = []
    internal = {source} | {name for node in nodes for name in node.output}
    for node in nodes:
        for name in node.input:
            if name and name not in internal and model.get_initializer(name) is None:
                const_nodes += [n for n in _producers(model, name) if n not in const_nodes]
    inp = helper.make_tensor_value_info(source, TensorProto.FLOAT, list(x.shape))
    output = nodes[-1].output[0]
    return _execute(
        lambda: _submodel(model, const_nodes + list(nodes), [inp], output, out_shape),
        {source: np.ascontiguousarray(x, dtype=np.float32)},
        list(nodes),
        output,
    )


def _rewire(nodes: list[NodeProto], source: str) -> list[NodeProto]:
    """Copies of the affine/quant nodes of a chain piece with layout and pool nodes cut out."""
    out, tensor = [], source
    for node in nodes:
        if node.op_type in LAYOUT_OPS or node.op_type == "MaxPool":
            continue
        clone = copy.deepcopy(node)
        data_index = [i for i, name in enumerate(clone.input) if name == node.input[0]]
        clone.input[data_index[0] if data_index else 0] = tensor
        out.append(clone)
        tensor = clone.output[0]
    return out


def _flatten_constants(model: ModelWrapper, nodes: list[NodeProto], channels: int) -> None:
    """Give the constant operands of elementwise ops shape () or (channels,), so the piece runs
    on (m, channels) inputs; a constant of any other size is an error."""
    for node in nodes:
        if node.op_type not in ("Mul", "Add", "Sub", "Div"):
            continue
        for name in node.input:
            value = model.get_initializer(name)
            if value is None:
                continue
            size = int(np.asarray(value).size)
            if size not in (1, channels):
                raise ModelError(
                    f"{node_label(node)}: constant of {size} elements does not match "
                    f"{channels} channels"
                )
            shape = () if size == 1 else (channels,)
            model.set_initializer(name, np.asarray(value, dtype=np.float32).reshape(shape))


def channel_function(
    model: ModelWrapper, nodes: list[NodeProto], source: str, channels: int
) -> Callable[[np.ndarray], np.ndarray]:
    """The per-channel ops of a chain piece after a product (tensor ``source``) as a function
    of (m, channels) rows; layout and pool nodes are cut out (they do not act per channel)."""
    piece = _rewire(nodes, source)
    if not piece:
        return lambda x: x
    _flatten_constants(model, piece, channels)
    return lambda x: run_piece(model, piece, source, x, list(x.shape))
