"""Lowering of the binary average pool (LowerAveragePool): a tiny Brevitas net, binary stem conv
padded with -1 -> BN -> sign -> pad(-1) -> AvgPool2d(3, s) -> [BN] -> sign -> flatten -> binary
linear (the ``avg_pool_3x3`` of hwbnn.nn.genotype, stride 1 and 2), exported to QONNX and
lowered to a MajorityPool: L0 (torch), L1 (execute_onnx) and L2 (reference) labels equal on
the whole digits test split and L2's accumulators equal torch's; thresholds 5 for the plain
sign, per-channel ones through a BatchNorm; the errors for what the unit cannot do."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from qonnx.core.modelwrapper import ModelWrapper
from qonnx_builders import build_chain, random_pm1
from torch import nn

from hwbnn.data import load_digits
from hwbnn.errors import ModelError
from hwbnn.export import clean_qonnx, export_qonnx_model, run_qonnx
from hwbnn.frontend.lower import InputSpec, lower
from hwbnn.ir.serialize import load_network, save_network
from hwbnn.ir.types import MajorityPool
from hwbnn.nn import build_model, model_config
from hwbnn.nn.conv import PadConstant, binary_conv, binary_linear, sign
from hwbnn.reference import Reference
from hwbnn.verify.ladder import run_ladder

CHANNELS = 8


def _model(seed: int, stride: int, bn: bool, pool_padding: int = 0) -> nn.Module:
    """digits-cnn's input stage (sign(x - 0.5)) and output affine around the majority net."""
    torch.manual_seed(seed)
    model = build_model(model_config("digits-cnn", (1, 8, 8), 10, 17, 5))
    stem_bn = nn.BatchNorm2d(CHANNELS)
    blocks: list[nn.Module] = [
        PadConstant(1, -1.0),
        binary_conv(1, CHANNELS, 3),
        stem_bn,
        sign(),
        PadConstant(1, -1.0),
        nn.AvgPool2d(3, stride, padding=pool_padding),
    ]
    pool_bn = nn.BatchNorm2d(CHANNELS)
    if bn:
        blocks.append(pool_bn)
    blocks.append(sign())
    side = (8 + 2 + 2 * pool_padding - 3) // stride + 1
    model.features = nn.Sequential(*blocks)
    model.classifier = binary_linear(CHANNELS * side * side, 10)
    with torch.no_grad():
        stem_bn.running_mean.uniform_(-4, 4)
        pool_bn.weight.uniform_(0.5, 2.0)
        pool_bn.bias.uniform_(-0.3, 0.3)
        pool_bn.running_mean.uniform_(-0.6, 0.6)
        model.output_norm.weight.uniform_(0.5, 2.0)
    return model


@pytest.mark.parametrize(("stride", "bn"), [(1, False), (2, True)])
def test_majority_pool_ladder_on_the_digits_split(tmp_path: Path, stride: int, bn: bool) -> None:
    model = _model(stride, stride, bn)
    qmodel = export_qonnx_model(model, tmp_path / "model.onnx")
    assert any(n.op_type == "AveragePool" for n in qmodel.graph.node)
    net = lower(qmodel)
    (pool,) = [n for n in net.layers if isinstance(n, MajorityPool)]
    assert (pool.in_shape, pool.kernel, pool.stride, pool.padding) == (
        (8, 8, CHANNELS),
        3,
        stride,
        (1, 1, 1, 1),
    )
    if bn:  # BN(mean) >= 0 at a per-channel count: not all the plain sign's 5
        assert len(set(pool.thresholds.tolist())) > 1
    else:
        assert pool.thresholds.tolist() == [5] * CHANNELS
    data = load_digits()
    records = run_ladder(net, data.x_test, data.y_test, model, qmodel)
    l1, l2 = records[1], records[2]
    assert l1.ok and l1.frames == 360 and l1.mismatches == 0, l1.first_mismatch
    assert l2.details["label_mismatches"] == 0, l2.first_mismatch
    assert l2.details["accumulators_vs_torch_mismatches"] == 0, l2.first_mismatch
    save_network(net, tmp_path / "ir")
    loaded = load_network(tmp_path / "ir")
    (again,) = [n for n in loaded.layers if isinstance(n, MajorityPool)]
    assert np.array_equal(again.thresholds, pool.thresholds) and again.padding == pool.padding


def test_thresholds_follow_the_batch_norm(tmp_path: Path) -> None:
    """Channel 0's BN maps the mean m = (2p - 9)/9 to m - 0.5 (scale 1, bias -0.5): +1 from
    p = 7; channel 1's to m + 10: always +1 (T = 0); channel 2's to m - 10: never (T = 10)."""
    model = _model(3, 1, True)
    bn = model.features[6]
    with torch.no_grad():
        bn.weight.fill_(1.0)
        bn.running_var.fill_(1.0 - bn.eps)
        bn.running_mean.zero_()
        bn.bias[:3] = torch.tensor([-0.5, 10.0, -10.0])
    net = lower(export_qonnx_model(model, tmp_path / "model.onnx"))
    (pool,) = [n for n in net.layers if isinstance(n, MajorityPool)]
    assert pool.thresholds[:3].tolist() == [7, 0, 10]


def test_decreasing_channel_is_an_error(tmp_path: Path) -> None:
    model = _model(4, 2, True)
    with torch.no_grad():
        model.features[6].weight[2] = -1.0
    qmodel = export_qonnx_model(model, tmp_path / "model.onnx")
    with pytest.raises(ModelError, match=r"AveragePool\): channel 2 decreases .* no weights"):
        lower(qmodel)


def test_pool_padding_with_zeros_is_an_error(tmp_path: Path) -> None:
    """AvgPool2d(padding=1) pads the +-1 map with 0 in ONNX: not a majority of bits."""
    model = _model(5, 1, False, pool_padding=1)
    qmodel = export_qonnx_model(model, tmp_path / "model.onnx")
    with pytest.raises(ModelError, match=r"AveragePool\): its pads pad .* with 0.*PadConstant"):
        lower(qmodel)


def test_average_pool_before_the_sign_of_a_product_is_an_error(tmp_path: Path) -> None:
    """Pooling the stem's BN output (not bits) is not a majority."""
    model = _model(6, 1, False)
    features = list(model.features)
    model.features = nn.Sequential(*features[:3], *features[4:6], features[3])  # pool, then sign
    model.classifier = binary_linear(CHANNELS * 8 * 8, 10)
    qmodel = export_qonnx_model(model, tmp_path / "model.onnx")
    with pytest.raises(ModelError, match=r"\(Pad\): reads an unquantized tensor"):
        lower(qmodel)


# -- hand-built QONNX graphs (tests/frontend/qonnx_builders.py) -------------------------------


def _hand_built(rng: np.random.Generator, pool_ops: list[tuple], stride: int) -> onnx.ModelProto:
    """3x7x6 bipolar image -> -1-padded 3x3 conv (5 ch), BN, sign -> pool_ops -> dense."""
    side_h, side_w = (7 - 1) // stride + 1, (6 - 1) // stride + 1
    return build_chain(
        (1, 3, 7, 6),
        [
            ("pad", (1, 1, 1, 1), -1.0),
            ("conv", random_pm1(rng, (5, 3, 3, 3))),
            ("bn", rng.uniform(0.2, 2, 5), rng.normal(0, 1, 5), rng.normal(0, 3, 5), np.ones(5)),
            ("quant",),
            *pool_ops,
            ("dense", random_pm1(rng, (5 * side_h * side_w, 6))),
        ],
    )


@pytest.mark.parametrize("stride", [1, 2])
def test_hand_built_pad_avgpool_bn_flatten_sign_equals_execute_onnx(stride: int) -> None:
    """Pad(-1) -> AveragePool -> BN (per-channel thresholds) -> Flatten -> sign -> MatMul: the
    IR's accumulators equal execute_onnx's on every frame."""
    rng = np.random.default_rng(10 + stride)
    bn = ("bn", rng.uniform(0.5, 2, 5), rng.normal(0, 0.3, 5), rng.normal(0, 0.3, 5), np.ones(5))
    ops = [("pad", (1, 1, 1, 1), -1.0), ("avgpool", 3, stride), bn, ("flatten",), ("quant",)]
    model = _hand_built(rng, ops, stride)
    spec = InputSpec(levels=2, low=-1.0, high=1.0)
    net = lower(ModelWrapper(onnx.ModelProto.FromString(model.SerializeToString())), spec)
    (pool,) = [n for n in net.layers if isinstance(n, MajorityPool)]
    assert pool.stride == stride and pool.padding == (1, 1, 1, 1)
    x = np.where(rng.random((64, 3, 7, 6)) < 0.5, -1.0, 1.0).astype(np.float32)
    expected = run_qonnx(clean_qonnx(ModelWrapper(model)), x).reshape(len(x), -1)
    assert np.array_equal(Reference(net).run(x).accumulators, expected.astype(np.int64))


@pytest.mark.parametrize(
    ("ops", "match"),
    [
        ([("avgpool", 3, 1, {"pads": [1, 1, 1, 1]}), ("quant",)], r"its pads pad .* with 0"),
        ([("avgpool", 2, 1, {"ceil_mode": 1}), ("quant",)], "ceil_mode=1 is not supported"),
        ([("pad", (1, 1, 1, 1), -1.0), ("avgpool", 3, 1)], "is not the output of a MatMul"),
        ([("pad", (1, 1, 1, 1), 1.0), ("avgpool", 3, 1), ("quant",)], "not a 1-bit value"),
    ],
)
def test_hand_built_errors(ops: list[tuple], match: str) -> None:
    rng = np.random.default_rng(20)
    model = build_chain(
        (1, 3, 7, 6),
        [
            ("pad", (1, 1, 1, 1), -1.0),
            ("conv", random_pm1(rng, (5, 3, 3, 3))),
            ("quant",),
            *ops,
        ],
        out_shape=None,
    )
    with pytest.raises(ModelError, match=match):
        lower(ModelWrapper(model), InputSpec(levels=2, low=-1.0, high=1.0))
