"""The ONNX findings of the issue-17 probe, one by one, through ``hwbnn compile`` (in-process CLI).

Each finding is either correct, proved against qonnx ``execute_onnx`` on real images (the
sklearn digits), or a one-line ``hwbnn: error: ...`` with exit status 1 and no build directory.
The models are untrained zoo nets exported by hwbnn's own exporter, with random BatchNorm
statistics so that some channels decrease (negated weight rows).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from hwbnn.cli import main

Mutation = Callable[[onnx.ModelProto], None]


def _export(directory: Path, config: object, seed: int) -> onnx.ModelProto:
    from onnx_fuzz import spread_model

    from hwbnn.export import export_qonnx_model
    from hwbnn.nn.zoo import build_model

    path = directory / "model.onnx"
    export_qonnx_model(spread_model(build_model, config, seed), path)
    return onnx.load(str(path))


@pytest.fixture(scope="module")
def digits_mlp(tmp_path_factory: pytest.TempPathFactory) -> onnx.ModelProto:
    """An untrained digits MLP (8x8 input of 17 levels, binarized by ``sign(x - 0.5)``)."""
    from hwbnn.nn.zoo import mlp_config

    config = mlp_config("digits-mlp", (1, 8, 8), 10, 17, 5, "binary", hidden=(32,))
    return _export(tmp_path_factory.mktemp("mlp"), config, 3)


@pytest.fixture(scope="module")
def digits_cnn(tmp_path_factory: pytest.TempPathFactory) -> onnx.ModelProto:
    """An untrained digits conv net (binarized input, a -1-padded convolution, a max pool)."""
    from hwbnn.nn.conv import ConvConfig, ConvStage

    config = ConvConfig((1, 8, 8), (ConvStage(4, padding=1, pool=2),), (), 10, levels=17)
    return _export(tmp_path_factory.mktemp("cnn"), config, 4)


def _compile(tmp_path: Path, proto: onnx.ModelProto, capsys: pytest.CaptureFixture[str]):
    """(exit status, stderr lines, build path) of ``hwbnn compile`` on ``proto``."""
    model, build = tmp_path / "model.onnx", tmp_path / "build"
    model.write_bytes(proto.SerializeToString())
    capsys.readouterr()
    code = main(["compile", str(model), "-o", str(build)])
    return code, capsys.readouterr().err.strip().splitlines(), build


def _node(proto: onnx.ModelProto, op: str, index: int = 0) -> onnx.NodeProto:
    return [n for n in proto.graph.node if n.op_type == op][index]


def _init(proto: onnx.ModelProto, name: str) -> onnx.TensorProto:
    return next(i for i in proto.graph.initializer if i.name == name)


def _set_init(proto: onnx.ModelProto, name: str, value: np.ndarray) -> None:
    _init(proto, name).CopyFrom(numpy_helper.from_array(value, name))


def _negate_input_scaling(proto: onnx.ModelProto) -> None:
    """``Sub(x, 0.5)`` -> ``Sub(0.5, x)``: the input binarization decreases with the code."""
    sub = _node(proto, "Sub")
    sub.input[0], sub.input[1] = sub.input[1], sub.input[0]


def test_negated_input_scaling_agrees_with_execute_onnx(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], digits_mlp: onnx.ModelProto
) -> None:
    """Probe: ``Sub(0.5, x)`` compiled but disagreed with execute_onnx on 4 of 20 images (the
    negated input kept the threshold of the reversed code). Now every digits image agrees."""
    from qonnx.core.modelwrapper import ModelWrapper

    import hwbnn
    from hwbnn.data import load_digits
    from hwbnn.export import clean_qonnx, run_qonnx
    from hwbnn.ir.types import InputThreshold

    proto = onnx.ModelProto()
    proto.CopyFrom(digits_mlp)
    _negate_input_scaling(proto)
    code, err, build = _compile(tmp_path, proto, capsys)
    assert code == 0, err
    net = hwbnn.open(build).net
    first = net.layers[0]
    assert isinstance(first, InputThreshold)
    assert np.all(first.thresholds == 9)  # 0.5 - k/16 >= 0 iff k <= 8: negated bit k >= 9
    data = load_digits()
    x = np.concatenate([data.x_train, data.x_test])
    labels = hwbnn.open(build).predict(x).labels
    onnx_labels = run_qonnx(clean_qonnx(ModelWrapper(proto)), x).reshape(len(x), -1).argmax(1)
    assert len(np.unique(labels)) >= 3  # the comparison is not of a constant
    assert np.array_equal(labels, onnx_labels)


def _error_line(code: int, err: list[str], build: Path) -> str:
    assert code == 1, err
    assert len(err) == 1 and err[0].startswith("hwbnn: error: "), err
    assert not build.exists()
    return err[0]


def test_negated_input_before_convolution_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], digits_cnn: onnx.ModelProto
) -> None:
    proto = onnx.ModelProto()
    proto.CopyFrom(digits_cnn)
    _negate_input_scaling(proto)
    line = _error_line(*_compile(tmp_path, proto, capsys))
    assert "Conv" in line and "decreasing input binarization" in line


def _bn_param(index: int, value: float) -> Mutation:
    def mutate(proto: onnx.ModelProto) -> None:
        name = _node(proto, "BatchNormalization").input[index]
        array = numpy_helper.to_array(_init(proto, name)).copy()
        array[1] = value
        _set_init(proto, name, array)

    return mutate


def _metadata(value: str) -> Mutation:
    def mutate(proto: onnx.ModelProto) -> None:
        for prop in proto.metadata_props:
            if prop.key == "hwbnn.input_levels":
                prop.value = value

    return mutate


def _opset(version: int, domain: str = "") -> Mutation:
    def mutate(proto: onnx.ModelProto) -> None:
        for opset in proto.opset_import:
            if opset.domain == domain:
                opset.version = version

    return mutate


def _swap(op: str, i: int, j: int) -> Mutation:
    def mutate(proto: onnx.ModelProto) -> None:
        node = _node(proto, op)
        node.input[i], node.input[j] = node.input[j], node.input[i]

    return mutate


def _extra_output(proto: onnx.ModelProto) -> None:
    name = _node(proto, "MatMul").output[0]
    proto.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))


def _rename_to_existing(proto: onnx.ModelProto) -> None:
    """The probe's hang: a node's output renamed to a tensor another node writes."""
    _node(proto, "BatchNormalization").output[0] = _node(proto, "MatMul").output[0]


def _cycle(proto: onnx.ModelProto) -> None:
    _node(proto, "MatMul").input[0] = _node(proto, "BatchNormalization").output[0]


def _double_constant(proto: onnx.ModelProto) -> None:
    """A float64 operand of Sub: passes the ONNX checker, fails the clean-up's type inference."""
    name = _node(proto, "Sub").input[1]
    _set_init(proto, name, numpy_helper.to_array(_init(proto, name)).astype(np.float64))


def _flatten_axis(proto: onnx.ModelProto) -> None:
    """Flatten's axis beyond the rank: only the engine notices, when it runs the input stage."""
    flatten = _node(proto, "Flatten")
    del flatten.attribute[:]
    flatten.attribute.append(helper.make_attribute("axis", 9))


def _nan_weight(proto: onnx.ModelProto) -> None:
    name = _node(proto, "BipolarQuant").input[0]
    array = numpy_helper.to_array(_init(proto, name)).copy()
    array[0, 0] = math.nan
    _set_init(proto, name, array)


def _huge_input(proto: onnx.ModelProto) -> None:
    proto.graph.input[0].type.tensor_type.shape.dim[2].dim_value = 2**40


def _input_scale(value: float) -> Mutation:
    def mutate(proto: onnx.ModelProto) -> None:
        quant = next(n for n in proto.graph.node if n.input[0] == _node(proto, "Sub").output[0])
        _set_init(proto, quant.input[1], np.full((1,), value, dtype=np.float32))

    return mutate


def _external_outside(proto: onnx.ModelProto) -> None:
    tensor = _init(proto, _node(proto, "BatchNormalization").input[1])
    tensor.ClearField("raw_data")
    tensor.ClearField("float_data")
    tensor.data_location = TensorProto.EXTERNAL
    tensor.external_data.add(key="location", value="../outside.bin")


def _attribute(op: str, name: str, value: object) -> Mutation:
    def mutate(proto: onnx.ModelProto) -> None:
        node = _node(proto, op)
        kept = [a for a in node.attribute if a.name != name]
        del node.attribute[:]
        kind = onnx.AttributeProto.INTS if isinstance(value, list) else None
        node.attribute.extend([*kept, helper.make_attribute(name, value, attr_type=kind)])

    return mutate


FINDINGS: dict[str, tuple[Mutation, str]] = {
    # non-integer or < 2 hwbnn.input_levels metadata
    "levels 2.5": (_metadata("2.5"), "is not one integer"),
    "levels 1": (_metadata("1"), "2 to 1024 levels"),
    "levels 0": (_metadata("0"), "2 to 1024 levels"),
    "levels abc": (_metadata("abc"), "is not one integer"),
    # swapped inputs
    "MatMul(W, x)": (_swap("MatMul", 0, 1), "wrong order"),
    "BatchNormalization(scale, x)": (_swap("BatchNormalization", 0, 1), "wrong order"),
    # low or unknown opsets
    "opset 5": (_opset(5), "opset (5) is not supported"),
    "opset 99": (_opset(99), "opset (99) is not supported"),
    "unknown domain": (lambda p: setattr(_node(p, "Sub"), "domain", "bogus"), "'bogus'"),
    # raw onnxruntime errors
    "mixed element types": (_double_constant, "qonnx clean-up failed"),
    "engine error": (_flatten_axis, "onnxruntime cannot evaluate it"),
    # an extra graph output
    "extra output": (_extra_output, "exactly one input and one output"),
    # the hang: a node output renamed to an existing tensor, and a cycle
    "renamed output": (_rename_to_existing, "which node"),
    "cycle": (_cycle, "cycle"),
    # Inf/NaN in BatchNorm parameters (scale, bias, mean, var), a negative variance
    "BN scale NaN": (_bn_param(1, math.nan), "must be finite"),
    "BN bias Inf": (_bn_param(2, math.inf), "must be finite"),
    "BN mean -Inf": (_bn_param(3, -math.inf), "must be finite"),
    "BN var NaN": (_bn_param(4, math.nan), "must be finite"),
    "BN var negative": (_bn_param(4, -1.0), "variance + epsilon"),
    "NaN weight": (_nan_weight, "must be finite"),
    "huge input": (_huge_input, "exceeds"),
    # found by the fuzz test: an hour of input-stage runs, a float32 overflow, a lost batch
    "levels 65536": (_metadata("65536"), "2 to 1024 levels"),
    "input scale 1e38": (_input_scale(1e38), "overflow float32"),
    "input Flatten axis 3": (_attribute("Flatten", "axis", 3), "must keep batch 1"),
    "external data outside": (_external_outside, "climbs out"),
}


@pytest.mark.parametrize("finding", sorted(FINDINGS))
def test_probe_finding_is_a_one_line_error(
    finding: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    digits_mlp: onnx.ModelProto,
) -> None:
    mutate, expected = FINDINGS[finding]
    proto = onnx.ModelProto()
    proto.CopyFrom(digits_mlp)
    mutate(proto)
    (tmp_path / "outside.bin").write_bytes(b"\0" * 1024)
    folder = tmp_path / "model"
    folder.mkdir()
    line = _error_line(*_compile(folder, proto, capsys))
    assert expected in line, line
    assert line.startswith(f"hwbnn: error: {folder / 'model.onnx'}: "), line  # names the file


#: attributes that compiled without a word although onnxruntime cannot run them (fuzz finds)
CNN_FINDINGS: dict[str, tuple[Mutation, str]] = {
    "Conv kernel_shape []": (_attribute("Conv", "kernel_shape", []), "kernel_shape []"),
    "MaxPool 5 pads": (_attribute("MaxPool", "pads", [0] * 5), "pads has 5 values"),
    "Flatten axis": (_attribute("Flatten", "axis", -(2**63)), "hwbnn flattens everything"),
}


@pytest.mark.parametrize("finding", sorted(CNN_FINDINGS))
def test_bad_conv_net_attribute_is_a_one_line_error(
    finding: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    digits_cnn: onnx.ModelProto,
) -> None:
    mutate, expected = CNN_FINDINGS[finding]
    proto = onnx.ModelProto()
    proto.CopyFrom(digits_cnn)
    mutate(proto)
    line = _error_line(*_compile(tmp_path, proto, capsys))
    assert expected in line, line


@pytest.mark.parametrize("field", ["metadata", "node name"])
def test_text_that_is_not_utf8_is_a_one_line_error(
    field: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], digits_mlp: onnx.ModelProto
) -> None:
    """Found by the fuzz test: protobuf hands over such a string as bytes (a TypeError)."""
    proto = onnx.ModelProto()
    proto.CopyFrom(digits_mlp)
    if field == "metadata":
        _metadata("ZZZZ")(proto)
    else:
        proto.graph.node[0].name = "ZZZZ"
    model, build = tmp_path / "model.onnx", tmp_path / "build"
    model.write_bytes(proto.SerializeToString().replace(b"ZZZZ", b"\x80ZZZ"))
    capsys.readouterr()
    code = main(["compile", str(model), "-o", str(build)])
    line = _error_line(code, capsys.readouterr().err.strip().splitlines(), build)
    assert "not UTF-8" in line


def test_valid_metadata_and_unmutated_model_compile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], digits_mlp: onnx.ModelProto
) -> None:
    """The same model unmutated, and with its levels written as another valid integer."""
    code, err, build = _compile(tmp_path, digits_mlp, capsys)
    assert code == 0 and (build / "ir.json").is_file(), err
    proto = onnx.ModelProto()
    proto.CopyFrom(digits_mlp)
    _metadata("33")(proto)
    (tmp_path / "again").mkdir()
    code, err, build = _compile(tmp_path / "again", proto, capsys)
    assert code == 0, err
