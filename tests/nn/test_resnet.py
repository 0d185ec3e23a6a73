"""Binary residual nets of hwbnn.nn (digits-resnet, mnist-resnet): shapes and configs, a forward
pass equal to a hand-written +-1 residual network, the exported QONNX graph (Fork, Add, side
input of the sign) equal to torch under execute_onnx, checkpoints, and short training runs with
the conv-capable methods."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from brevitas.nn import QuantConv2d
from torch import nn

from hwbnn.data import load_digits
from hwbnn.errors import ConfigError
from hwbnn.export import check_export, export_qonnx_model
from hwbnn.nn import (
    BinaryResNet,
    ConvStage,
    ResBlock,
    ResNetConfig,
    Shortcut,
    build_model,
    config_from_dict,
    model_config,
)
from hwbnn.train import TrainConfig, load_checkpoint, save_checkpoint, train
from hwbnn.train.methods import build_methods
from hwbnn.train.methods.cbcn import rotate


def _digits_resnet(mode: str = "binary") -> ResNetConfig:
    config = model_config("digits-resnet", (1, 8, 8), 10, 17, 5, mode)
    assert isinstance(config, ResNetConfig)
    return config


def _randomise_norms(model: nn.Module, seed: int) -> nn.Module:
    """Random BatchNorm statistics and affines (a fresh BatchNorm is nearly the identity)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
                c = m.num_features
                m.running_mean.copy_(torch.rand(c, generator=gen) * 8 - 4)
                m.running_var.copy_(torch.rand(c, generator=gen) * 4 + 0.5)
                m.weight.copy_(torch.rand(c, generator=gen) * 2 - 1)
                m.bias.copy_(torch.rand(c, generator=gen) * 2 - 1)
    return model.eval()


@pytest.mark.parametrize(
    ("name", "shape", "feature_shape", "signs"),
    [("digits-resnet", (1, 8, 8), (32, 2, 2), 4), ("mnist-resnet", (1, 28, 28), (64, 3, 3), 4)],
)
def test_zoo_shapes(name: str, shape, feature_shape, signs: int) -> None:
    config = model_config(name, shape, 10, 17, 5)
    assert isinstance(config, ResNetConfig) and config.feature_shape == feature_shape
    model = build_model(config)
    assert isinstance(model, BinaryResNet)
    # stem, block 1's output, block 2's conv shortcut and output
    assert len(model.activations()) == signs
    model.eval()
    x = torch.rand(3, *shape)
    with torch.no_grad():
        out = model(x)
    dots = model.last_layer_dot(x)
    assert out.shape == dots.shape == (3, 10)
    assert torch.equal(dots, torch.round(dots))
    assert config_from_dict(config.to_dict()) == config
    assert model_config(name, shape, 10, 17, 5, hidden=(24,)).dense == (24,)


def test_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"model 'digits-resnet' needs \(C, H, W\) images"):
        model_config("digits-resnet", (64,), 10, 17, 5)
    with pytest.raises(ValueError, match="identity shortcut needs stride 1"):
        ResBlock(8, stride=2)
    with pytest.raises(ValueError, match="max-pool shortcut downsamples"):
        ResBlock(8, shortcut="pool")
    with pytest.raises(ValueError, match="stride 1 or 2"):
        ResBlock(8, stride=3, shortcut="conv")
    stem = ConvStage(8, padding=1)
    with pytest.raises(ValueError, match="block 0: a identity shortcut keeps the 8 channels"):
        ResNetConfig((1, 8, 8), stem, (ResBlock(16),), (), 10)
    with pytest.raises(ValueError, match="block 1: a max-pool shortcut needs an even size"):
        blocks = (ResBlock(8, 2, "conv"), ResBlock(8, 2, "pool"))
        ResNetConfig((1, 6, 6), stem, blocks, (), 10)
    with pytest.raises(ValueError, match="pool does not fit the 1x1 map"):
        ResNetConfig((1, 2, 2), stem, (ResBlock(8, 2, "conv"),), (), 10)


# -- a hand-written +-1 residual network --------------------------------------------------------


def _sign(x: np.ndarray) -> np.ndarray:
    return np.where(x >= 0, 1, -1).astype(np.int64)


def _conv(x: np.ndarray, w: np.ndarray, pad: int, stride: int) -> np.ndarray:
    """(N, C, H, W) integers padded with -1, (M, C, K, K) +-1 -> (N, M, OH, OW) by loops over
    the taps."""
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), constant_values=-1)
    n, _, h, wd = x.shape
    m, _, k, _ = w.shape
    oh, ow = (h - k) // stride + 1, (wd - k) // stride + 1
    out = np.zeros((n, m, oh, ow), dtype=np.int64)
    for ky in range(k):
        for kx in range(k):
            rows = slice(ky, ky + stride * (oh - 1) + 1, stride)
            cols = slice(kx, kx + stride * (ow - 1) + 1, stride)
            patch = x[:, :, rows, cols]
            out += np.einsum("nchw,mc->nmhw", patch, w[:, :, ky, kx])
    return out


def _pool(x: np.ndarray, k: int) -> np.ndarray:
    n, c, h, w = x.shape
    x = x[:, :, : h // k * k, : w // k * k]
    return x.reshape(n, c, h // k, k, w // k, k).max(axis=(3, 5))


def _bn(acc: np.ndarray, bn: nn.BatchNorm1d | nn.BatchNorm2d) -> np.ndarray:
    """BatchNorm of integers in float64 (gamma = +-1, half-integer means: never a tie)."""
    shape = (1, -1, 1, 1) if acc.ndim == 4 else (1, -1)
    gamma = bn.weight.detach().numpy().astype(np.float64).reshape(shape)
    mean = bn.running_mean.numpy().astype(np.float64).reshape(shape)
    std = np.sqrt(bn.running_var.numpy().astype(np.float64) + bn.eps).reshape(shape)
    return gamma * (acc - mean) / std + bn.bias.detach().numpy().astype(np.float64).reshape(shape)


def _set_half_integer_norms(model: nn.Module, rng: np.random.Generator) -> None:
    with torch.no_grad():
        for bn in model.modules():
            if isinstance(bn, nn.BatchNorm1d | nn.BatchNorm2d):
                c = bn.num_features
                bn.running_mean.copy_(torch.tensor(rng.integers(-4, 4, c) + 0.5))
                bn.running_var.fill_(1.0)
                bn.weight.copy_(torch.tensor(rng.choice([-1.0, 1.0], c)))
                bn.bias.zero_()


def _bits(conv: nn.Module) -> np.ndarray:
    return _sign(conv.weight.detach().numpy())


def test_forward_equals_hand_written_pm1_residual_network() -> None:
    """Every shortcut kind: identity, 1x1 stride-2 conv (new channels), 2x2 max pool."""
    rng = np.random.default_rng(0)
    config = ResNetConfig(
        input_shape=(2, 8, 8),
        stem=ConvStage(4, padding=1),
        blocks=(ResBlock(4), ResBlock(6, 2, Shortcut.CONV), ResBlock(6, 2, Shortcut.POOL)),
        dense=(5,),
        classes=3,
        pool=1,
    )
    model = build_model(config)
    assert isinstance(model, BinaryResNet)
    _set_half_integer_norms(model, rng)
    model.eval()
    x = rng.integers(0, 17, (12, 2, 8, 8)).astype(np.float32) / 16
    dots = model.last_layer_dot(torch.from_numpy(x)).numpy()

    a = _sign(x - 0.5)
    a = _sign(_bn(_conv(a, _bits(model.stem[1]), 1, 1), model.stem[2]))
    for block in model.blocks:
        stride = block.block.stride
        main = _bn(_conv(a, _bits(block.conv), 1, stride), block.norm)
        if block.block.shortcut == Shortcut.CONV:
            short = _sign(_bn(_conv(a, _bits(block.shortcut[0]), 0, stride), block.shortcut[1]))
        elif block.block.shortcut == Shortcut.POOL:
            short = _pool(a, 2)
        else:
            short = a
        a = _sign(main + short)
    assert a.shape == (12, 6, 2, 2)
    a = _sign(_bn(a.reshape(12, -1) @ _bits(model.hidden[0]).T, model.hidden[1]))
    expected = a @ _bits(model.classifier).T
    assert np.array_equal(dots, expected.astype(np.float32))


# -- QONNX export --------------------------------------------------------------------------------


def _consumers(graph) -> Counter:
    return Counter(name for node in graph.node for name in node.input)


@pytest.mark.parametrize("mode", ["binary", "integer"])
def test_export_graph_and_execute_onnx_equal_torch(tmp_path: Path, mode: str) -> None:
    data = load_digits()
    torch.manual_seed(1)
    model = _randomise_norms(build_model(_digits_resnet(mode)), seed=1)
    qmodel = export_qonnx_model(model, tmp_path / "m.onnx")
    check = check_export(model, qmodel, data.x_test)
    assert check.frames == 360 and check.label_mismatches == 0
    assert check.max_abs_logit_diff < 1e-4

    graph = qmodel.graph
    producer = {out: node for node in graph.node for out in node.output}
    uses = _consumers(graph)
    adds = [n for n in graph.node if n.op_type == "Add"]
    assert len(adds) == 2
    for add in adds:  # main branch (BN of the 3x3 conv) + a +-1 shortcut, then sign
        main, short = (producer[name] for name in add.input)
        assert main.op_type == "BatchNormalization"
        assert producer[main.input[0]].op_type == "Conv"
        assert short.op_type == "BipolarQuant"
        (after,) = [n for n in graph.node if add.output[0] in n.input]
        assert after.op_type == "BipolarQuant"
        assert qmodel.get_initializer(after.input[1]).item() == 1.0  # scale 1
    # block 1: identity shortcut, its input (the stem's sign) is read by the Pad and the Add
    stem_sign = adds[0].input[1]
    assert uses[stem_sign] == 2
    assert sorted(n.op_type for n in graph.node if stem_sign in n.input) == ["Add", "Pad"]
    # block 2: block 1's sign is read by the main Pad and the 1x1 stride-2 shortcut Conv
    block1 = adds[0].output[0]
    (sign1,) = [n.output[0] for n in graph.node if block1 in n.input]
    readers = sorted(n.op_type for n in graph.node if sign1 in n.input)
    assert readers == ["Conv", "Pad"]
    (shortcut_conv,) = [n for n in graph.node if sign1 in n.input and n.op_type == "Conv"]
    attrs = {a.name: list(a.ints) for a in shortcut_conv.attribute}
    assert attrs["kernel_shape"] == [1, 1] and attrs["strides"] == [2, 2]
    assert qmodel.get_tensor_shape(adds[1].output[0]) == [1, 32, 4, 4]
    # a tensor read twice is exactly a block input; every other tensor is read once at most
    assert sorted(name for name, k in uses.items() if k > 1) == sorted([stem_sign, sign1])


# -- checkpoints and training --------------------------------------------------------------------


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    model = _randomise_norms(build_model(_digits_resnet("integer")), seed=2)
    save_checkpoint(tmp_path / "m.pt", model, "digits", {"test_accuracy": 0.25})
    loaded, ckpt = load_checkpoint(tmp_path / "m.pt")
    assert isinstance(loaded, BinaryResNet) and loaded.config == model.config
    assert ckpt["model"]["kind"] == "resnet" and ckpt["test_accuracy"] == 0.25
    x = torch.rand(7, 1, 8, 8)
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))


def _subset(n: int):
    data = load_digits()
    return type(data)(
        data.name,
        data.x_train[:n],
        data.y_train[:n],
        data.x_test[:n],
        data.y_test[:n],
        data.levels,
        data.classes,
    )


def test_training_reduces_the_loss() -> None:
    result = train(_digits_resnet(), _subset(384), TrainConfig(epochs=2, seed=0, progress=False))
    losses = [m["train_loss"] for m in result.history]
    assert losses[-1] < losses[0]


@pytest.mark.parametrize(
    ("specs", "convs_scaled"),
    [
        ([("cbcn", ["copies=4"]), ("distribution_loss", [])], False),
        ([("approxsign", []), ("xnorpp", [])], True),
    ],
)
def test_conv_methods_compose_and_export(tmp_path: Path, specs, convs_scaled: bool) -> None:
    data = _subset(256)
    cfg = TrainConfig(epochs=1, seed=0, progress=False, methods=build_methods(specs))
    result = train(_digits_resnet(), data, cfg)
    assert np.isfinite(result.history[-1]["train_loss"])
    save_checkpoint(tmp_path / "m.pt", result.model, "digits", {})
    model, _ = load_checkpoint(tmp_path / "m.pt")
    qmodel = export_qonnx_model(model, tmp_path / "m.onnx")
    check = check_export(model, qmodel, data.x_test[:64])
    assert check.label_mismatches == 0 and check.max_abs_logit_diff < 1e-4
    nodes = qmodel.graph.node
    after_conv = [
        reader.op_type
        for conv in nodes
        if conv.op_type == "Conv"
        for reader in nodes
        if conv.output[0] in reader.input
    ]
    assert len(after_conv) == 4
    assert (set(after_conv) == {"Mul"}) == convs_scaled
    if not convs_scaled:  # CBCN deploys plain convolutions: copy m of kernel k is k rotated
        convs = [m for m in model.modules() if isinstance(m, QuantConv2d)]
        for conv in convs:
            if tuple(conv.kernel_size) != (3, 3):
                continue
            w = conv.weight.detach()
            for k in range(0, w.shape[0], 4):
                for m in range(4):
                    assert torch.equal(w[k + m], rotate(w[k], 2 * m))


def test_train_and_export_through_the_pipeline(tmp_path: Path) -> None:
    """``hwbnn train --model digits-resnet`` and ``hwbnn export`` (their pipeline steps)."""
    from hwbnn.pipeline.config import TrainOptions
    from hwbnn.pipeline.steps import export_checkpoint, train_to_dir

    opts = TrainOptions(model="digits-resnet", epochs=1)
    info = train_to_dir(tmp_path, opts, progress=False)
    assert 0.0 <= info["test_accuracy"] <= 1.0
    exported = export_checkpoint(tmp_path / "model.pt", tmp_path / "model.onnx", None)
    assert exported["check_label_mismatches"] == 0 and exported["check_frames"] == 360
