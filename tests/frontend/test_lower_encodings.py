"""Third-party binary QONNX encodings lower to IRs that agree exactly with execute_onnx."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from qonnx.core.modelwrapper import ModelWrapper
from qonnx_builders import DenseSpec, Encoding, build_mlp, random_pm1

from hwbnn.data import code_values
from hwbnn.export import clean_qonnx, run_qonnx
from hwbnn.frontend.lower import InputSpec, lower
from hwbnn.ir.types import InputThreshold
from hwbnn.reference import Reference

INPUT_SHAPE = (1, 1, 4, 4)


def _layers(rng: np.random.Generator, tail_bn: bool = True) -> list[DenseSpec]:
    def bn(c: int) -> tuple:
        return (
            "bn",
            rng.normal(0, 1, c),  # negative gammas included
            rng.normal(0, 1, c),
            rng.normal(0, 3, c),
            rng.uniform(0.1, 5, c),
        )

    return [
        DenseSpec(random_pm1(rng, (16, 12)), tail=[bn(12)] if tail_bn else [("add", 0.5)]),
        DenseSpec(random_pm1(rng, (12, 8)), tail=[("mul", -0.5), ("add", 1.0)]),
        DenseSpec(random_pm1(rng, (8, 5))),
    ]


def _copy(model: onnx.ModelProto) -> ModelWrapper:
    return ModelWrapper(onnx.ModelProto.FromString(model.SerializeToString()))


def _check(model: onnx.ModelProto, spec: InputSpec, x: np.ndarray) -> None:
    """L2 == L1 exactly; L1 runs on the qonnx-cleaned model, as qonnx users do."""
    qmodel = clean_qonnx(_copy(model))
    net = lower(_copy(model), spec)
    ref = Reference(net).run(x)
    onnx_out = run_qonnx(qmodel, x).reshape(len(x), -1)
    # the last layer has no tail: execute_onnx's output is the integer accumulator itself
    assert np.array_equal(onnx_out, np.rint(onnx_out))
    assert np.array_equal(ref.accumulators, onnx_out.astype(np.int64))
    assert np.array_equal(ref.labels, onnx_out.argmax(1))


def _binary_input(rng: np.random.Generator, n: int = 64) -> np.ndarray:
    return np.where(rng.random((n, *INPUT_SHAPE[1:])) < 0.5, -1.0, 1.0).astype(np.float32)


BIPOLAR_SPEC = InputSpec(levels=2, low=-1.0, high=1.0)


@pytest.mark.parametrize(
    "domain", ["qonnx.custom_op.general", "finn.custom_op.general", "onnx.brevitas", ""]
)
@pytest.mark.parametrize("quant", ["bipolar", "quant1"])
def test_quant_encodings_and_domains(domain: str, quant: str) -> None:
    rng = np.random.default_rng(len(domain) + len(quant))
    enc = Encoding(quant=quant, domain=domain, declare_domain=False)
    model = build_mlp(_layers(rng), INPUT_SHAPE, enc)
    if domain:
        with pytest.raises(onnx.checker.ValidationError):
            onnx.checker.check_model(model, full_check=True)
    _check(model, BIPOLAR_SPEC, _binary_input(rng))


@pytest.mark.parametrize("flatten", ["flatten", "reshape", "shape_chain"])
def test_flatten_encodings(flatten: str) -> None:
    rng = np.random.default_rng(7)
    model = build_mlp(_layers(rng), INPUT_SHAPE, Encoding(flatten=flatten))
    _check(model, BIPOLAR_SPEC, _binary_input(rng))


@pytest.mark.parametrize("layout", ["transposed", "gemm"])
def test_weight_layouts(layout: str) -> None:
    rng = np.random.default_rng(11)
    enc = Encoding(transposed_weights=layout == "transposed", gemm=layout == "gemm")
    _check(
        build_mlp(_layers(rng, tail_bn=False), INPUT_SHAPE, enc), BIPOLAR_SPEC, _binary_input(rng)
    )


@pytest.mark.parametrize(
    "input_ops",
    [
        [("sub", 0.5)],
        [("mul", 2.0), ("sub", 1.0)],
        [("add", -0.3), ("div", 0.25)],
        [("mul", -1.0), ("add", 0.5)],  # decreasing: first-layer columns are negated
    ],
)
def test_input_scaling_nodes_become_thresholds(input_ops) -> None:
    rng = np.random.default_rng(3)
    model = build_mlp(_layers(rng), INPUT_SHAPE, Encoding(input_ops=input_ops))
    spec = InputSpec(levels=256)
    net = lower(_copy(model), spec)
    assert isinstance(net.layers[0], InputThreshold)
    codes = rng.integers(0, 256, (64, *INPUT_SHAPE[1:]))
    _check(model, spec, code_values(256)[codes])


def test_integer_input_first_layer() -> None:
    rng = np.random.default_rng(5)
    enc = Encoding(input_ops=[("mul", 255.0)], input_quant="uint8")
    model = build_mlp(_layers(rng), INPUT_SHAPE, enc)
    spec = InputSpec(levels=256)
    net = lower(_copy(model), spec)
    assert net.layers[0].input_bits == 8
    codes = rng.integers(0, 256, (64, *INPUT_SHAPE[1:]))
    _check(model, spec, code_values(256)[codes])
