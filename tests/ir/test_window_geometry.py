"""Image-stage geometry of the IR (hand-computed): dilated sliding windows, padded max pools,
their checks, and their ir.json round trip (files written before dilation/pool padding load)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hwbnn.ir.serialize import load_network, save_network
from hwbnn.ir.types import InputFormat, MatrixVector, MaxPool, Network, SlidingWindow


def test_dilated_window_geometry() -> None:
    # 3x3, dilation 2 on 8x8 padded by 2: extent 5, OH = (8 + 4 - 2*2 - 1)//1 + 1 = 8
    window = SlidingWindow("w", (8, 8, 3), 3, 1, (2, 2, 2, 2), dilation=2)
    assert (window.extent, window.out_shape, window.window) == (5, (8, 8, 27), 27)
    # stride 2, no padding: (9 - 5)//2 + 1 = 3; dilation 3, kernel 2: extent 4, (7 - 4) + 1 = 4
    assert SlidingWindow("w", (9, 9, 1), 3, 2, dilation=2).out_shape == (3, 3, 9)
    assert SlidingWindow("w", (7, 6, 1), 2, 1, (3, 0, 0, 0), dilation=3).out_shape == (7, 3, 4)
    assert SlidingWindow("w", (5, 5, 1), 3).extent == 3  # dilation 1: the kernel


def test_padded_pool_geometry() -> None:
    assert MaxPool("p", (8, 8, 4), 3, 1, padding=(1, 1, 1, 1)).out_shape == (8, 8, 4)
    assert MaxPool("p", (8, 8, 4), 3, 2, padding=(1, 1, 1, 1)).out_shape == (4, 4, 4)
    assert MaxPool("p", (7, 7, 4), 3, 2, padding=(1, 1, 1, 1)).out_shape == (4, 4, 4)
    assert MaxPool("p", (7, 6, 2), 1, 2).out_shape == (4, 3, 2)  # every second pixel


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: SlidingWindow("w", (8, 8, 1), 3, 1, (5, 0, 0, 0), dilation=2), r"\[0, 5\)"),
        (lambda: SlidingWindow("w", (8, 8, 1), 3, 1, (3, 0, 0, 0)), r"\[0, 3\)"),
        (lambda: SlidingWindow("w", (3, 8, 1), 3, 1, dilation=2), "extent 5 larger"),
        (lambda: SlidingWindow("w", (8, 8, 1), 3, dilation=0), "dilation must be >= 1"),
        (lambda: MaxPool("p", (8, 8, 1), 3, 1, padding=(0, 3, 0, 0)), r"\[0, 3\)"),
        (lambda: MaxPool("p", (1, 8, 1), 3, 1, padding=(0, 1, 0, 1)), "extent 3 larger"),
    ],
)
def test_bad_geometry_is_refused(make, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def _net() -> Network:
    fmt = InputFormat((2, 8, 8), np.array([0.0, 1.0], dtype=np.float32))
    window = SlidingWindow("swg", (8, 8, 2), 3, 1, (2, 2, 2, 2), dilation=2)
    rng = np.random.default_rng(0)
    conv = MatrixVector(
        "conv", rng.integers(0, 2, (4, 18)).astype(bool), 1, 2, rng.integers(8, 11, 4), pixels=64
    )
    pool = MaxPool("pool", (8, 8, 4), 3, 2, padding=(1, 1, 1, 1))
    fc = MatrixVector(
        "fc", np.ones((3, 64), dtype=bool), 1, 2, out_scale=np.ones(3), out_bias=np.zeros(3)
    )
    return Network(fmt, (window, conv, pool, fc))


def test_round_trip_keeps_dilation_and_pool_padding(tmp_path: Path) -> None:
    net = _net()
    save_network(net, tmp_path)
    again = load_network(tmp_path)
    window, pool = again.layers[0], again.layers[2]
    assert isinstance(window, SlidingWindow) and isinstance(pool, MaxPool)
    assert (window.dilation, window.padding, window.out_shape) == (2, (2, 2, 2, 2), (8, 8, 18))
    assert (pool.padding, pool.out_shape) == ((1, 1, 1, 1), (4, 4, 4))


def test_files_without_dilation_or_pool_padding_load_as_before(tmp_path: Path) -> None:
    net = _net()
    save_network(net, tmp_path)
    doc = json.loads((tmp_path / "ir.json").read_text())
    for entry in doc["layers"]:  # as written before the fields existed
        if entry["name"] == "swg":
            del entry["dilation"]
            entry["padding"] = [1, 1, 1, 1]
        if entry["name"] == "pool":
            del entry["padding"]
            entry["stride"] = 2
            entry["kernel"] = 2
    (tmp_path / "ir.json").write_text(json.dumps(doc))
    again = load_network(tmp_path)
    window, pool = again.layers[0], again.layers[2]
    assert isinstance(window, SlidingWindow) and isinstance(pool, MaxPool)
    assert (window.dilation, window.out_shape) == (1, (8, 8, 18))
    assert (pool.padding, pool.out_shape) == ((0, 0, 0, 0), (4, 4, 4))
