"""Hand-built binary QONNX models in the encodings third-party exporters have used."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


@dataclass
class DenseSpec:
    """One layer: weights (MW, MH) of +-1, weight scale, and tail ops after the MatMul.

    Tail ops: ("bn", gamma, beta, mean, var), ("mul", c), ("add", c), ("div", c), ("sub", c).
    """

    weights: np.ndarray
    scale: float = 1.0
    tail: list[tuple] = field(default_factory=list)


@dataclass
class Encoding:
    quant: str = "bipolar"  # "bipolar" | "quant1" (Quant bitwidth=1, signed, narrow)
    domain: str = "qonnx.custom_op.general"
    declare_domain: bool = True
    flatten: str = "flatten"  # "flatten" | "reshape" | "shape_chain"
    transposed_weights: bool = False
    gemm: bool = False
    input_ops: list[tuple[str, float]] = field(default_factory=list)  # e.g. [("mul", 2.0)]
    input_quant: str = "binary"  # "binary" | "uint<bits>"


class _Builder:
    def __init__(self, enc: Encoding) -> None:
        self.enc = enc
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[TensorProto] = []
        self.count = 0

    def name(self, stem: str) -> str:
        self.count += 1
        return f"{stem}_{self.count}"

    def const(self, value, dtype=np.float32) -> str:
        name = self.name("c")
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def node(self, op: str, inputs: list[str], domain: str = "", **attrs) -> str:
        out = self.name(op.lower())
        self.nodes.append(
            helper.make_node(op, inputs, [out], name=self.name(op), domain=domain, **attrs)
        )
        return out

    def binary_quant(self, x: str, scale: float) -> str:
        enc = self.enc
        if enc.quant == "bipolar":
            return self.node("BipolarQuant", [x, self.const(scale)], domain=enc.domain)
        ins = [x, self.const(scale), self.const(0.0), self.const(1.0)]
        return self.node("Quant", ins, domain=enc.domain, signed=1, narrow=1, rounding_mode="ROUND")

    def elementwise(self, x: str, op: tuple) -> str:
        kind = op[0]
        if kind == "bn":
            params = [self.const(np.asarray(p, dtype=np.float32)) for p in op[1:]]
            return self.node("BatchNormalization", [x, *params], epsilon=1e-5)
        onnx_op = {"mul": "Mul", "add": "Add", "div": "Div", "sub": "Sub"}[kind]
        return self.node(onnx_op, [x, self.const(op[1])])

    def flatten(self, x: str, features: int) -> str:
        if self.enc.flatten == "flatten":
            return self.node("Flatten", [x], axis=1)
        if self.enc.flatten == "reshape":
            return self.node("Reshape", [x, self.const([1, features], np.int64)])
        shape = self.node("Shape", [x])
        batch = self.node("Gather", [shape, self.const(0, np.int64)], axis=0)
        batch1 = self.node("Unsqueeze", [batch, self.const([0], np.int64)])
        target = self.node("Concat", [batch1, self.const([-1], np.int64)], axis=0)
        return self.node("Reshape", [x, target])

    def dense(self, x: str, spec: DenseSpec) -> str:
        w = np.asarray(spec.weights, dtype=np.float32)
        stored = w.T if (self.enc.transposed_weights or self.enc.gemm) else w
        wq = self.binary_quant(self.const(stored * 0.37), spec.scale)  # latent != +-1
        if self.enc.gemm:
            y = self.node("Gemm", [x, wq], transB=1)
        else:
            if self.enc.transposed_weights:
                wq = self.node("Transpose", [wq], perm=[1, 0])
            y = self.node("MatMul", [x, wq])
        for op in spec.tail:
            y = self.elementwise(y, op)
        return y


def build_mlp(
    layers: list[DenseSpec], input_shape: tuple[int, ...], enc: Encoding | None = None
) -> onnx.ModelProto:
    """input, input ops, flatten, input quant, [dense, tail, quant]*, dense, tail."""
    enc = enc or Encoding()
    b = _Builder(enc)
    x = "x"
    for op in enc.input_ops:
        x = b.elementwise(x, op)
    features = int(np.prod(input_shape[1:]))
    x = b.flatten(x, features)
    if enc.input_quant == "binary":
        x = b.binary_quant(x, 1.0)
    else:
        bits = int(enc.input_quant.removeprefix("uint"))
        ins = [x, b.const(1.0), b.const(0.0), b.const(float(bits))]
        x = b.node("Quant", ins, domain=enc.domain, signed=0, narrow=0, rounding_mode="ROUND")
    for index, spec in enumerate(layers):
        x = b.dense(x, spec)
        if index < len(layers) - 1:
            x = b.binary_quant(x, 1.0)
    b.nodes[-1].output[0] = "y"
    classes = np.asarray(layers[-1].weights).shape[1]
    graph = helper.make_graph(
        b.nodes,
        "hand_built",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(input_shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, classes])],
        initializer=b.inits,
    )
    opsets = [helper.make_opsetid("", 13)]
    if enc.declare_domain and enc.domain:
        opsets.append(helper.make_opsetid(enc.domain, 1))
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8
    return model


def random_pm1(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return np.where(rng.random(shape) < 0.5, -1.0, 1.0).astype(np.float32)


def build_chain(
    input_shape: tuple[int, ...],
    ops: list[tuple],
    enc: Encoding | None = None,
    out_shape: list[int] | None = None,
) -> onnx.ModelProto:
    """A hand-built chain on an image input: input ops and quantizer as in :func:`build_mlp`,
    then ``ops``, each one of

    - ("pad", (top, left, bottom, right), value): a constant Pad of H and W,
    - ("conv", weights (MH, C, K, K) of +-1, attrs): Conv with binary weights (scale 1) and
      ONNX attributes (strides, pads, group, dilations); attrs may hold "bias" (MH values)
      and "quantize" (False: the weights are a plain float initializer),
    - ("bn", gamma, beta, mean, var), ("mul", c), ("add", c): per-channel ops, constants of
      shape (1, C, 1, 1) on images (vectors on flat tensors),
    - ("quant",): a binary activation of scale 1,
    - ("pool", k, s, attrs): MaxPool with kernel k, stride s and extra attributes,
    - ("avgpool", k, s, attrs): AveragePool likewise,
    - ("flatten",), ("dense", weights (MW, MH) of +-1): Flatten and MatMul.
    """
    enc = enc or Encoding()
    b = _Builder(enc)
    x = "x"
    for op in enc.input_ops:
        x = b.elementwise(x, op)
    if enc.input_quant == "binary":
        x = b.binary_quant(x, 1.0)
    else:
        bits = int(enc.input_quant.removeprefix("uint"))
        ins = [x, b.const(1.0), b.const(0.0), b.const(float(bits))]
        x = b.node("Quant", ins, domain=enc.domain, signed=0, narrow=0, rounding_mode="ROUND")
    image = True
    for op in ops:
        kind = op[0]
        if kind == "pad":
            top, left, bottom, right = op[1]
            pads = b.const([0, 0, top, left, 0, 0, bottom, right], np.int64)
            x = b.node("Pad", [x, pads, b.const(op[2])], mode="constant")
        elif kind == "conv":
            w = np.asarray(op[1], dtype=np.float32)
            attrs = dict(op[2]) if len(op) > 2 else {}
            bias = attrs.pop("bias", None)
            if attrs.pop("quantize", True):
                wq = b.binary_quant(b.const(w * 0.37), 1.0)
            else:  # a plain float initializer
                wq = b.const(w)
            ins = [x, wq] + (
                [b.const(np.asarray(bias, dtype=np.float32))] if bias is not None else []
            )
            x = b.node("Conv", ins, kernel_shape=list(w.shape[2:]), **attrs)
        elif kind in ("bn", "mul", "add"):
            values = [np.asarray(v, dtype=np.float32) for v in op[1:]]
            if image and kind != "bn":
                values = [v.reshape(1, -1, 1, 1) if v.size > 1 else v for v in values]
            x = b.elementwise(x, (kind, *values))
        elif kind == "quant":
            x = b.binary_quant(x, 1.0)
        elif kind == "pool":
            attrs = dict(op[3]) if len(op) > 3 else {}
            x = b.node("MaxPool", [x], kernel_shape=[op[1], op[1]], strides=[op[2], op[2]], **attrs)
        elif kind == "avgpool":
            attrs = dict(op[3]) if len(op) > 3 else {}
            size = [op[1], op[1]]
            x = b.node("AveragePool", [x], kernel_shape=size, strides=[op[2], op[2]], **attrs)
        elif kind == "flatten":
            x = b.node("Flatten", [x], axis=1)
            image = False
        elif kind == "dense":
            x = b.node("MatMul", [x, b.binary_quant(b.const(np.asarray(op[1]) * 0.37), 1.0)])
        else:
            raise ValueError(f"unknown op {kind}")
    b.nodes[-1].output[0] = "y"
    graph = helper.make_graph(
        b.nodes,
        "hand_built_conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(input_shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
        initializer=b.inits,
    )
    opsets = [helper.make_opsetid("", 13), helper.make_opsetid(enc.domain, 1)]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8
    return model
