"""mnist-cnn (28x28) through L0-L2 on MNIST images.

Only the MNIST *test* set is on this machine (../shared/data/mnist), so this test trains
mnist-cnn for one epoch on the first 2,000 test images and checks the ladder on the next 1,000.
That says nothing about MNIST accuracy (documented as such); it shows that the 28x28 conv net
trains, lowers, and that the IR equals the torch model exactly. Skipped when the files are
absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hwbnn.data import Dataset, load_mnist
from hwbnn.export import export_qonnx_model
from hwbnn.frontend.lower import lower
from hwbnn.ir.types import MaxPool, SlidingWindow
from hwbnn.nn import model_config
from hwbnn.train import TrainConfig, train
from hwbnn.verify.ladder import run_ladder

MNIST_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist"

pytestmark = [
    pytest.mark.mnist,
    pytest.mark.slow,
    pytest.mark.skipif(
        not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file(),
        reason=f"MNIST test set not found in {MNIST_DIR}",
    ),
]


def test_mnist_cnn_trained_on_part_of_the_test_set_lowers_exactly(tmp_path: Path) -> None:
    full = load_mnist(MNIST_DIR)
    x, y = full.x_test, full.y_test
    data = Dataset("mnist-test-part", x[:2000], y[:2000], x[2000:3000], y[2000:3000], 256, 10)
    config = model_config("mnist-cnn", data.image_shape, 10, data.levels, data.input_bits)
    result = train(config, data, TrainConfig(epochs=1, batch_size=100, progress=False))
    qmodel = export_qonnx_model(result.model, tmp_path / "mnist_cnn.onnx")
    net = lower(qmodel)
    assert [w.in_shape for w in net.layers if isinstance(w, SlidingWindow)] == [
        (28, 28, 1),
        (26, 26, 16),
        (12, 12, 16),
        (10, 10, 32),
    ]
    assert [p.out_shape for p in net.layers if isinstance(p, MaxPool)] == [(12, 12, 16), (4, 4, 32)]
    l0, l2 = run_ladder(net, data.x_test, data.y_test, result.model)
    assert l2.details["label_mismatches"] == 0, l2.first_mismatch
    assert l2.details["accumulators_vs_torch_mismatches"] == 0, l2.first_mismatch
    assert l2.ok and l0.accuracy == l2.accuracy
    # one epoch on 2,000 images already separates the classes (chance is 10%)
    assert l2.accuracy is not None and l2.accuracy >= 0.6
    assert np.isclose(l2.accuracy, result.test_accuracy, rtol=0, atol=0)
