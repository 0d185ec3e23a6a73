"""Ladder levels L0-L2 on the whole digits test split, for the trained digits conv net
(the session fixtures ``digits_cnn`` and ``digits_cnn_integer`` of tests/conftest.py)."""

from __future__ import annotations

import pytest

from hwbnn.data import load_digits
from hwbnn.ir.types import InputThreshold, MatrixVector, MaxPool, SlidingWindow
from hwbnn.train import load_checkpoint
from hwbnn.verify.ladder import run_ladder
from hwbnn.verify.record import Level


@pytest.mark.parametrize("fixture", ["digits_cnn", "digits_cnn_integer"])
def test_ladder_exact_on_the_whole_test_split(fixture: str, request) -> None:
    trained = request.getfixturevalue(fixture)
    data = load_digits()
    model, _ = load_checkpoint(trained.checkpoint)
    # L1 (execute_onnx) == L0 labels on the whole split was checked when the fixture exported
    # the model (hwbnn.pipeline.steps.export_checkpoint raises otherwise); here L2 against L0
    records = run_ladder(trained.net, data.x_test, data.y_test, model)
    assert [r.level for r in records] == [Level.L0, Level.L2]
    l2 = records[1]
    # L2 labels == L0 labels on every image; L2 accumulators == torch's dot products exactly
    assert l2.frames == len(data.x_test) == 360
    assert l2.details["labels_compared_with"] == "L0"
    assert l2.details["label_mismatches"] == 0, l2.first_mismatch
    assert l2.details["accumulators_vs_torch_mismatches"] == 0, l2.first_mismatch
    assert l2.ok and l2.mismatches == 0
    assert l2.accuracy == pytest.approx(trained.test_accuracy, abs=0)


def test_binary_input_net_structure(digits_cnn) -> None:
    kinds = [type(layer) for layer in digits_cnn.net.layers]
    assert kinds == [
        InputThreshold,
        SlidingWindow,
        MatrixVector,
        SlidingWindow,
        MatrixVector,
        MaxPool,
        SlidingWindow,
        MatrixVector,
        MatrixVector,
    ]
    first = digits_cnn.net.layers[1]
    assert isinstance(first, SlidingWindow)
    assert (first.in_shape, first.padding, first.pad_code) == ((8, 8, 1), (1, 1, 1, 1), 0)
    assert [layer.pixels for layer in digits_cnn.net.layers if isinstance(layer, MatrixVector)] == [
        64,
        64,
        4,
        1,
    ]


def test_integer_input_first_convolution(digits_cnn_integer) -> None:
    window, conv = digits_cnn_integer.net.layers[:2]
    assert isinstance(window, SlidingWindow) and isinstance(conv, MatrixVector)
    assert (window.input_levels, window.pad_code) == (17, 0)
    assert (conv.input_bits, conv.input_levels, conv.mw) == (5, 17, 9)


def test_short_training_already_learns(digits_cnn, digits_cnn_integer) -> None:
    """Two epochs (the fixtures) reach about 80%; 30 epochs: benchmarks/digits_accuracy.py."""
    assert digits_cnn.test_accuracy >= 0.6
    assert digits_cnn_integer.test_accuracy >= 0.6
