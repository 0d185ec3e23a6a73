"""A Brevitas model with a -1-padded dilated binary convolution (hwbnn.nn.PadConstant, as
hwbnn.nn.conv pads) and padded max pools (torch's padding=1, and a -1 PadConstant before a
stride-2 pool), exported to QONNX and lowered: the IR's accumulators equal torch's outputs
exactly on random +-1 images, and the labels agree."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from brevitas.nn import QuantLinear
from qonnx.core.modelwrapper import ModelWrapper
from torch import nn

from hwbnn.export.qonnx_export import brevitas_export_qonnx, clean_qonnx
from hwbnn.frontend.lower import InputSpec, lower
from hwbnn.ir.types import MaxPool, SlidingWindow
from hwbnn.nn.conv import PadConstant, binary_conv, sign
from hwbnn.nn.quantizers import BinaryWeightQuant
from hwbnn.reference import Reference


def _model(pool_before_sign: bool) -> nn.Sequential:
    """(2, 8, 8) +-1 -> pad 2 (-1), 3x3 conv of dilation 2 (8x8) -> BN -> sign and a 3x3
    stride-1 pad-1 max pool (either order) -> pad 1 (-1), 3x3 stride-2 pool (4x4) -> 1x1
    stride-2 pool (2x2) -> dense 24 -> 5."""
    conv = binary_conv(2, 6, 3, dilation=2)
    bn = nn.BatchNorm2d(6)
    # increasing channels (a pool before the sign is an OR behind it), +1 for about one
    # accumulator in ten (of -18..18), so that ORs over 3x3 windows still vary
    with torch.no_grad():
        bn.running_mean.uniform_(6, 8)
        bn.running_var.uniform_(0.5, 2)
        bn.weight.uniform_(0.2, 1)
    pool = nn.MaxPool2d(3, 1, padding=1)
    middle = [pool, sign()] if pool_before_sign else [sign(), pool]
    return nn.Sequential(
        sign(),
        PadConstant(2, -1.0),
        conv,
        bn,
        *middle,
        PadConstant(1, -1.0),
        nn.MaxPool2d(3, 2),
        nn.MaxPool2d(1, 2),
        nn.Flatten(),
        QuantLinear(6 * 2 * 2, 5, bias=False, weight_quant=BinaryWeightQuant),
    ).eval()


@pytest.mark.parametrize("pool_before_sign", [False, True])
def test_dilated_conv_and_padded_pools_equal_torch(tmp_path: Path, pool_before_sign: bool) -> None:
    torch.manual_seed(3)
    model = _model(pool_before_sign)
    with torch.no_grad():
        brevitas_export_qonnx()(
            model, torch.zeros(1, 2, 8, 8), export_path=str(tmp_path / "m.onnx"), dynamo=False
        )
    net = lower(clean_qonnx(ModelWrapper(str(tmp_path / "m.onnx"))), InputSpec(2, -1.0, 1.0))
    windows = [la for la in net.layers if isinstance(la, SlidingWindow)]
    pools = [la for la in net.layers if isinstance(la, MaxPool)]
    assert [(w.dilation, w.padding, w.out_shape) for w in windows] == [
        (2, (2, 2, 2, 2), (8, 8, 18))
    ]
    assert [(p.kernel, p.stride, p.padding, p.out_shape[:2]) for p in pools] == [
        (3, 1, (1, 1, 1, 1), (8, 8)),
        (3, 2, (1, 1, 1, 1), (4, 4)),
        (1, 2, (0, 0, 0, 0), (2, 2)),
    ]
    x = np.where(np.random.default_rng(4).random((96, 2, 8, 8)) < 0.5, -1.0, 1.0)
    x = x.astype(np.float32)
    result = Reference(net).run(x)
    with torch.no_grad():
        out = model(torch.tensor(x)).numpy()
    assert np.array_equal(out, np.rint(out))  # +-1 weights of scale 1: integer outputs
    assert np.array_equal(result.accumulators, out.astype(np.int64))
    assert np.array_equal(result.labels, out.argmax(axis=1))
    assert len(np.unique(result.accumulators, axis=0)) > 20  # not a degenerate network
