"""Lowering of branching QONNX graphs (forks, Bi-Real shortcuts, add-joins, concat): the IR run
by the reference equals execute_onnx exactly, and unsupported branch shapes are errors."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx_builders import Encoding, _Builder, random_pm1

from hwbnn.errors import ModelError
from hwbnn.export import clean_qonnx, run_qonnx
from hwbnn.frontend.lower import InputSpec, lower
from hwbnn.ir.types import AddJoin, Concat, Fork, MatrixVector, MaxPool, Network, Threshold
from hwbnn.reference import Reference

BIPOLAR = InputSpec(levels=2, low=-1.0, high=1.0)
SHAPE = (1, 3, 6, 6)


class _Graph(_Builder):
    """A branching graph on a (1, 3, 6, 6) bipolar image, built op by op."""

    def __init__(self, seed: int) -> None:
        super().__init__(Encoding())
        self.rng = np.random.default_rng(seed)
        self.x = self.binary_quant("x", 1.0)

    def conv(self, x: str, cin: int, cout: int, k: int, stride: int = 1, pad: int = 0) -> str:
        if pad:
            pads = self.const([0, 0, pad, pad, 0, 0, pad, pad], np.int64)
            x = self.node("Pad", [x, pads, self.const(-1.0)], mode="constant")
        w = self.binary_quant(self.const(random_pm1(self.rng, (cout, cin, k, k)) * 0.37), 1.0)
        return self.node("Conv", [x, w], kernel_shape=[k, k], strides=[stride, stride])

    def bn(self, x: str, c: int) -> str:
        rng = self.rng
        params = (
            rng.normal(0, 1, c),
            rng.normal(0, 1, c),
            rng.normal(0, 2, c),
            rng.uniform(0.5, 3, c),
        )
        return self.elementwise(x, ("bn", *params))

    def quant(self, x: str, scale: float, bits: int) -> str:
        ins = [x, self.const(scale), self.const(0.0), self.const(float(bits))]
        return self.node(
            "Quant", ins, domain=self.enc.domain, signed=1, narrow=0, rounding_mode="ROUND"
        )

    def model(self, x: str, features: int, classes: int = 5) -> onnx.ModelProto:
        x = self.node("Flatten", [x], axis=1)
        w = self.binary_quant(self.const(random_pm1(self.rng, (features, classes)) * 0.37), 1.0)
        self.node("MatMul", [x, w])
        self.nodes[-1].output[0] = "y"
        graph = helper.make_graph(
            self.nodes,
            "branches",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(SHAPE))],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, classes])],
            initializer=self.inits,
        )
        opsets = [helper.make_opsetid("", 13), helper.make_opsetid(self.enc.domain, 1)]
        model = helper.make_model(graph, opset_imports=opsets)
        model.ir_version = 8
        return model


def _copy(model: onnx.ModelProto) -> ModelWrapper:
    return ModelWrapper(onnx.ModelProto.FromString(model.SerializeToString()))


def _check(model: onnx.ModelProto, n: int = 64) -> Network:
    """L2 == L1 exactly on random bipolar images: the last op is a MatMul, so execute_onnx
    gives the output layer's accumulators."""
    net = lower(_copy(model), BIPOLAR)
    rng = np.random.default_rng(1)
    x = np.where(rng.random((n, *SHAPE[1:])) < 0.5, -1.0, 1.0).astype(np.float32)
    ref = Reference(net).run(x)
    onnx_out = run_qonnx(clean_qonnx(_copy(model)), x).reshape(n, -1)
    assert np.array_equal(onnx_out, np.rint(onnx_out))
    assert np.array_equal(ref.accumulators, onnx_out.astype(np.int64))
    assert np.array_equal(ref.labels, onnx_out.argmax(1))
    return net


def _kinds(net: Network) -> list[str]:
    return [type(layer).__name__ for layer in net.layers]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_identity_shortcut_is_a_side_input_threshold(seed: int) -> None:
    g = _Graph(seed)
    main = g.bn(g.conv(g.x, 3, 3, 3, pad=1), 3)
    out = g.binary_quant(g.node("Add", [main, g.x]), 1.0)
    net = _check(g.model(out, 3 * 36))
    assert _kinds(net) == [
        "InputThreshold",
        "Fork",
        "SlidingWindow",
        "MatrixVector",
        "Threshold",
        "MatrixVector",
    ]
    fork, window, unit, threshold = net.layers[1:5]
    assert isinstance(threshold, Threshold) and threshold.has_side and threshold.binary_output
    assert isinstance(unit, MatrixVector) and unit.emits_acc and not unit.is_output
    assert net.inputs_of(threshold.name) == (unit.name, fork.name)
    assert net.consumers_of(fork.name) == (window.name, threshold.name)


@pytest.mark.parametrize("shortcut", ["pool", "conv1x1"])
def test_downsampling_shortcut(shortcut: str) -> None:
    g = _Graph(3)
    main = g.bn(g.conv(g.x, 3, 3, 3, stride=2, pad=1), 3)  # 6x6 -> 3x3
    if shortcut == "pool":
        side = g.node("MaxPool", [g.x], kernel_shape=[2, 2], strides=[2, 2])
    else:
        side = g.binary_quant(g.bn(g.conv(g.x, 3, 3, 1, stride=2), 3), 1.0)
    out = g.binary_quant(g.node("Add", [side, main]), 1.0)
    net = _check(g.model(out, 3 * 9))
    assert sum(isinstance(layer, Fork) for layer in net.layers) == 1
    assert any(isinstance(layer, MaxPool) for layer in net.layers) == (shortcut == "pool")


def test_add_join_of_one_shared_quantizer_scale() -> None:
    g = _Graph(4)
    a = g.quant(g.bn(g.conv(g.x, 3, 4, 3, pad=1), 4), 0.25, 3)
    b = g.quant(g.bn(g.conv(g.x, 3, 4, 1), 4), 0.25, 3)
    out = g.binary_quant(g.bn(g.node("Add", [a, b]), 4), 1.0)
    net = _check(g.model(out, 4 * 36))
    joins = [layer for layer in net.layers if isinstance(layer, AddJoin)]
    steps = [layer for layer in net.layers if isinstance(layer, Threshold)]
    assert len(joins) == 1 and [t.steps for t in steps] == [7, 7, 1]
    assert [t.out_base for t in steps] == [-4, -4, 0]


def test_concat_of_binary_branches() -> None:
    g = _Graph(5)
    a = g.binary_quant(g.bn(g.conv(g.x, 3, 2, 3, pad=1), 2), 1.0)
    b = g.binary_quant(g.bn(g.conv(g.x, 3, 3, 1), 3), 1.0)
    cat = g.node("Concat", [a, b], axis=1)
    out = g.binary_quant(g.bn(g.conv(cat, 5, 4, 3), 4), 1.0)  # 6x6 -> 4x4
    net = _check(g.model(out, 4 * 16))
    assert "Concat" in _kinds(net)
    (concat,) = [layer for layer in net.layers if isinstance(layer, Concat)]
    assert net.edge(concat.name).image == (6, 6, 5)


def test_unquantized_add_is_refused_naming_the_node() -> None:
    g = _Graph(6)
    a = g.bn(g.conv(g.x, 3, 3, 3, pad=1), 3)
    b = g.bn(g.conv(g.x, 3, 3, 1), 3)
    out = g.binary_quant(g.node("Add", [a, b]), 1.0)
    with pytest.raises(
        ModelError,
        match=r"node Add_\d+ \(Add\): adds two unquantized real tensors; quantize both "
        r"inputs with one shared activation quantizer",
    ) as info:
        lower(_copy(g.model(out, 3 * 36)), BIPOLAR)
    assert "\n" not in str(info.value)


def test_branching_accumulators_are_refused() -> None:
    g = _Graph(7)
    acc = g.conv(g.x, 3, 3, 3, pad=1)
    a = g.binary_quant(g.bn(acc, 3), 1.0)
    b = g.binary_quant(g.bn(acc, 3), 1.0)
    out = g.binary_quant(g.node("Add", [a, b]), 1.0)
    with pytest.raises(ModelError, match=r"read by 2 nodes but is not quantized"):
        lower(_copy(g.model(out, 3 * 36)), BIPOLAR)
