"""Deterministic Binary Filters (hwbnn.train.methods.dbf, hwbnn.nn.dbf): arguments, alpha
quantization and 2-basis layers by hand, the fixed bases outside the trainable state, and short
digits-mlp / digits-cnn runs whose QONNX export gives execute_onnx labels == torch labels."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from brevitas.nn import QuantLinear

from hwbnn.data import load_digits
from hwbnn.errors import ConfigError
from hwbnn.export import check_export, export_qonnx_model
from hwbnn.frontend.lower import lower
from hwbnn.nn import MLPConfig, build_model, model_config
from hwbnn.nn.dbf import BasisCodes, DBFConv2d, DBFLinear, alpha_quant, equivalent_weight
from hwbnn.reference import Reference
from hwbnn.train import TrainConfig, load_checkpoint, save_checkpoint, train
from hwbnn.train.methods import build_method, build_methods


def _set_alpha(layer: DBFLinear | DBFConv2d, values: list[list[float]]) -> None:
    with torch.no_grad():
        layer.combine.weight.copy_(torch.tensor(values).reshape(layer.combine.weight.shape))


def test_arguments() -> None:
    method = build_method("dbf", ["bases=8", "alpha_bits=3"])
    assert (method.args.bases, method.args.codes, method.args.alpha_bits) == (
        8,
        BasisCodes.OVSF,
        3,
    )
    assert method.describe() == "dbf(bases=8, codes=ovsf, alpha_bits=3)"
    with pytest.raises(ConfigError, match="bases must be a power of two"):
        build_method("dbf", ["bases=6"])
    with pytest.raises(ConfigError, match="alpha_bits must be 2..8"):
        build_method("dbf", ["alpha_bits=1"])
    with pytest.raises(ConfigError, match=r"expected one of \['ovsf'\]"):
        build_method("dbf", ["codes=hadamard"])
    with pytest.raises(ConfigError, match="'cbcn' and 'dbf' both set the weights"):
        build_methods([("cbcn", []), ("dbf", [])])


def test_configure_sets_the_model_config() -> None:
    config = model_config("digits-mlp", (1, 8, 8), 10, 17, 5)
    dbf = build_method("dbf", ["bases=32", "alpha_bits=5"]).configure(config)
    assert (dbf.dbf_bases, dbf.dbf_codes, dbf.dbf_alpha_bits) == (32, BasisCodes.OVSF, 5)
    assert MLPConfig.from_dict(dbf.to_dict()) == dbf  # what a checkpoint stores
    resnet = model_config("digits-resnet", (1, 8, 8), 10, 17, 5)
    with pytest.raises(ConfigError, match="not residual nets"):
        build_method("dbf").configure(resnet)
    with pytest.raises(ValueError, match="no binary layers to build from bases"):
        dataclasses.replace(dbf, precision="float")
    # a scale method composes in either order: a per-channel scale after the combination
    for specs in ([("xnorpp", []), ("dbf", [])], [("dbf", []), ("xnor", [])]):
        for method in build_methods(specs):
            config = method.configure(config)
        model = build_model(config)
        assert isinstance(model.hidden[0], DBFLinear) and model.hidden[1].__class__.__name__ in (
            "LearnedScale",
            "MeanAbsScale",
        )
        assert model(torch.rand(3, 1, 8, 8)).shape == (3, 10)


def test_alpha_quantization_by_hand() -> None:
    # 3 bits: integers -3..3; per-row scale s = 2^ceil(log2 max|alpha|) / 4
    layer = QuantLinear(2, 2, bias=False, weight_quant=alpha_quant(3))
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.5, -0.26], [0.1, 0.9]]))
    q = layer.quant_weight()
    # row 0: max 0.5 -> s = 2^-1 / 4 = 1/8, round(4, -2.08) = (4, -2), clamped to (3, -2)
    # row 1: max 0.9 -> s = 2^0 / 4 = 1/4, round(0.4, 3.6) = (0, 4), clamped to (0, 3)
    assert q.scale.flatten().tolist() == [0.125, 0.25]
    assert q.int().tolist() == [[3, -2], [0, 3]]
    assert q.value.tolist() == [[0.375, -0.25], [0.0, 0.75]]
    assert int(q.bit_width) == 3


@pytest.mark.parametrize("bits", [2, 4, 8])
def test_alpha_takes_at_most_2_to_the_bits_minus_1_levels(bits: int) -> None:
    torch.manual_seed(0)
    layer = QuantLinear(512, 4, bias=False, weight_quant=alpha_quant(bits))
    ints = layer.quant_weight().int()
    limit = 2 ** (bits - 1) - 1  # narrow range: -limit..limit
    # the largest |alpha| of a row maps into (2^(bits-2), 2^(bits-1)], clamped to limit
    top = ints.abs().amax(dim=1)
    assert bool(((top >= 2 ** (bits - 2)) & (top <= limit)).all())
    assert len(torch.unique(ints)) <= 2 * limit + 1


def test_two_basis_dense_layer_by_hand() -> None:
    layer = DBFLinear(4, 1, bases=2, alpha_bits=4, codes=BasisCodes.OVSF)
    # bases: every 2nd OVSF code of length 4, B_0 = (1, 1, 1, 1), B_1 = (1, -1, 1, -1)
    assert layer.basis.weight.tolist() == [[1, 1, 1, 1], [1, -1, 1, -1]]
    _set_alpha(layer, [[0.375, -0.25]])  # 4 bits, s = 2^-1 / 8 = 1/16: ints (6, -4), exact
    x = torch.tensor([[1.0, 1.0, -1.0, 1.0]])
    # x . B_0 = 2, x . B_1 = 1 - 1 - 1 - 1 = -2; y = 0.375 * 2 + (-0.25) * (-2) = 1.25
    assert layer(x).tolist() == [[1.25]]
    assert equivalent_weight(layer).tolist() == [[0.125, 0.625, 0.125, 0.625]]


def test_two_basis_convolution_by_hand() -> None:
    layer = DBFConv2d(1, 1, 2, bases=2, alpha_bits=4, codes=BasisCodes.OVSF)
    # 2x2 bases (flattened row-major): B_0 = [[1, 1], [1, 1]], B_1 = [[1, -1], [1, -1]]
    assert layer.basis.weight.tolist() == [[[[1, 1], [1, 1]]], [[[1, -1], [1, -1]]]]
    _set_alpha(layer, [[0.375, -0.25]])
    x = torch.tensor([[[[1.0, -1.0, 1.0], [1.0, 1.0, -1.0], [-1.0, 1.0, 1.0]]]])
    # top-left window [[1, -1], [1, 1]]: x . B_0 = 2, x . B_1 = 1 + 1 + 1 - 1 = 2 -> 0.25
    # top-right window [[-1, 1], [1, -1]]: x . B_0 = 0, x . B_1 = -1 - 1 + 1 + 1 = 0 -> 0
    y = layer(x)
    assert y[0, 0, 0].tolist() == [0.25, 0.0]
    expected = torch.nn.functional.conv2d(x, equivalent_weight(layer))
    assert torch.equal(y, expected)


def test_bases_are_fixed_and_not_in_the_state() -> None:
    layer = DBFConv2d(16, 8, 3, bases=16, alpha_bits=4, codes=BasisCodes.OVSF)
    assert [name for name, _ in layer.named_parameters()] == ["combine.weight"]
    assert list(layer.state_dict()) == ["combine.weight"]
    assert tuple(layer.basis.weight.shape) == (16, 16, 3, 3)
    assert tuple(layer.combine.weight.shape) == (8, 16, 1, 1)
    small = DBFConv2d(1, 8, 3, bases=32, alpha_bits=4, codes=BasisCodes.OVSF)
    assert small.basis.out_channels == 16  # a 9-element filter has 16 codes of length 16


def _train_export(model: str, out: Path, specs) -> tuple:
    """A short training on a third of the digits training split, a checkpoint round trip, and the
    export; returns the reloaded model, its QONNX, the data and the test accuracy."""
    data = load_digits()
    assert data.x_train is not None and data.y_train is not None
    part = dataclasses.replace(data, x_train=data.x_train[:480], y_train=data.y_train[:480])
    config = model_config(model, data.image_shape, 10, data.levels, data.input_bits)
    cfg = TrainConfig(epochs=2, seed=0, progress=False, methods=build_methods(specs))
    result = train(config, part, cfg)
    save_checkpoint(out / "model.pt", result.model, "digits", {})
    loaded, _ = load_checkpoint(out / "model.pt")
    with torch.no_grad():
        x = torch.from_numpy(data.x_test)
        assert torch.equal(loaded(x), result.model.eval()(x))
    return loaded, export_qonnx_model(loaded, out / "model.onnx"), data, result.test_accuracy


@pytest.mark.slow
@pytest.mark.parametrize("model", ["digits-mlp", "digits-cnn"])
def test_export_executes_like_torch_and_lowers_exactly(tmp_path, model: str) -> None:
    model_, qmodel, data, accuracy = _train_export(model, tmp_path, [("dbf", [])])
    ops = [n.op_type for n in qmodel.graph.node]
    assert ops.count("BipolarQuant") > 0 and ops.count("Quant") == len(
        [m for m in model_.modules() if isinstance(m, DBFLinear | DBFConv2d)]
    )
    check = check_export(model_, qmodel, data.x_test)
    assert check.frames == 360 and check.label_mismatches == 0
    assert accuracy > 0.2  # 2 epochs on 480 images; chance is 0.1
    # lowered to DBF units, the reference's integer accumulators are torch's last-layer sums
    # without the power-of-two scales, and its labels torch's
    ref = Reference(lower(qmodel)).run(data.x_test)
    x = torch.from_numpy(data.x_test)
    dots = model_.eval().last_layer_dot(x).numpy()
    assert np.array_equal(ref.accumulators, dots)
    with torch.no_grad():
        assert np.array_equal(ref.labels, model_(x).argmax(1).numpy())


def test_exported_weights_are_the_codes_and_integer_alpha(tmp_path) -> None:
    config = dataclasses.replace(
        model_config("digits-mlp", (1, 8, 8), 10, 17, 5, hidden=(16,)),
        dbf_bases=8,
        dbf_alpha_bits=3,
    )
    model = build_model(config)
    qmodel = export_qonnx_model(model, tmp_path / "model.onnx")
    first = next(n for n in qmodel.graph.node if n.op_type == "BipolarQuant")
    codes = qmodel.get_initializer(first.input[0])
    basis = model.hidden[0].basis.weight.numpy()
    assert np.array_equal(codes.T, basis)  # MatMul weights: (fan_in, M)
    quant = next(n for n in qmodel.graph.node if n.op_type == "Quant")
    assert float(qmodel.get_initializer(quant.input[3])) == 3.0  # bit width


def test_xnorpp_on_a_dbf_conv_net_is_refused() -> None:
    data = load_digits()
    assert data.x_train is not None and data.y_train is not None
    tiny = dataclasses.replace(data, x_train=data.x_train[:8], y_train=data.y_train[:8])
    config = model_config("digits-cnn", data.image_shape, 10, data.levels, data.input_bits)
    cfg = TrainConfig(
        epochs=1, progress=False, methods=build_methods([("dbf", []), ("xnorpp", [])])
    )
    with pytest.raises(ConfigError, match="would also scale the DBF basis outputs"):
        train(config, tiny, cfg)
