"""Shared fixtures: a digits MLP and a digits conv net (digits-cnn), each trained once per test
session (binary and integer input)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from hwbnn.ir.types import Network


@dataclass(frozen=True)
class TrainedDigits:
    out: Path
    checkpoint: Path
    onnx: Path
    test_accuracy: float


@dataclass(frozen=True)
class TrainedNet(TrainedDigits):
    """A trained, exported zoo model and its lowered IR."""

    net: Network


def _train_and_export(
    out: Path, input_mode: str, epochs: int, model: str = "digits-mlp", **options: object
) -> TrainedDigits:
    """Train (``options``: more TrainOptions fields, e.g. ``genotype``) and export."""
    from hwbnn.pipeline.config import TrainOptions
    from hwbnn.pipeline.steps import export_checkpoint, train_to_dir

    opts = TrainOptions(model=model, input_mode=input_mode, epochs=epochs, **options)
    info = train_to_dir(out, opts, progress=False)
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


def _train_export_lower(
    out: Path, input_mode: str, epochs: int, model: str, **options: object
) -> TrainedNet:
    from hwbnn.export import load_qonnx
    from hwbnn.frontend.lower import lower

    trained = _train_and_export(out, input_mode, epochs, model, **options)
    net = lower(load_qonnx(trained.onnx), source=str(trained.onnx))
    return TrainedNet(trained.out, trained.checkpoint, trained.onnx, trained.test_accuracy, net)


@pytest.fixture(scope="session")
def digits_cnn(tmp_path_factory: pytest.TempPathFactory) -> TrainedNet:
    """digits-cnn (hwbnn.nn.zoo) with binarized input, trained 2 epochs (about 80% test
    accuracy, 10-20 s): ``.onnx`` the exported QONNX file, ``.net`` its lowered IR
    (input thresholds, sliding windows, per-pixel MVAUs, an OR max pool, a dense classifier)."""
    return _train_export_lower(tmp_path_factory.mktemp("digits_cnn"), "binary", 2, "digits-cnn")


@pytest.fixture(scope="session")
def digits_resnet(tmp_path_factory: pytest.TempPathFactory) -> TrainedNet:
    """digits-resnet (hwbnn.nn.resnet: a stem, an identity and a downsampling residual block,
    pool, dense head) with binarized input, trained 10 epochs (about 8 s; 0.84 test accuracy
    with seed 0, as in the README); lowered to a graph IR."""
    return _train_export_lower(
        tmp_path_factory.mktemp("digits_resnet"), "binary", 10, "digits-resnet"
    )


@pytest.fixture(scope="session")
def digits_cnn_integer(tmp_path_factory: pytest.TempPathFactory) -> TrainedNet:
    """digits-cnn with 5-bit integer input into the first convolution, trained 2 epochs."""
    return _train_export_lower(
        tmp_path_factory.mktemp("digits_cnn_integer"), "integer", 2, "digits-cnn"
    )


#: the genotype of ``digits_cells``: 3x3 and 5x5 binary convolutions and identities (strided in
#: the reduction cell), two nodes of two edges per cell
DIGITS_CELLS_GENOTYPE = {
    "format": "hwbnn-genotype/1",
    "normal": [[["conv_3x3", 0], ["identity", 1]], [["conv_3x3", 2], ["identity", 0]]],
    "reduce": [[["conv_5x5", 0], ["identity", 1]], [["conv_3x3", 2], ["identity", 0]]],
    "layout": ["normal", "reduce"],
    "channels": 4,
    "stem_channels": 16,
}


@pytest.fixture(scope="session")
def digits_cells(tmp_path_factory: pytest.TempPathFactory) -> TrainedNet:
    """The network of :data:`DIGITS_CELLS_GENOTYPE` (hwbnn.nn.cellnet) with binarized input,
    trained 4 epochs with ``hwbnn train --genotype``'s path; lowered to a graph IR (forks,
    add-joins with thresholds, concatenations)."""
    import json

    out = tmp_path_factory.mktemp("digits_cells")
    genotype = out / "genotype.json"
    genotype.write_text(json.dumps(DIGITS_CELLS_GENOTYPE))
    return _train_export_lower(out, "binary", 4, "digits-mlp", genotype=genotype, lr=0.02)
