"""hwbnn.codegen.memfiles: decode the written $readmemh files and compare with the arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hwbnn.codegen.memfiles import (
    MvauWidths,
    clog2,
    mvau_threshold_range,
    mvau_widths,
    write_input_threshold_memfile,
    write_mvau_memfiles,
)


def read_memh(path: Path, width: int) -> list[int]:
    """Words of a $readmemh file (comments skipped), checking each fits in ``width`` bits."""
    words = []
    for line in path.read_text().splitlines():
        text = line.split("//", 1)[0].strip()
        if text:
            assert len(text) == (width + 3) // 4, f"word {text!r} has the wrong digit count"
            word = int(text, 16)
            assert word < 1 << width
            words.append(word)
    return words


def field(word: int, index: int, width: int, signed: bool) -> int:
    value = (word >> (index * width)) & ((1 << width) - 1)
    return value - (1 << width) if signed and value >> (width - 1) else value


@pytest.mark.parametrize(
    ("mh", "mw", "pe", "simd", "input_bits"),
    [(8, 16, 2, 4, 1), (6, 12, 1, 1, 1), (4, 10, 4, 10, 1), (10, 18, 5, 3, 4), (3, 7, 3, 1, 8)],
)
def test_mvau_layout(tmp_path: Path, mh: int, mw: int, pe: int, simd: int, input_bits: int) -> None:
    rng = np.random.default_rng(mh * 100 + mw)
    w = rng.integers(0, 2, (mh, mw)).astype(bool)
    lo, hi = mvau_threshold_range(mw, input_bits)
    t = rng.integers(lo, hi + 1, mh)
    t[0], t[-1] = lo, hi
    weight_path, thresh_path = write_mvau_memfiles(w, t, pe, simd, input_bits, tmp_path, "l0")
    assert thresh_path is not None
    nf, sf = mh // pe, mw // simd
    words = read_memh(weight_path, pe * simd)
    assert len(words) == nf * sf
    for nfi in range(nf):
        for sfi in range(sf):
            word = words[nfi * sf + sfi]
            for p in range(pe):
                for s in range(simd):
                    assert (word >> (p * simd + s)) & 1 == w[nfi * pe + p, sfi * simd + s]
    width = mvau_widths(mw, input_bits).thresh_width
    twords = read_memh(thresh_path, pe * width)
    assert len(twords) == nf
    decoded = [field(twords[c // pe], c % pe, width, input_bits > 1) for c in range(mh)]
    assert decoded == t.tolist()


def test_mvau_accumulator_mode_writes_no_thresholds(tmp_path: Path) -> None:
    w = np.ones((4, 8), dtype=np.uint8)
    weight_path, thresh_path = write_mvau_memfiles(w, None, 2, 4, 1, tmp_path / "sub", "out")
    assert thresh_path is None
    assert weight_path == tmp_path / "sub" / "out_weights.hex"
    assert read_memh(weight_path, 8) == [0xFF] * 4


@pytest.mark.parametrize(("n", "simd", "input_bits"), [(16, 4, 8), (12, 1, 3), (20, 20, 1)])
def test_input_threshold_layout(tmp_path: Path, n: int, simd: int, input_bits: int) -> None:
    rng = np.random.default_rng(n)
    t = rng.integers(0, (1 << input_bits) + 1, n)
    t[0], t[-1] = 0, 1 << input_bits
    path = write_input_threshold_memfile(t, simd, input_bits, tmp_path, "in")
    width = input_bits + 1
    words = read_memh(path, simd * width)
    assert len(words) == n // simd
    decoded = [field(words[i // simd], i % simd, width, False) for i in range(n)]
    assert decoded == t.tolist()


def test_widths() -> None:
    assert [clog2(n) for n in (1, 2, 3, 4, 5, 785)] == [0, 1, 2, 2, 3, 10]
    assert mvau_widths(784, 1) == MvauWidths(11, 10, 10, 0, 785)
    assert mvau_widths(7, 1).thresh_width == 4  # T up to 8
    assert mvau_widths(784, 8).acc_width == 19  # |acc| <= 199920
    assert mvau_widths(784, 8).thresh_width == 19
    assert mvau_threshold_range(10, 1) == (0, 11)
    assert mvau_threshold_range(10, 2) == (-30, 31)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pe": 3}, "PE=3 does not divide MH=8"),
        ({"simd": 5}, "SIMD=5 does not divide MW=16"),
        ({"pe": 0}, "PE=0 does not divide MH=8"),
        ({"input_bits": 0}, "input_bits must be at least 1"),
        ({"thresholds": np.full(8, 18)}, r"thresholds must lie in \[0, 17\], found 18"),
        ({"thresholds": np.full(8, -1)}, r"thresholds must lie in \[0, 17\], found -1"),
        ({"thresholds": np.zeros(7, dtype=int)}, r"thresholds must have shape \(MH,\)"),
        ({"thresholds": np.zeros(8)}, "thresholds must be integers"),
        ({"weights": np.full((8, 16), 2)}, "weights must be bool or 0/1 integers"),
        ({"weights": np.ones(16, dtype=bool)}, "weights must be 2-D"),
    ],
)
def test_mvau_rejects(tmp_path: Path, kwargs: dict, message: str) -> None:
    args = {
        "weights": np.ones((8, 16), dtype=bool),
        "thresholds": np.zeros(8, dtype=int),
        "pe": 2,
        "simd": 4,
        "input_bits": 1,
        "out_dir": tmp_path,
        "prefix": "x",
    } | kwargs
    with pytest.raises(ValueError, match=message):
        write_mvau_memfiles(**args)


def test_input_threshold_rejects(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="SIMD=3 does not divide N=8"):
        write_input_threshold_memfile(np.zeros(8, dtype=int), 3, 4, tmp_path, "x")
    with pytest.raises(ValueError, match=r"must lie in \[0, 16\], found 17"):
        write_input_threshold_memfile(np.full(8, 17), 2, 4, tmp_path, "x")
