"""LowerBasisCombination: DBF layers (hwbnn.nn.dbf) of small untrained Brevitas MLPs, exported
with hwbnn's exporter, become DBFMatrixVector nodes whose reference equals the torch model
exactly (labels and accumulators), including channels whose BatchNorm decreases (alpha rows
negated) and an integer-input first layer; graphs the pass cannot map are refused with an
error naming the node and the DBF layer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from qonnx.core.modelwrapper import ModelWrapper

from hwbnn.errors import ModelError
from hwbnn.export import export_qonnx_model, load_qonnx
from hwbnn.frontend.lower import lower
from hwbnn.ir.types import DBFMatrixVector
from hwbnn.nn.dbf import DBFLinear
from hwbnn.nn.mlp import BinaryMLP, MLPConfig
from hwbnn.reference import Reference


def _mlp(seed: int, input_mode: str = "binary", bases: int = 8) -> BinaryMLP:
    torch.manual_seed(seed)
    config = MLPConfig(
        (1, 4, 4), (12,), 5, input_mode=input_mode, dbf_bases=bases, dbf_alpha_bits=4
    )
    model = BinaryMLP(config)
    with torch.no_grad():  # BatchNorm statistics that make every channel switch, some decreasing
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                n = module.num_features
                module.running_mean.uniform_(-3, 3)
                module.running_var.uniform_(0.5, 4)
                module.weight.copy_(torch.linspace(-1, 1, n) + 0.05)
                module.bias.uniform_(-1, 1)
    return model.eval()


def _inputs(seed: int, count: int = 300) -> np.ndarray:
    """Inputs on the model's grid of 17 levels in [0, 1]."""
    codes = np.random.default_rng(seed).integers(0, 17, (count, 1, 4, 4))
    return (codes / np.float32(16)).astype(np.float32)


@pytest.mark.parametrize("input_mode", ["binary", "integer"])
def test_dbf_mlp_lowers_exactly(tmp_path: Path, input_mode: str) -> None:
    model = _mlp(1, input_mode)
    export_qonnx_model(model, tmp_path / "m.onnx")
    net = lower(load_qonnx(tmp_path / "m.onnx"))
    units = [layer for layer in net.layers if isinstance(layer, DBFMatrixVector)]
    assert len(units) == 2 and units[-1].is_output and units[0].bases == 8
    assert units[0].binary_input == (input_mode == "binary")
    x = _inputs(2)
    with torch.no_grad():
        logits = model(torch.from_numpy(x)).numpy()
        dots = model.last_layer_dot(torch.from_numpy(x)).numpy()
    ref = Reference(net).run(x)
    assert np.array_equal(ref.labels, logits.argmax(1))
    assert isinstance(model.classifier, DBFLinear)
    assert np.array_equal(ref.accumulators, dots)  # the integer y_c, without the scales s_c
    hidden = units[0]
    assert hidden.thresholds is not None
    assert len(np.unique(hidden.thresholds)) > 3  # thresholds that matter


def test_decreasing_channels_negate_alpha(tmp_path: Path) -> None:
    model = _mlp(3)
    export_qonnx_model(model, tmp_path / "m.onnx")
    net = lower(load_qonnx(tmp_path / "m.onnx"))
    hidden = next(layer for layer in net.layers if isinstance(layer, DBFMatrixVector))
    first = model.hidden[0]
    assert isinstance(first, DBFLinear)
    q = first.combine.quant_weight()
    trained = np.rint((q.value / q.scale).detach().numpy()).astype(np.int64)
    negative = model.hidden[1].weight.detach().numpy() < 0  # the BatchNorm's slope
    assert negative.any() and (~negative).any()
    assert np.array_equal(hidden.alpha[negative], -trained[negative])
    assert np.array_equal(hidden.alpha[~negative], trained[~negative])


def _export(tmp_path: Path) -> onnx.ModelProto:
    export_qonnx_model(_mlp(4), tmp_path / "m.onnx")
    return onnx.load(str(tmp_path / "m.onnx"))


def _quant_scale(proto: onnx.ModelProto) -> str:
    quant = next(n for n in proto.graph.node if n.op_type == "Quant")
    return quant.input[1]


def test_non_power_of_two_alpha_scale_is_refused(tmp_path: Path) -> None:
    proto = _export(tmp_path)
    name = _quant_scale(proto)
    init = next(i for i in proto.graph.initializer if i.name == name)
    value = onnx.numpy_helper.to_array(init) * np.float32(0.75)
    init.CopyFrom(onnx.numpy_helper.from_array(value.astype(np.float32), name))
    with pytest.raises(ModelError, match=r"\(Quant\): DBF layer .* not a positive power of two"):
        lower(ModelWrapper(proto))


def test_float_combination_is_refused(tmp_path: Path) -> None:
    """A MatMul reading a product directly whose weights are no Quant: named, said to be DBF."""
    proto = _export(tmp_path)
    quant = next(n for n in proto.graph.node if n.op_type == "Quant")
    model = ModelWrapper(proto)
    weights = np.asarray(
        onnx.numpy_helper.to_array(
            next(i for i in proto.graph.initializer if i.name == quant.input[0])
        )
    )
    matmul = next(n for n in proto.graph.node if quant.output[0] in n.input)
    model.set_initializer("float_alpha", weights.astype(np.float32))
    matmul.input[1] = "float_alpha"
    proto.graph.node.remove(quant)
    with pytest.raises(ModelError, match=rf"node {matmul.name} \(MatMul\).*DBF layer"):
        lower(model)


def _conv_export(tmp_path: Path) -> Path:
    from dataclasses import replace

    from hwbnn.nn.zoo import build_model, model_config

    torch.manual_seed(5)
    config = replace(model_config("digits-cnn", (1, 8, 8), 10, 17, 5), dbf_bases=4)
    model = build_model(config).eval()
    export_qonnx_model(model, tmp_path / "c.onnx")
    return tmp_path / "c.onnx"


def test_dbf_conv_lowers_and_zero_padding_is_refused(tmp_path: Path) -> None:
    path = _conv_export(tmp_path)
    net = lower(load_qonnx(path))
    convs = [la for la in net.layers if isinstance(la, DBFMatrixVector) and la.pixels > 1]
    assert len(convs) == 3 and all(la.bases == 4 for la in convs)
    proto = onnx.load(str(path))
    pad = next(n for n in proto.graph.node if n.op_type == "Pad")
    value = next(i for i in proto.graph.initializer if i.name == pad.input[2])
    value.CopyFrom(onnx.numpy_helper.from_array(np.zeros((), np.float32), value.name))
    conv = next(n for n in proto.graph.node if pad.output[0] in n.input)
    message = rf"not a 1-bit value.*\(node {conv.name} \(Conv\) is the basis product of a DBF"
    with pytest.raises(ModelError, match=message):
        lower(ModelWrapper(proto))
