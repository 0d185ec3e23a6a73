"""The exported form of CI-BCNN channel interactions (:mod:`hwbnn.nn.ci_bcnn`): the node pattern
that lowering is to recognise, its recogniser, and the L1 values of the interacted integers.

A layer whose interaction graph has edges is exported (TorchScript exporter, then qonnx
clean-up) as ``D`` *steps*, one per level ``k = 1..D`` of the graph, between the binary ``Conv``
whose integer output is ``Y = Y^(0)`` and the ``BatchNormalization`` that reads ``Y' = Y^(D)``.
Step ``k`` reads ``X = Y^(k-1)`` and writes ``Y^(k)`` with exactly these standard ONNX nodes::

    g = GreaterOrEqual(X, M)      M: float32 scalar initializer, the deadzone m (integer >= 1)
    l = LessOrEqual(X, N)         N: float32 scalar initializer, -m
    a = Cast(g, to=FLOAT)
    b = Cast(l, to=FLOAT)
    T = Sub(a, b)                 t(X) in {-1, 0, +1}
    P = Conv(T, W)                1x1, no bias, group 1, strides 1, no pads, dilations 1;
                                  W: (C, C, 1, 1) float32 integers, W[j, i, 0, 0] = c * s_ij
                                  for the edges i -> j into level-k channels, 0 elsewhere
    Y^(k) = Add(X, P)             (or Add(P, X))

Every ``X`` is read by its step's ``GreaterOrEqual``, ``LessOrEqual`` and ``Add`` only, and every
other tensor of a step by the next node of the pattern only. The steps of one layer share ``m``,
every non-zero weight is ``+-c`` for one ``c >= 1``, and ``W_1..W_D`` are exactly the level
matrices of the graph they spell (:meth:`~hwbnn.nn.ci_bcnn.InteractionGraph.level_matrices`:
canonical, so a recognised pattern gives back the trained graph bit for bit). A layer without
edges exports no node (a plain binary convolution). No QONNX quantizer is involved: every value
is an integer of magnitude at most ``max|Y| + C*c`` (far below 2^24), so the float32 ops are
exact; the BatchNorm's threshold is to be found over the range of ``Y'``, not of ``Y``.

:func:`find_interactions` recognises the pattern (a :class:`~hwbnn.errors.ModelError` naming the
node where it deviates); :func:`check_interactions` compares it with the torch model at export.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from onnx import NodeProto, TensorProto
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.transformation.change_batchsize import ChangeBatchSize
from qonnx.transformation.infer_shapes import InferShapes
from torch import nn

from hwbnn.errors import ModelError
from hwbnn.nn.ci_bcnn import ChannelInteraction, InteractionGraph

#: the ops that begin a step (the ternary comparisons); nothing else in hwbnn's graphs uses them
COMPARISON_OPS = ("GreaterOrEqual", "LessOrEqual")
#: the attributes of a step's Conv (absent means the same: ONNX defaults)
PLAIN_CONV = {"strides": [1, 1], "dilations": [1, 1], "pads": [0, 0, 0, 0], "group": 1}
#: the step's ops in pattern order
STEP_OPS = ("GreaterOrEqual", "LessOrEqual", "Cast", "Cast", "Sub", "Conv", "Add")


@dataclass(frozen=True)
class ExportedInteraction:
    """One layer's recognised steps: ``source`` (Y, the convolution's output tensor), ``output``
    (Y', the last Add's output), the step nodes' names in pattern order, the weights ``W_k``
    (int64, (C, C)) and the graph they spell."""

    source: str
    output: str
    nodes: tuple[str, ...]
    steps: tuple[np.ndarray, ...]
    graph: InteractionGraph


def _label(node: NodeProto) -> str:
    return f"node {node.name or '?'} ({node.op_type})"


def _fail(node: NodeProto, message: str) -> ModelError:
    return ModelError(f"{_label(node)}: not a CI-BCNN interaction step: {message}")


def _only_consumer(model: ModelWrapper, tensor: str, op: str, at: NodeProto) -> NodeProto:
    readers = model.find_consumers(tensor)
    if len(readers) != 1 or readers[0].op_type != op:
        found = [r.op_type for r in readers]
        raise _fail(at, f"{tensor} must be read by one {op} only, is read by {found}")
    return readers[0]


def _scalar(model: ModelWrapper, node: NodeProto) -> float:
    value = model.get_initializer(node.input[1]) if len(node.input) == 2 else None
    if value is None or np.asarray(value).size != 1:
        raise _fail(node, "its second input must be a scalar initializer")
    return float(np.asarray(value).reshape(()))


def _attr(node: NodeProto, name: str, default: object) -> object:
    for attr in node.attribute:
        if attr.name == name:
            return onnx.helper.get_attribute_value(attr)
    return default


def _step(model: ModelWrapper, ge: NodeProto) -> tuple[int, np.ndarray, NodeProto, list[str]]:
    """(m, W as int64 (C, C), the Add, node names) of the step beginning at ``ge``."""
    x = ge.input[0]
    readers = model.find_consumers(x)
    le = [r for r in readers if r.op_type == "LessOrEqual"]
    add = [r for r in readers if r.op_type == "Add"]
    if len(readers) != 3 or len(le) != 1 or len(add) != 1:
        raise _fail(ge, f"{x} must be read by GreaterOrEqual, LessOrEqual and Add only")
    m, minus = _scalar(model, ge), _scalar(model, le[0])
    if m != round(m) or m < 1 or minus != -m:
        raise _fail(ge, f"thresholds {m} and {minus} are not m and -m for an integer m >= 1")
    casts = [_only_consumer(model, n.output[0], "Cast", n) for n in (ge, le[0])]
    for cast in casts:
        if _attr(cast, "to", None) != TensorProto.FLOAT:
            raise _fail(cast, "must cast to FLOAT")
    sub = _only_consumer(model, casts[0].output[0], "Sub", casts[0])
    if list(sub.input) != [casts[0].output[0], casts[1].output[0]]:
        raise _fail(sub, "must compute Cast(GreaterOrEqual) - Cast(LessOrEqual)")
    conv = _only_consumer(model, sub.output[0], "Conv", sub)
    weight = model.get_initializer(conv.input[1]) if len(conv.input) == 2 else None
    plain = all(_attr(conv, key, None) in (None, value) for key, value in PLAIN_CONV.items())
    if weight is None or weight.ndim != 4 or weight.shape[2:] != (1, 1) or not plain:
        raise _fail(conv, "must be a 1x1 convolution without bias, padding, stride or groups")
    if weight.shape[0] != weight.shape[1] or not np.array_equal(weight, np.round(weight)):
        raise _fail(conv, f"weights of shape {weight.shape} must be a square integer matrix")
    if _only_consumer(model, conv.output[0], "Add", conv) is not add[0]:
        raise _fail(add[0], f"must add {x} and {conv.output[0]}")
    if sorted(add[0].input) != sorted([x, conv.output[0]]):
        raise _fail(add[0], f"must add {x} and {conv.output[0]}")
    names = [n.name for n in (ge, le[0], *casts, sub, conv, add[0])]
    return int(m), weight[:, :, 0, 0].astype(np.int64), add[0], names


def _graph(steps: list[np.ndarray], m: int, first: NodeProto) -> InteractionGraph:
    total = np.sum(steps, axis=0)
    magnitudes = np.unique(np.abs(total[total != 0]))
    covered = np.sum([np.any(w != 0, axis=1) for w in steps], axis=0)
    if len(magnitudes) != 1 or int(covered.max()) > 1:
        raise _fail(first, "the steps' non-zero weights must all be +-c, each row in one step")
    c = int(magnitudes[0])
    try:
        graph = InteractionGraph.from_signs(np.sign(total).T, m, c)
    except ValueError as exc:
        raise _fail(first, str(exc)) from None
    canonical = graph.level_matrices()
    if len(canonical) != len(steps) or not all(map(np.array_equal, canonical, steps)):
        raise _fail(first, "the steps are not the graph's levels in order")
    return graph


def find_interactions(model: ModelWrapper) -> list[ExportedInteraction]:
    """Every interaction layer of ``model``, in graph order (see the module docstring);
    ModelError naming the node where a comparison does not begin the exact pattern."""
    found: list[ExportedInteraction] = []
    chained: set[str] = set()  # the Adds that a recognised layer's steps wrote
    for node in model.graph.node:
        if node.op_type not in COMPARISON_OPS or node.name in chained:
            continue
        if node.op_type == "LessOrEqual":
            if not any(r.op_type == "GreaterOrEqual" for r in model.find_consumers(node.input[0])):
                raise _fail(node, "a LessOrEqual without its GreaterOrEqual")
            continue
        source, first = node.input[0], node
        ms, steps, names = [], [], []
        ge: NodeProto | None = node
        while ge is not None:
            m, weight, add, step_names = _step(model, ge)
            ms.append(m)
            steps.append(weight)
            names += step_names
            chained.update(step_names)
            nxt = [r for r in model.find_consumers(add.output[0]) if r.op_type == "GreaterOrEqual"]
            ge = nxt[0] if nxt else None
        if len(set(ms)) != 1:
            raise _fail(first, f"the steps of one layer have different deadzones {ms}")
        graph = _graph(steps, ms[0], first)
        found.append(ExportedInteraction(source, add.output[0], tuple(names), tuple(steps), graph))
    return found


def check_interactions(model: nn.Module, exported: ModelWrapper) -> None:
    """The exported steps spell exactly the graphs of ``model``'s interaction layers that have
    edges, in order (ModelError otherwise)."""
    expected = [
        m.graph() for m in model.modules() if isinstance(m, ChannelInteraction) and m.graph().edges
    ]
    got = [found.graph for found in find_interactions(exported)]
    if got != expected:
        raise ModelError(
            f"the exported CI-BCNN interactions ({len(got)} layers) differ from the model's "
            f"({len(expected)} layers with edges)"
        )


def interacted_values(model: ModelWrapper, x: np.ndarray, batch_size: int = 128) -> list:
    """The L1 (qonnx execute_onnx) values of every interaction layer's output ``Y'`` on float
    images ``x``: one array (N, C, H, W) per layer of :func:`find_interactions`."""
    outputs = [found.output for found in find_interactions(model)]
    iname = model.graph.input[0].name
    values: list[list[np.ndarray]] = [[] for _ in outputs]
    for start in range(0, len(x), batch_size):
        chunk = np.ascontiguousarray(x[start : start + batch_size], dtype=np.float32)
        copy = ModelWrapper(onnx.ModelProto.FromString(model.model.SerializeToString()))
        copy = copy.transform(ChangeBatchSize(len(chunk))).transform(InferShapes())
        context = execute_onnx(copy, {iname: chunk}, return_full_exec_context=True)
        for store, name in zip(values, outputs, strict=True):
            store.append(context[name])
    return [np.concatenate(store) for store in values]
