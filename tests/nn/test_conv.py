"""Binary conv nets of hwbnn.nn: shapes, -1 padding in the exported graph, and a forward pass
equal to a hand-written +-1 convolution network."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from hwbnn.errors import ConfigError
from hwbnn.export import export_qonnx_model
from hwbnn.nn import (
    BinaryConvNet,
    ConvConfig,
    ConvStage,
    build_model,
    config_from_dict,
    model_config,
)


@pytest.mark.parametrize(
    ("name", "shape", "feature_shape"),
    [
        ("digits-cnn", (1, 8, 8), (32, 2, 2)),
        ("mnist-cnn", (1, 28, 28), (32, 4, 4)),
        ("cnv", (3, 32, 32), (256, 1, 1)),
    ],
)
def test_zoo_shapes(name: str, shape: tuple[int, int, int], feature_shape) -> None:
    config = model_config(name, shape, 10, 256, 8, "integer")
    assert isinstance(config, ConvConfig) and config.feature_shape == feature_shape
    model = build_model(config)
    assert isinstance(model, BinaryConvNet)
    model.eval()
    with torch.no_grad():
        out = model(torch.rand(2, *shape))
        dots = model.last_layer_dot(torch.rand(2, *shape))
    assert out.shape == dots.shape == (2, 10)
    assert torch.equal(dots, torch.round(dots))
    assert config_from_dict(config.to_dict()) == config


def test_cnv_is_finns_topology() -> None:
    config = model_config("cnv", (3, 32, 32), 10, 256, 8, "integer")
    assert isinstance(config, ConvConfig)
    assert [s.channels for s in config.stages] == [64, 64, 128, 128, 256, 256]
    assert [s.pool for s in config.stages] == [1, 2, 1, 2, 1, 1]
    assert all(s.padding == 0 and s.kernel == 3 for s in config.stages)
    assert config.dense == (512, 512)


def test_config_errors() -> None:
    with pytest.raises(ConfigError, match="needs \\(C, H, W\\) images"):
        model_config("digits-cnn", (64,), 10, 17, 5)
    with pytest.raises(ConfigError, match="shrink the \\(1, 4, 4\\) input to nothing"):
        model_config("cnv", (1, 4, 4), 10, 17, 5)
    with pytest.raises(ConfigError, match="unknown model 'resnet'"):
        model_config("resnet", (1, 8, 8), 10, 17, 5)
    with pytest.raises(ValueError, match="padding must be in \\[0, kernel\\)"):
        ConvStage(8, kernel=3, padding=3)


@pytest.mark.parametrize(("mode", "pad_value"), [("binary", -1.0), ("integer", 0.0)])
def test_export_pads_explicitly(tmp_path, mode: str, pad_value: float) -> None:
    from qonnx.core.modelwrapper import ModelWrapper  # noqa: F401  (export returns one)

    config = model_config("digits-cnn", (1, 8, 8), 10, 17, 5, mode)
    qmodel = export_qonnx_model(build_model(config), tmp_path / "m.onnx")
    pads = [n for n in qmodel.graph.node if n.op_type == "Pad"]
    convs = [n for n in qmodel.graph.node if n.op_type == "Conv"]
    assert len(pads) == 2 and len(convs) == 3
    values = [float(qmodel.get_initializer(p.input[2])) for p in pads]
    assert values == [pad_value, -1.0]  # the first pads the input stage, the second a sign
    for conv in convs:
        attrs = {a.name: list(a.ints) for a in conv.attribute}
        assert attrs["pads"] == [0, 0, 0, 0]
    assert [int(v) for v in qmodel.get_initializer(pads[1].input[1])] == [0, 0, 1, 1, 0, 0, 1, 1]


def _sign(x: np.ndarray) -> np.ndarray:
    return np.where(x >= 0, 1, -1).astype(np.int64)


def _conv(x: np.ndarray, w: np.ndarray, pad: int, value: int) -> np.ndarray:
    """(N, C, H, W) integers, (M, C, K, K) +-1 -> (N, M, OH, OW) by explicit loops over taps."""
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=value)
    n, _, h, wd = x.shape
    m, _, k, _ = w.shape
    out = np.zeros((n, m, h - k + 1, wd - k + 1), dtype=np.int64)
    for ky in range(k):
        for kx in range(k):
            patch = x[:, :, ky : ky + h - k + 1, kx : kx + wd - k + 1]
            out += np.einsum("nchw,mc->nmhw", patch, w[:, :, ky, kx])
    return out


def _set_half_integer_bn(bn: nn.BatchNorm1d | nn.BatchNorm2d, rng: np.random.Generator) -> None:
    """BN whose sign is exactly sign(gamma * (x - m)) on integers: half-integer means."""
    c = bn.num_features
    with torch.no_grad():
        bn.running_mean.copy_(torch.tensor(rng.integers(-4, 4, c) + 0.5))
        bn.running_var.fill_(1.0)
        bn.weight.copy_(torch.tensor(rng.choice([-1.0, 1.0], c)))
        bn.bias.zero_()


def test_forward_equals_hand_written_pm1_network() -> None:
    rng = np.random.default_rng(0)
    config = ConvConfig(
        input_shape=(2, 7, 7),
        stages=(ConvStage(4, padding=1, pool=2), ConvStage(3, kernel=2)),
        dense=(6,),
        classes=5,
    )
    model = build_model(config)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
            _set_half_integer_bn(module, rng)
    model.eval()
    x = rng.integers(0, 17, (16, 2, 7, 7)).astype(np.float32) / 16
    with torch.no_grad():
        dots = model.last_layer_dot(torch.from_numpy(x)).numpy()

    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d)]
    weights = [_sign(m.weight.detach().numpy()) for m in convs]
    dense = [
        _sign(model.hidden[0].weight.detach().numpy()),
        _sign(model.classifier.weight.detach().numpy()),
    ]

    def bn_sign(acc: np.ndarray, bn) -> np.ndarray:
        gamma = bn.weight.detach().numpy().astype(np.int64)
        mean = bn.running_mean.numpy().astype(np.float64)
        shape = (1, -1, 1, 1) if acc.ndim == 4 else (1, -1)
        return _sign(gamma.reshape(shape) * (acc - mean.reshape(shape)))

    a = _sign(x - 0.5)
    a = bn_sign(_conv(a, weights[0], 1, -1), norms[0])
    a = a[:, :, :6, :6].reshape(16, 4, 3, 2, 3, 2).max(axis=(3, 5))  # 2x2 pool, floor mode
    a = bn_sign(_conv(a, weights[1], 0, -1), norms[1])
    a = a.reshape(16, -1)  # (C, H, W) flatten
    a = bn_sign(a @ dense[0].T, norms[2])
    expected = a @ dense[1].T
    assert np.array_equal(dots, expected.astype(np.float32))
