"""FINN's CNV topology (CIFAR-10 shape, 8-bit RGB input into the first convolution) with random
weights and BatchNorm statistics: export, lower, and L0 == L1 == L2 on random 8-bit images.
(Training CNV needs the CIFAR-10 files: docs/cifar10.md.)"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from hwbnn.data import code_values
from hwbnn.export import export_qonnx_model
from hwbnn.frontend.lower import lower
from hwbnn.ir.types import MatrixVector, MaxPool, SlidingWindow
from hwbnn.nn import build_model, model_config
from hwbnn.reference import Reference
from hwbnn.verify.ladder import run_ladder


def _randomize_batchnorm(model: nn.Module, rng: np.random.Generator) -> None:
    """Statistics that keep the signs balanced; half-integer means keep every accumulator at
    least 1/2 away from a sign change, so torch and onnxruntime agree without float ties."""
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d)]
    for index, module in enumerate(norms):
        c = module.num_features
        spread = 200 if index == 0 else 8  # the first layer sums 8-bit codes: a wider range
        with torch.no_grad():
            module.running_mean.copy_(torch.tensor(rng.integers(-spread, spread, c) + 0.5))
            module.running_var.copy_(torch.tensor(rng.uniform(0.5, 4.0, c)))
            module.weight.copy_(torch.tensor(rng.normal(0, 1, c)))
            module.bias.zero_()


@pytest.mark.slow
def test_cnv_random_weights_ladder(tmp_path) -> None:
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    config = model_config("cnv", (3, 32, 32), 10, 256, 8, "integer")
    model = build_model(config)
    _randomize_batchnorm(model, rng)
    model.eval()
    qmodel = export_qonnx_model(model, tmp_path / "cnv.onnx")
    net = lower(qmodel)
    windows = [layer for layer in net.layers if isinstance(layer, SlidingWindow)]
    units = [layer for layer in net.layers if isinstance(layer, MatrixVector)]
    pools = [layer for layer in net.layers if isinstance(layer, MaxPool)]
    assert [w.in_shape for w in windows] == [
        (32, 32, 3),
        (30, 30, 64),
        (14, 14, 64),
        (12, 12, 128),
        (5, 5, 128),
        (3, 3, 256),
    ]
    assert windows[0].input_levels == 256 and units[0].input_bits == 8
    assert [u.pixels for u in units] == [900, 784, 144, 100, 9, 1, 1, 1, 1]
    assert [u.mw for u in units] == [27, 576, 576, 1152, 1152, 2304, 256, 512, 512]
    assert [p.in_shape for p in pools] == [(28, 28, 64), (10, 10, 128)]

    x = code_values(256)[rng.integers(0, 256, (6, 3, 32, 32))]
    l0, l1, l2 = run_ladder(net, x, None, model, qmodel)
    assert l1.ok and l1.details["labels_compared_with"] == "L0", l1.first_mismatch
    assert l2.details["label_mismatches"] == 0, l2.first_mismatch
    assert l2.details["accumulators_vs_torch_mismatches"] == 0, l2.first_mismatch
    assert l0.ok and l2.ok and l0.accuracy is None
    # the random net is not degenerate: its labels differ between images
    assert len(set(Reference(net).run(x).labels.tolist())) > 1
