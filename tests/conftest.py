"""Shared fixtures: a digits MLP trained once per test session (binary and integer input)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class TrainedDigits:
    out: Path
    checkpoint: Path
    onnx: Path
    test_accuracy: float


def _train_and_export(out: Path, input_mode: str, epochs: int) -> TrainedDigits:
    from hwbnn.flow import export_checkpoint, train_to_dir
    from hwbnn.train import TrainConfig

    info = train_to_dir(
        out,
        "digits-mlp",
        "digits",
        None,
        input_mode,
        None,
        TrainConfig(epochs=epochs, progress=False),
    )
    export_checkpoint(out / "model.pt", out / "model.onnx", None)
    return TrainedDigits(out, out / "model.pt", out / "model.onnx", info["test_accuracy"])


@pytest.fixture(scope="session")
def digits_binary(tmp_path_factory: pytest.TempPathFactory) -> TrainedDigits:
    """digits-mlp with binarized input, trained 20 epochs (about 10 s)."""
    return _train_and_export(tmp_path_factory.mktemp("digits_binary"), "binary", 20)


@pytest.fixture(scope="session")
def digits_integer(tmp_path_factory: pytest.TempPathFactory) -> TrainedDigits:
    """digits-mlp with 5-bit integer input into the first layer, trained 5 epochs."""
    return _train_and_export(tmp_path_factory.mktemp("digits_integer"), "integer", 5)
