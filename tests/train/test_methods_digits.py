"""Every training method on a digits MLP: train a few epochs, export (checked with
execute_onnx), lower, and the IR reference labels equal the torch labels on the whole digits
test split. Methods that change only training export the baseline's graph."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from hwbnn.data import load_digits
from hwbnn.errors import ConfigError, ModelError
from hwbnn.export import export_qonnx_model
from hwbnn.frontend.lower import lower
from hwbnn.nn import mlp_config
from hwbnn.pipeline.steps import export_checkpoint
from hwbnn.reference import Reference
from hwbnn.train import TrainConfig, load_checkpoint, save_checkpoint, train
from hwbnn.train.methods import build_methods

HIDDEN = (64, 64)
EPOCHS = 3
TRAINING_ONLY = [
    [("ste", [])],
    [("approxsign", [])],
    [("swishsign", [])],
    [("binaryrelax", [])],
    [("admm", ["update_every=5"])],
    [("distribution_loss", [])],
    [("wq_loss", [])],
    [("projection_loss", ["center=0.01"])],
    [("two_stage", [])],
    [("bwnh", ["samples=512"])],
    [("approxsign", []), ("distribution_loss", []), ("two_stage", [])],
]
slow = pytest.mark.slow
SLOW_TRAINING_ONLY = [  # these train a full-precision teacher first
    pytest.param([("distill", ["teacher_epochs=2"])], marks=slow, id="distill"),
    pytest.param(
        [("distill", ["teacher_epochs=2", "adversarial=true"])], marks=slow, id="distill+adv"
    ),
]


def _train(out: Path, specs) -> tuple[float, Path]:
    """Train a digits MLP with ``specs``; save and return (test accuracy, checkpoint)."""
    data = load_digits()
    config = mlp_config(
        "digits-mlp", data.image_shape, 10, data.levels, data.input_bits, hidden=HIDDEN
    )
    cfg = TrainConfig(epochs=EPOCHS, seed=1, progress=False, methods=build_methods(specs))
    result = train(config, data, cfg)
    save_checkpoint(out / "model.pt", result.model, "digits", {})
    return result.test_accuracy, out / "model.pt"


def _deploy(out: Path, specs) -> tuple[list[str], float]:
    """Train, save, reload, export, lower; assert IR labels == torch labels on the whole test
    split; return the exported graph's op types (weight quantizers left out) and the accuracy."""
    accuracy, checkpoint = _train(out, specs)
    model, _ = load_checkpoint(checkpoint)
    qmodel = export_qonnx_model(model, out / "model.onnx")
    net = lower(qmodel)
    data = load_digits()
    with torch.no_grad():
        torch_labels = model(torch.from_numpy(data.x_test)).numpy().argmax(1)
    ref = Reference(net).run(data.x_test)
    assert len(ref.labels) == 360
    assert np.array_equal(ref.labels, torch_labels)
    assert float(np.mean(torch_labels == data.y_test)) == pytest.approx(accuracy)
    ops = [n.op_type for n in qmodel.graph.node if n.op_type != "BipolarQuant"]
    return ops, accuracy


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[str], float, Path]:
    out = tmp_path_factory.mktemp("baseline")
    ops, acc = _deploy(out, [])
    return ops, acc, out / "model.pt"


def _label(specs) -> str:
    return "+".join(name for name, _ in specs)


@pytest.mark.parametrize(
    "specs",
    TRAINING_ONLY + SLOW_TRAINING_ONLY,
    ids=_label,
)
def test_training_only_method_deploys_the_baseline_graph(specs, baseline, tmp_path) -> None:
    ops, accuracy = _deploy(tmp_path, specs)
    assert ops == baseline[0]
    assert accuracy > 0.3  # it learned (chance is 0.1)


def test_clipped_ste_method_is_the_default_bit_for_bit(baseline, tmp_path) -> None:
    _, checkpoint = _train(tmp_path, [("ste", [])])
    ours = torch.load(checkpoint, weights_only=True)["state_dict"]
    default = torch.load(baseline[2], weights_only=True)["state_dict"]
    assert ours.keys() == default.keys()
    for key in ours:
        assert torch.equal(ours[key], default[key]), key


@pytest.mark.parametrize("name", ["xnor", "xnorpp"])
def test_scaled_methods_fold_a_mul_after_every_matmul(name: str, baseline, tmp_path) -> None:
    ops, _ = _deploy(tmp_path, [(name, [])])
    assert ops.count("MatMul") == 3 and ops.count("Mul") == 3
    after = [ops[i + 1] for i, op in enumerate(ops) if op == "MatMul"]
    assert after == ["Mul", "Mul", "Mul"]


@pytest.mark.parametrize(("variant", "hidden_ops"), [("center", ["Sub", "Add"]), ("none", [])])
def test_batchnorm_variants(variant: str, hidden_ops: list[str], tmp_path) -> None:
    ops, _ = _deploy(tmp_path, [("bn", [f"variant={variant}"])])
    first, second = [i for i, op in enumerate(ops) if op == "MatMul"][:2]
    assert ops[first + 1 : second] == hidden_ops


def test_full_precision_baseline_is_not_deployable(tmp_path) -> None:
    accuracy, checkpoint = _train(tmp_path, [("fp", [])])
    assert accuracy > 0.8
    with pytest.raises(ConfigError, match=r"full-precision baseline \(hwbnn train --method fp\)"):
        export_checkpoint(checkpoint, tmp_path / "model.onnx", None)
    model, _ = load_checkpoint(checkpoint)
    qmodel = export_qonnx_model(model, tmp_path / "direct.onnx")
    with pytest.raises(ModelError, match=r"Relu_0 \(Relu\): unsupported op"):
        lower(qmodel)
