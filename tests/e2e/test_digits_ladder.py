"""Ladder levels L0-L2 on the whole digits test split, for a trained digits MLP."""

from __future__ import annotations

import numpy as np
import torch

from hwbnn.data import load_digits
from hwbnn.export import load_qonnx, run_qonnx
from hwbnn.frontend.lower import lower
from hwbnn.reference import Reference
from hwbnn.train import load_checkpoint


def _check_ladder(trained) -> None:
    data = load_digits()
    model, _ = load_checkpoint(trained.checkpoint)
    qmodel = load_qonnx(trained.onnx)
    net = lower(qmodel)
    ref = Reference(net).run(data.x_test)
    x = torch.from_numpy(data.x_test)
    with torch.no_grad():
        torch_labels = model(x).numpy().argmax(1)
        dots = model.last_layer_dot(x).numpy()
    # L2 == L0: labels for every image, accumulators exactly
    assert np.array_equal(ref.labels, torch_labels)
    assert np.array_equal(dots, np.rint(dots))
    assert np.array_equal(ref.accumulators, dots.astype(np.int64))
    # L1 == L0 labels
    onnx_labels = run_qonnx(qmodel, data.x_test).argmax(1)
    assert np.array_equal(onnx_labels, torch_labels)


def test_binary_input_mlp_reaches_90_percent(digits_binary) -> None:
    assert digits_binary.test_accuracy >= 0.90


def test_binary_input_ladder_exact(digits_binary) -> None:
    _check_ladder(digits_binary)


def test_integer_input_ladder_exact(digits_integer) -> None:
    net = lower(load_qonnx(digits_integer.onnx))
    assert net.layers[0].input_bits == 5  # integer first layer, no input thresholds
    _check_ladder(digits_integer)


def test_training_is_deterministic(tmp_path) -> None:
    from hwbnn.pipeline.config import TrainOptions
    from hwbnn.pipeline.steps import train_to_dir

    opts = TrainOptions(epochs=2, seed=3, hidden=(32,))
    states = []
    for run in ("a", "b"):
        train_to_dir(tmp_path / run, opts, progress=False)
        states.append(torch.load(tmp_path / run / "model.pt", weights_only=True)["state_dict"])
    assert states[0].keys() == states[1].keys()
    for key in states[0]:
        assert torch.equal(states[0][key], states[1][key]), key
