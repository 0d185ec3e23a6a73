"""Read a cleaned QONNX graph as a linear chain of data-path nodes, and run pieces of it.

Tensors computed from initializers alone (weight quantizers, transposes) are *constant*; every
other tensor is on the data path, which must be a single chain from the graph input to the graph
output. Pieces of the graph are executed with qonnx ``execute_onnx`` (onnxruntime per node, qonnx's
own Python for Quant/BipolarQuant), the same engine as ladder level L1.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import NodeProto, TensorProto, helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.transformation.infer_shapes import InferShapes

from hwbnn.errors import ModelError

AFFINE_OPS = frozenset({"Mul", "Add", "Sub", "Div", "BatchNormalization"})
LAYOUT_OPS = frozenset({"Flatten", "Reshape", "Squeeze", "Unsqueeze", "Identity"})
# ops of static shape arithmetic, folded to constants before lowering (FoldShapeOps)
SHAPE_OPS = frozenset({"Shape", "Gather", "Concat", "Constant", "Cast", "Slice"})
SUPPORTED_OPS = AFFINE_OPS | LAYOUT_OPS | {"MatMul", "Gemm", "BipolarQuant", "Quant"}


def node_label(node: NodeProto) -> str:
    return f"node {node.name or '?'} ({node.op_type})"


def is_binary_quant(model: ModelWrapper, node: NodeProto) -> bool:
    """BipolarQuant, or Quant with bitwidth 1 and signed (qonnx executes it as sign)."""
    if node.op_type == "BipolarQuant":
        return True
    if node.op_type != "Quant":
        return False
    bits = model.get_initializer(node.input[3])
    signed = helper.get_node_attr_value(node, "signed") if _has_attr(node, "signed") else 1
    return bits is not None and float(np.asarray(bits).reshape(-1)[0]) == 1.0 and bool(signed)


def _has_attr(node: NodeProto, name: str) -> bool:
    return any(a.name == name for a in node.attribute)


def constant_tensors(model: ModelWrapper) -> set[str]:
    """Names of tensors computable from initializers alone."""
    const = {init.name for init in model.graph.initializer}
    for node in model.graph.node:  # graph nodes are topologically sorted
        if all(not name or name in const for name in node.input):
            const.update(node.output)
    return const


def data_chain(model: ModelWrapper) -> list[NodeProto]:
    """The data-path nodes from the graph input to the graph output, in order."""
    if len(model.graph.input) != 1 or len(model.graph.output) != 1:
        raise ModelError("hwbnn lowers graphs with exactly one input and one output")
    const = constant_tensors(model)
    tensor = model.graph.input[0].name
    chain: list[NodeProto] = []
    while tensor != model.graph.output[0].name:
        consumers = [n for n in model.graph.node if tensor in n.input]
        if len(consumers) != 1:
            what = "no consumer" if not consumers else f"{len(consumers)} consumers"
            raise ModelError(
                f"tensor {tensor} has {what}: hwbnn lowers a single chain of layers "
                f"(no branches or skip connections)"
            )
        node = consumers[0]
        data_inputs = [name for name in node.input if name and name not in const]
        if data_inputs != [tensor]:
            raise ModelError(f"{node_label(node)}: takes more than one non-constant input")
        if len(node.output) != 1:
            raise ModelError(f"{node_label(node)}: nodes with several outputs are not supported")
        chain.append(node)
        tensor = node.output[0]
    return chain


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
    return ModelWrapper(proto).transform(InferShapes())


def constant_value(model: ModelWrapper, tensor: str) -> np.ndarray:
    """Evaluate a constant tensor (an initializer or a chain of nodes over initializers)."""
    init = model.get_initializer(tensor)
    if init is not None:
        return np.asarray(init)
    piece = _submodel(model, _producers(model, tensor), [], tensor, model.get_tensor_shape(tensor))
    return np.asarray(execute_onnx(piece, {})[tensor])


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
    piece = _submodel(model, const_nodes + list(nodes), [inp], nodes[-1].output[0], out_shape)
    result = execute_onnx(piece, {source: np.ascontiguousarray(x, dtype=np.float32)})
    return np.asarray(result[nodes[-1].output[0]])
