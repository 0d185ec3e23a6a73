"""Shared fixtures: a digits MLP and a digits conv net (digits-cnn), each trained once per test
session (binary and integer input)."""

from __future__ import annotations

import pytest
from trained_nets import (
    DIGITS_CELLS_GENOTYPE,
    TrainedDigits,
    TrainedNet,
    _train_and_export,
    _train_export_lower,
)


@pytest.fixture(scope="session")
def digits_binary(tmp_path_factory: pytest.TempPathFactory) -> TrainedDigits:
    """digits-mlp with binarized input, trained 20 epochs (about 10 s)."""
    return _train_and_export(tmp_path_factory.mktemp("digits_binary"), "binary", 20)


@pytest.fixture(scope="session")
def digits_integer(tmp_path_factory: pytest.TempPathFactory) -> TrainedDigits:
    """digits-mlp with 5-bit integer input into the first layer, trained 5 epochs."""
    return _train_and_export(tmp_path_factory.mktemp("digits_integer"), "integer", 5)


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
