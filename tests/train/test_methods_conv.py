"""Methods that need convolutions, on the digits conv net (hwbnn.nn digits-cnn): CBCN's
circulant filters and XNOR-Net++'s per-channel scales train, export, lower and give IR
reference labels == torch labels on the whole digits test split; factorised scales are
rejected by lowering."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from brevitas.nn import QuantConv2d

from hwbnn.data import load_digits
from hwbnn.errors import ModelError
from hwbnn.export import export_qonnx_model
from hwbnn.frontend.lower import lower
from hwbnn.nn import model_config
from hwbnn.reference import Reference
from hwbnn.train import TrainConfig, load_checkpoint, save_checkpoint, train
from hwbnn.train.methods import build_methods
from hwbnn.train.methods.cbcn import rotate

pytestmark = pytest.mark.slow


def _train_conv(out: Path, specs, epochs: int = 2):
    data = load_digits()
    config = model_config("digits-cnn", data.image_shape, 10, data.levels, data.input_bits)
    cfg = TrainConfig(epochs=epochs, seed=0, progress=False, methods=build_methods(specs))
    result = train(config, data, cfg)
    save_checkpoint(out / "model.pt", result.model, "digits", {})
    model, _ = load_checkpoint(out / "model.pt")
    return model, result.test_accuracy


def _ir_equals_torch(model, out: Path):
    data = load_digits()
    qmodel = export_qonnx_model(model, out / "model.onnx")
    ref = Reference(lower(qmodel)).run(data.x_test)
    with torch.no_grad():
        torch_labels = model(torch.from_numpy(data.x_test)).numpy().argmax(1)
    assert len(ref.labels) == 360
    assert np.array_equal(ref.labels, torch_labels)
    return qmodel, float(np.mean(torch_labels == data.y_test))


def test_cbcn_deploys_as_plain_binary_convolution(tmp_path) -> None:
    model, accuracy = _train_conv(tmp_path, [("cbcn", ["copies=4"])])
    convs = [m for m in model.modules() if isinstance(m, QuantConv2d)]
    for conv in convs:  # copy m of base kernel k is kernel k rotated by m * 90 degrees
        w = conv.weight.detach()
        for k in range(0, w.shape[0], 4):
            for m in range(4):
                assert torch.equal(w[k + m], rotate(w[k], 2 * m))
    qmodel, ir_accuracy = _ir_equals_torch(model, tmp_path)
    assert ir_accuracy == pytest.approx(accuracy)
    assert "Conv" in [n.op_type for n in qmodel.graph.node]
    assert accuracy > 0.3


def test_xnorpp_channel_scales_on_a_conv_net(tmp_path) -> None:
    model, accuracy = _train_conv(tmp_path, [("xnorpp", [])])
    qmodel, ir_accuracy = _ir_equals_torch(model, tmp_path)
    ops = [n.op_type for n in qmodel.graph.node]
    assert [ops[i + 1] for i, op in enumerate(ops) if op == "Conv"] == ["Mul"] * 3
    assert ir_accuracy == pytest.approx(accuracy)


def test_xnorpp_factorised_scales_train_and_are_rejected_at_lowering(tmp_path) -> None:
    model, _ = _train_conv(tmp_path, [("xnorpp", ["scales=factorised"])], epochs=1)
    qmodel = export_qonnx_model(model, tmp_path / "model.onnx")
    with pytest.raises(ModelError, match=r"constant of 1024 elements does not match 16 channels"):
        lower(qmodel)
