"""ValidateModel: the checks an ONNX model passes before qonnx or onnxruntime run any of it.

hwbnn compiles files that others made. qonnx and onnxruntime trust their input: a tensor
written by two nodes makes qonnx assert, a missing input is silently read as zeros, a cycle
or a huge dimension makes the clean-up loop or allocate what the shapes say. So the model is
checked first, each failure a :class:`~hwbnn.errors.ModelError` naming the node or tensor:

- text: every string field (names, op types, metadata) valid UTF-8;
- versions: IR version 3..``onnx.IR_VERSION``, one ``ai.onnx`` opset in
  ``MIN_OPSET..onnx.defs.onnx_opset_version()``;
- ops: the ops hwbnn lowers or folds (``ALLOWED_OPS``, with the comparisons of CI-BCNN
  interaction steps, which lowering recognises or names), in the default domain, and the qonnx
  quantizers in the domains exporters have used (put into qonnx's domain here, the one change
  besides the node order); no control flow (subgraphs), no sparse tensors;
- graph: one graph input (float, batch 1 or symbolic, every other dimension known) and one
  graph output; every tensor written once (by the graph input, an initializer or one node),
  every node input defined, no cycle (nodes out of order are sorted); then the ONNX checker
  on every node (attributes against the op schemas);
- sizes: every initializer holds as many values as its dimensions say, and every declared or
  inferred tensor shape has at most ``MAX_TENSOR_ELEMENTS`` elements (:mod:`.limits`).
  Shapes are inferred by ONNX (no data computed) with each quantizer standing in as a
  broadcasting ``Sum`` of its inputs; a tensor computed from constants alone must get a known
  shape, since constant folding would allocate it whatever its size.

:func:`check_data_shapes` repeats the size check on the prepared graph's data path, and
:func:`check_parameters` checks its parameters' values (finite, BatchNorm variances positive).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable

import numpy as np
import onnx
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from onnx import AttributeProto, NodeProto, TensorProto, numpy_helper, shape_inference
from qonnx.core.modelwrapper import ModelWrapper

from hwbnn.errors import ModelError
from hwbnn.export.ci_bcnn import COMPARISON_OPS
from hwbnn.export.qonnx_export import LEGACY_QUANT_DOMAINS, normalize_quant_domains
from hwbnn.frontend.graph import SHAPE_OPS, SUPPORTED_OPS, node_attr, node_label, one_line
from hwbnn.frontend.limits import MAX_TENSOR_ELEMENTS

MIN_OPSET = 7  # the oldest ai.onnx opset onnxruntime guarantees
QUANT_OPS = frozenset({"Quant", "BipolarQuant", "Trunc"})
#: ops that only compute constants (weight transposes, pad values), folded away by the clean-up
FOLDED_OPS = frozenset({"Transpose", "ConstantOfShape"})
#: the ternary comparisons of CI-BCNN interaction layers (collapsed by CollapseInteractions)
ALLOWED_OPS = SUPPORTED_OPS | SHAPE_OPS | FOLDED_OPS | frozenset(COMPARISON_OPS)
DEFAULT_DOMAINS = ("", "ai.onnx")
#: the types of the qonnx quantizers' attributes
QUANT_ATTRS = {
    "signed": AttributeProto.INT,
    "narrow": AttributeProto.INT,
    "rounding_mode": AttributeProto.STRING,
}
SUBGRAPH_ATTRS = (AttributeProto.GRAPH, AttributeProto.GRAPHS)
SPARSE_ATTRS = (AttributeProto.SPARSE_TENSOR, AttributeProto.SPARSE_TENSORS)


def validate_model(proto: onnx.ModelProto) -> None:
    """Check ``proto`` (see the module docstring) before anything wraps or runs it (qonnx's
    ModelWrapper already asserts on duplicate declarations); sorts its nodes and sets the
    quantizers' domain in place, changes nothing else."""
    _check_text(proto, "model")
    _check_versions(proto)
    for node in proto.graph.node:
        _check_node(node)
    normalize_quant_domains(proto)  # their domains were checked by _check_node
    for init in proto.graph.initializer:
        check_tensor(init, f"initializer {init.name}")
    if len(proto.graph.sparse_initializer):
        raise ModelError("sparse initializers are not supported; store them as dense tensors")
    _check_graph_io(proto.graph)
    sort_nodes(proto.graph)
    context = onnx.checker.C.CheckerContext()
    context.ir_version = proto.ir_version
    context.opset_imports = {op.domain: op.version for op in proto.opset_import}
    for node in proto.graph.node:  # the checker's graph checks want shapes on every output
        try:
            onnx.checker.check_node(node, context)
        except Exception as exc:  # ValidationError, and the checker's own failures
            raise ModelError(f"{node_label(node)}: invalid node: {one_line(exc)}") from None
    _check_inferred_shapes(proto)


def _check_text(message: Message, where: str) -> None:
    """Every string field of ``message`` (names, op types, metadata) is text: protobuf hands
    over a string that is not UTF-8 as bytes, which no later step expects."""
    for field, value in message.ListFields():
        name = f"{where}.{field.name}"
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            for item in value if _repeated(field) else [value]:
                _check_text(item, name)
        elif field.type == FieldDescriptor.TYPE_STRING:
            items = value if _repeated(field) else [value]
            if not all(isinstance(item, str) for item in items):
                raise ModelError(f"{name}: text that is not UTF-8 (a damaged file?)")


def _repeated(field: FieldDescriptor) -> bool:
    flag = getattr(field, "is_repeated", None)  # protobuf >= 6; older ones have the label
    if flag is None:
        return bool(getattr(field, "label", 0) == FieldDescriptor.LABEL_REPEATED)
    return bool(flag)


def _check_versions(proto: onnx.ModelProto) -> None:
    if not 3 <= proto.ir_version <= onnx.IR_VERSION:
        raise ModelError(
            f"ONNX IR version {proto.ir_version} is not supported (hwbnn reads 3 to "
            f"{onnx.IR_VERSION}); re-export the model"
        )
    default = [op for op in proto.opset_import if op.domain in DEFAULT_DOMAINS]
    newest = onnx.defs.onnx_opset_version()
    if len(default) != 1 or not MIN_OPSET <= default[0].version <= newest:
        found = ", ".join(str(op.version) for op in default) or "none"
        raise ModelError(
            f"the model's ai.onnx opset ({found}) is not supported: hwbnn reads opsets "
            f"{MIN_OPSET} to {newest}; convert it with onnx.version_converter or re-export it"
        )
    domains = [op.domain for op in proto.opset_import]
    if len(set(domains)) != len(domains):
        raise ModelError(f"an opset domain is imported twice: {domains}")


def _check_node(node: NodeProto) -> None:
    op, domain = node.op_type, node.domain
    if op in QUANT_OPS:
        if domain not in LEGACY_QUANT_DOMAINS:
            raise ModelError(f"{node_label(node)}: {op} in unknown domain {domain!r}")
    elif domain not in DEFAULT_DOMAINS:
        raise ModelError(f"{node_label(node)}: ops of domain {domain!r} are not supported")
    if op not in ALLOWED_OPS:
        raise ModelError(
            f"{node_label(node)}: unsupported op; hwbnn lowers MatMul/Gemm, Conv, Pad, "
            f"MaxPool, AveragePool, BatchNormalization, Mul/Add/Sub/Div, Flatten/Reshape, Concat, "
            f"BipolarQuant and Quant"
        )
    if not node.output or not node.output[0] or any(node.output[1:]):
        raise ModelError(f"{node_label(node)}: needs exactly one output, has {list(node.output)}")
    for attr in node.attribute:  # the checker knows the standard ops' attributes, not these
        expected = QUANT_ATTRS.get(attr.name) if op in QUANT_OPS else None
        if expected is not None and attr.type != expected:
            raise ModelError(
                f"{node_label(node)}: attribute {attr.name} must be of type "
                f"{AttributeProto.AttributeType.Name(expected)}"
            )
    for attr in node.attribute:
        if attr.type in SUBGRAPH_ATTRS or attr.HasField("g") or len(attr.graphs):
            raise ModelError(f"{node_label(node)}: control flow (subgraphs) is not supported")
        if attr.type in SPARSE_ATTRS or attr.HasField("sparse_tensor"):
            raise ModelError(f"{node_label(node)}: sparse tensors are not supported")
        tensors = [attr.t] if attr.HasField("t") else []
        for tensor in [*tensors, *attr.tensors]:
            check_tensor(tensor, f"{node_label(node)}: attribute {attr.name}")


def _elements(dims: Iterable[int]) -> int:
    return math.prod(int(d) for d in dims)


def check_tensor(tensor: TensorProto, what: str) -> None:
    """A dense numeric tensor stored in the model, whose values fill its dimensions."""
    if tensor.data_location == TensorProto.EXTERNAL:
        raise ModelError(f"{what}: its data is stored externally and was not loaded")
    dims = list(tensor.dims)
    if any(d < 0 for d in dims) or _elements(dims) > MAX_TENSOR_ELEMENTS:
        raise ModelError(
            f"{what}: dimensions {dims} are negative or exceed {MAX_TENSOR_ELEMENTS} elements"
        )
    if tensor.data_type in (TensorProto.STRING, TensorProto.UNDEFINED):
        raise ModelError(f"{what}: element type {tensor.data_type} is not numeric")
    try:
        size = numpy_helper.to_array(tensor).size
    except Exception as exc:  # onnx's decoding of malformed data: many exception types
        raise ModelError(f"{what}: unreadable data ({one_line(exc)})") from None
    if size != _elements(dims):
        raise ModelError(f"{what}: holds {size} values for dimensions {dims}")


def _shape(info: onnx.ValueInfoProto) -> list[int | None] | None:
    """The dimensions of a declared tensor (None for an unknown one), or None without a shape."""
    tensor_type = info.type.tensor_type
    if not tensor_type.HasField("shape"):
        return None
    return [d.dim_value if d.HasField("dim_value") else None for d in tensor_type.shape.dim]


def _check_size(name: str, dims: list[int | None] | None) -> None:
    if dims is None:
        return
    known = [d for d in dims if d is not None]
    if any(d < 0 for d in known) or _elements(known) > MAX_TENSOR_ELEMENTS:
        raise ModelError(
            f"tensor {name}: shape {dims} is negative or exceeds {MAX_TENSOR_ELEMENTS} "
            f"elements; hwbnn refuses tensors that large"
        )


def _check_graph_io(graph: onnx.GraphProto) -> None:
    inits = [init.name for init in graph.initializer]
    if len(set(inits)) != len(inits):
        raise ModelError("two initializers have the same name")
    inputs = [v for v in graph.input if v.name not in set(inits)]  # old IRs list initializers
    if len(inputs) != 1 or len(graph.output) != 1:
        raise ModelError(
            f"hwbnn lowers graphs with exactly one input and one output; this one has inputs "
            f"{[v.name for v in inputs]} and outputs {[v.name for v in graph.output]}"
        )
    declared = [v.name for v in [*graph.input, *graph.output, *graph.value_info]]
    twice = sorted({n for n in declared if declared.count(n) > 1})
    if twice:
        raise ModelError(f"tensor {twice[0]} is declared twice (graph inputs/outputs/value_info)")
    source = inputs[0]
    dims = _shape(source)
    elem = source.type.tensor_type.elem_type
    if elem != TensorProto.FLOAT or graph.output[0].type.tensor_type.elem_type != TensorProto.FLOAT:
        raise ModelError("the graph input and output must be float tensors (element type FLOAT)")
    if dims is None or len(dims) < 2 or any(d is None or d < 1 for d in dims[1:]):
        raise ModelError(
            f"graph input {source.name}: needs a known shape (batch, ...) with positive "
            f"dimensions, got {dims}"
        )
    if dims[0] not in (None, 1):
        raise ModelError(f"graph input {source.name}: batch size {dims[0]}; export with batch 1")
    for info in [*graph.input, *graph.output, *graph.value_info]:
        _check_size(info.name, _shape(info))
    writers = {source.name: "the graph input", **{name: "an initializer" for name in inits}}
    computed = set()
    for node in graph.node:
        out = node.output[0]
        if out in writers:
            raise ModelError(f"{node_label(node)}: writes {out}, which {writers[out]} writes too")
        writers[out] = node_label(node)
        computed.add(out)
    for node in graph.node:
        for name in node.input:
            if name and name not in writers:
                raise ModelError(f"{node_label(node)}: reads {name}, which nothing writes")
    if graph.output[0].name not in computed:
        raise ModelError(f"graph output {graph.output[0].name} is not computed by a node")


def sort_nodes(graph: onnx.GraphProto) -> None:
    """Order the nodes topologically (stable: keeps the given order where it is one); a cycle
    is an error naming a node on it. Needs every tensor written once (_check_graph_io)."""
    nodes = list(graph.node)
    writer = {node.output[0]: i for i, node in enumerate(nodes)}
    waiting = [{writer[n] for n in node.input if n in writer} for node in nodes]
    readers: list[list[int]] = [[] for _ in nodes]
    for i, deps in enumerate(waiting):
        for d in deps:
            readers[d].append(i)
    ready = [i for i, deps in enumerate(waiting) if not deps]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for r in readers[i]:
            waiting[r].discard(i)
            if not waiting[r]:
                heapq.heappush(ready, r)
    if len(order) != len(nodes):
        stuck = next(i for i, deps in enumerate(waiting) if deps)
        raise ModelError(f"{node_label(nodes[stuck])}: lies on a cycle of the graph")
    if order != list(range(len(nodes))):
        del graph.node[:]
        graph.node.extend(nodes[i] for i in order)


def _inference_copy(proto: onnx.ModelProto) -> onnx.ModelProto:
    """A copy for ONNX shape inference: no declared intermediate shapes, every quantizer (a
    custom op ONNX does not know) replaced by ``Sum`` (its broadcast shape)."""
    copy = onnx.ModelProto()
    copy.CopyFrom(proto)
    del copy.graph.value_info[:]
    for node in copy.graph.node:
        if node.op_type in QUANT_OPS:
            inputs, output = [n for n in node.input if n], node.output[0]
            node.Clear()
            node.op_type = "Sum"
            node.input.extend(inputs)
            node.output.append(output)
    return copy


def _check_inferred_shapes(proto: onnx.ModelProto) -> None:
    try:
        inferred = shape_inference.infer_shapes(
            _inference_copy(proto), check_type=False, strict_mode=False, data_prop=True
        )
    except Exception as exc:  # InferenceError and onnx's other failures
        raise ModelError(f"ONNX shape inference failed: {one_line(exc)}") from None
    graph = inferred.graph
    shapes = {v.name: _shape(v) for v in [*graph.value_info, *graph.output, *graph.input]}
    constant = {init.name for init in graph.initializer}
    for node in graph.node:
        out = node.output[0]
        if all(name in constant for name in node.input if name):
            constant.add(out)
            dims = shapes.get(out)
            if dims is None or None in dims:
                raise ModelError(
                    f"{node_label(node)}: the size of the constant {out} cannot be inferred; "
                    f"fold it into an initializer"
                )
        _check_size(out, shapes.get(out))


def check_data_shapes(model: ModelWrapper, nodes: list[NodeProto]) -> None:
    """Every data-path tensor of a prepared model whose shape is known now (the clean-up folds
    shape computations) stays within the bound; pieces run later are checked as they are
    built (:func:`hwbnn.frontend.graph.run_piece`)."""
    for node in nodes:
        out = node.output[0]
        shape = model.get_tensor_shape(out)
        if shape and int(np.prod(shape, dtype=np.float64)) > MAX_TENSOR_ELEMENTS:
            raise ModelError(
                f"{node_label(node)}: {out} has shape {shape}, more than "
                f"{MAX_TENSOR_ELEMENTS} elements"
            )


def check_parameters(model: ModelWrapper) -> None:
    """The parameters of a prepared model: every float initializer finite (NaN or Inf, e.g. of
    a diverged training run, would otherwise become thresholds without a word) and every
    BatchNormalization's ``variance + epsilon`` positive (its square root divides)."""
    readers: dict[str, NodeProto] = {}
    for node in model.graph.node:
        for name in node.input:
            readers.setdefault(name, node)
    for init in model.graph.initializer:
        flat = numpy_helper.to_array(init).reshape(-1)
        if flat.dtype.kind != "f" or np.all(np.isfinite(flat)):
            continue
        bad = int(np.flatnonzero(~np.isfinite(flat))[0])
        reader = readers.get(init.name)
        where = node_label(reader) if reader is not None else f"initializer {init.name}"
        raise ModelError(
            f"{where}: parameter {init.name} holds {flat[bad]} (element {bad}); a model's "
            f"weights and parameters must be finite (did its training diverge?)"
        )
    for node in model.graph.node:
        if node.op_type != "BatchNormalization" or len(node.input) < 5:
            continue
        var = model.get_initializer(node.input[4])
        if var is None:
            continue
        eps = np.float32(node_attr(node, "epsilon", 1e-5))
        total = np.asarray(var, dtype=np.float32).reshape(-1) + eps
        if not np.all(total > 0):
            c = int(np.flatnonzero(~(total > 0))[0])
            raise ModelError(
                f"{node_label(node)}: channel {c} has variance + epsilon = {total[c]:g}, not "
                f"positive; the running variance of a BatchNorm must be positive"
            )
