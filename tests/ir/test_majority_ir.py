"""The MajorityPool node (hwbnn.ir.majority): validation, the reference against torch's
sign(avg_pool2d(pad(x, -1))), and the ir.json round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from hwbnn.ir.serialize import load_network, save_network
from hwbnn.ir.types import InputFormat, MajorityPool, MatrixVector, Network
from hwbnn.reference import Reference, run_layer

CASES = [  # (H, W, C, K, S, padding top/left/bottom/right)
    (5, 5, 3, 3, 1, (1, 1, 1, 1)),
    (6, 7, 2, 3, 2, (1, 1, 1, 1)),
    (7, 6, 4, 3, 2, (0, 1, 2, 0)),
    (4, 4, 1, 2, 1, (0, 0, 1, 1)),
    (3, 3, 5, 1, 1, (0, 0, 0, 0)),
]


@pytest.mark.parametrize(("h", "w", "c", "k", "s", "pad"), CASES)
def test_majority_equals_the_sign_of_torch_avg_pool(h, w, c, k, s, pad):
    """T = ceil(K*K/2) is sign(mean) with sign(0) = +1; the reference equals torch on +-1."""
    rng = np.random.default_rng(h * 100 + w * 10 + c)
    bits = rng.integers(0, 2, size=(7, c, h, w))
    top, left, bottom, right = pad
    x = F.pad(torch.tensor(2.0 * bits - 1), (left, right, top, bottom), value=-1.0)
    expected = (F.avg_pool2d(x, k, s) >= 0).numpy()  # (B, C, OH, OW)
    t = np.full(c, -(-k * k // 2))
    layer = MajorityPool("maj", (h, w, c), k, s, pad, t)
    got = run_layer(layer, bits.transpose(0, 2, 3, 1).reshape(len(bits), -1))
    assert layer.out_shape == (*expected.shape[2:], c)
    assert np.array_equal(got, expected.transpose(0, 2, 3, 1).reshape(len(bits), -1))


def test_per_channel_thresholds_count_the_window() -> None:
    """Channel c of an all-+1 3x3 image, padded by one: the corner window counts 4, an edge 6,
    the centre 9; thresholds 0, 5, 7, 10 pick them out."""
    layer = MajorityPool("maj", (3, 3, 4), 3, 1, (1, 1, 1, 1), np.array([0, 5, 7, 10]))
    got = run_layer(layer, np.ones((1, 36), dtype=np.int64)).reshape(3, 3, 4)
    counts = np.array([[4, 6, 4], [6, 9, 6], [4, 6, 4]])
    for c, t in enumerate(layer.thresholds):
        assert np.array_equal(got[:, :, c], counts >= t)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"thresholds": np.full(2, 11)}, r"thresholds outside \[0, 10\]"),
        ({"thresholds": np.full(3, 5)}, "2 integers"),
        ({"thresholds": np.full(2, 5.0)}, "2 integers"),
        ({"padding": (3, 0, 0, 0)}, r"padding must be 4 values in \[0, kernel\)"),
        ({"in_shape": (1, 5, 2), "padding": (0, 0, 0, 0)}, "larger than the padded image"),
        ({"stride": 0}, "kernel and stride must be >= 1"),
    ],
)
def test_bad_nodes_are_refused(kwargs, match) -> None:
    args = {
        "name": "maj",
        "in_shape": (5, 5, 2),
        "kernel": 3,
        "stride": 1,
        "padding": (1, 1, 1, 1),
        "thresholds": np.full(2, 5),
        **kwargs,
    }
    with pytest.raises(ValueError, match=match):
        MajorityPool(**args)


def _net(rng: np.random.Generator) -> Network:
    pool = MajorityPool("maj", (5, 5, 3), 3, 2, (1, 1, 1, 1), np.array([5, 4, 10]))
    out = MatrixVector(
        "fc",
        rng.integers(0, 2, size=(4, 27)).astype(bool),
        1,
        2,
        out_scale=np.ones(4),
        out_bias=np.zeros(4),
    )
    return Network(InputFormat((3, 5, 5), np.array([-1.0, 1.0])), (pool, out))


def test_network_edges_and_the_ir_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    net = _net(rng)
    assert net.edge("maj").image == (3, 3, 3)
    save_network(net, tmp_path)
    loaded = load_network(tmp_path)
    pool = loaded.layers[0]
    assert isinstance(pool, MajorityPool)
    assert (pool.in_shape, pool.kernel, pool.stride, pool.padding) == (
        (5, 5, 3),
        3,
        2,
        (1, 1, 1, 1),
    )
    assert np.array_equal(pool.thresholds, [5, 4, 10])
    x = rng.integers(0, 2, size=(9, 75))
    expected = Reference(net).run_codes(x).accumulators
    assert np.array_equal(Reference(loaded).run_codes(x).accumulators, expected)


def test_majority_pool_of_integers_is_refused() -> None:
    pool = MajorityPool("maj", (4, 4, 1), 3, 1, (1, 1, 1, 1), np.array([5]))
    weights = np.ones((2, 16), bool)
    out = MatrixVector("fc", weights, 2, 4, out_scale=np.ones(2), out_bias=np.zeros(2))
    with pytest.raises(ValueError, match="maj: majority pooling needs binary inputs"):
        Network(InputFormat((1, 4, 4), np.array([0.0, 1 / 3, 2 / 3, 1.0])), (pool, out))
