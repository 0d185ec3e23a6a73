"""Sliding windows, OR pooling and per-pixel matrix-vector units against torch's conv2d and
max_pool2d on +-1 images (the numeric contract of hwbnn.ir.types)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from hwbnn.ir.types import InputFormat, MatrixVector, MaxPool, Network, SlidingWindow
from hwbnn.reference import Reference, run_layer, to_codes
from hwbnn.reference.images import PackedBits, or_pool, pack_stream, sliding_windows, unpacked
from hwbnn.reference.kernels import HAVE_NUMBA

CASES = [  # (H, W, C, K, S, padding top/left/bottom/right)
    (5, 5, 1, 3, 1, (0, 0, 0, 0)),
    (6, 7, 3, 3, 1, (1, 1, 1, 1)),
    (8, 8, 2, 3, 2, (1, 1, 1, 1)),
    (7, 5, 4, 2, 2, (0, 1, 1, 0)),
    (4, 4, 5, 1, 1, (0, 0, 0, 0)),
]


@pytest.mark.skipif(not HAVE_NUMBA, reason="the compiled kernels need numba (hwbnn[fast])")
@pytest.mark.parametrize(
    ("h", "w", "c", "k", "s"), [(4, 4, 3, 2, 2), (5, 7, 2, 3, 2), (6, 6, 1, 3, 1), (6, 5, 16, 3, 2)]
)
def test_compiled_or_pool_equals_the_numpy_pool(h, w, c, k, s):
    """Bits and packed bits (C a multiple of 8): the compiled loop ORs the same values."""
    bits = np.random.default_rng(h * 1000 + w * 10 + c).integers(0, 2, size=(5, h * w * c))
    bits = bits.astype(bool)
    pool = MaxPool("pool", (h, w, c), k, s)
    got = or_pool(pool, bits, "numba")
    assert got.dtype == bool and np.array_equal(got, or_pool(pool, bits))
    if c % 8 == 0:  # packed bits stay packed
        packed = pack_stream(bits)
        got_packed = or_pool(pool, packed, "numba")
        assert isinstance(got_packed, PackedBits)
        assert np.array_equal(got_packed.data, or_pool(pool, packed).data)
        assert np.array_equal(unpacked(got_packed), got)


def _stream(image_chw: np.ndarray) -> np.ndarray:
    """(B, C, H, W) -> (B, H*W*C) stream order."""
    return image_chw.transpose(0, 2, 3, 1).reshape(len(image_chw), -1)


@pytest.mark.parametrize(("h", "w", "c", "k", "s", "pad"), CASES)
def test_conv_as_window_and_mvau_equals_torch(h, w, c, k, s, pad):
    rng = np.random.default_rng(h * 100 + c)
    bits = rng.integers(0, 2, size=(6, c, h, w))
    window = SlidingWindow("swg", (h, w, c), k, s, pad)
    mh = 4
    weights = rng.integers(0, 2, size=(mh, c, k, k)).astype(bool)
    # IR columns are (ky, kx, c), c innermost
    columns = weights.transpose(0, 2, 3, 1).reshape(mh, -1)
    unit = MatrixVector(
        "conv",
        columns,
        1,
        2,
        out_scale=np.ones(mh),
        out_bias=np.zeros(mh),
        pixels=window.pixels,
    )
    acc = run_layer(unit, run_layer(window, _stream(bits)))

    x = torch.tensor(np.where(bits, 1.0, -1.0), dtype=torch.float64)
    top, left, bottom, right = pad
    x = F.pad(x, (left, right, top, bottom), value=-1.0)  # binary convolutions pad with -1
    wt = torch.tensor(np.where(weights, 1.0, -1.0), dtype=torch.float64)
    expected = F.conv2d(x, wt, stride=s).numpy().astype(np.int64)
    assert window.out_shape[:2] == expected.shape[2:]
    np.testing.assert_array_equal(acc, _stream(expected))


@pytest.mark.parametrize(
    ("h", "w", "c", "k", "s"), [(4, 4, 3, 2, 2), (5, 7, 2, 3, 2), (6, 6, 1, 3, 1)]
)
def test_or_pool_equals_max_pool(h, w, c, k, s):
    rng = np.random.default_rng(7)
    bits = rng.integers(0, 2, size=(5, c, h, w))
    pool = MaxPool("pool", (h, w, c), k, s)
    out = run_layer(pool, _stream(bits))
    x = torch.tensor(np.where(bits, 1.0, -1.0))
    expected = F.max_pool2d(x, k, s).numpy() > 0
    np.testing.assert_array_equal(out, _stream(expected.astype(np.int64)))
    assert out.shape[1] == pool.out_elements


def test_integer_window_pads_with_its_pad_code():
    window = SlidingWindow("swg", (2, 2, 1), 3, 1, (1, 1, 1, 1), input_levels=4, pad_code=0)
    out = run_layer(window, np.array([[1, 2, 3, 3]]))
    # output pixel (0, 0): rows -1..1, columns -1..1 of the image [[1, 2], [3, 3]]
    np.testing.assert_array_equal(out[0, :9], [0, 0, 0, 0, 1, 2, 0, 3, 3])


def test_image_input_streams_channel_innermost():
    fmt = InputFormat((3, 2, 2), np.array([0.0, 1.0], dtype=np.float32))
    x = np.arange(12, dtype=np.float32).reshape(1, 3, 2, 2) % 2
    np.testing.assert_array_equal(to_codes(fmt, x)[0], _stream(x.astype(np.int64))[0])
    np.testing.assert_array_equal(fmt.stream_index()[:4], [0, 4, 8, 1])


def test_network_runs_a_small_conv_net_like_torch():
    rng = np.random.default_rng(3)
    c, h, w = 2, 6, 6
    fmt = InputFormat((c, h, w), np.array([0.0, 1.0], dtype=np.float32))
    swg = SlidingWindow("swg0", (h, w, c), 3, 1, (1, 1, 1, 1))
    w0 = rng.integers(0, 2, size=(4, 3 * 3 * c)).astype(bool)
    conv = MatrixVector("conv0", w0, 1, 2, thresholds=rng.integers(9, 11, 4), pixels=36)
    pool = MaxPool("pool0", (6, 6, 4), 2, 2)
    w1 = rng.integers(0, 2, size=(3, 9 * 4)).astype(bool)
    fc = MatrixVector("fc", w1, 1, 2, out_scale=np.ones(3), out_bias=np.zeros(3))
    net = Network(fmt, (swg, conv, pool, fc))
    assert not net.is_dense
    bits = rng.integers(0, 2, size=(4, c, h, w))
    result = Reference(net).run_codes(_stream(bits), keep_layers=True)

    x = torch.tensor(np.where(bits, 1.0, -1.0))
    wt = torch.tensor(np.where(w0, 1.0, -1.0).reshape(4, 3, 3, c).transpose(0, 3, 1, 2))
    pop = (F.conv2d(F.pad(x, (1, 1, 1, 1), value=-1.0), wt) + 18) / 2
    act = torch.where(pop >= torch.tensor(conv.thresholds)[None, :, None, None], 1.0, -1.0)
    pooled = F.max_pool2d(act, 2, 2)
    flat = pooled.permute(0, 2, 3, 1).reshape(4, -1).double()  # stream order
    expected = flat @ torch.tensor(np.where(w1, 1.0, -1.0)).T
    np.testing.assert_array_equal(result.accumulators, expected.numpy().astype(np.int64))
    assert [o.shape[1] for o in result.layer_outputs] == [36 * 18, 36 * 4, 36, 3]


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        (lambda: (SlidingWindow("s", (6, 6, 2), 3), _mv("m", 9, 32)), "expects 32 vectors of 9"),
        (lambda: (MaxPool("p", (4, 9, 2), 2, 2), _mv("m", 16, 1)), "expects a (4, 9, 2)"),
        (lambda: (_mv("m", 36, 2),), "expects 2 vectors of 36, previous stage gives 6x6x2"),
    ],
)
def test_network_checks_image_geometry(layers, message):
    fmt = InputFormat((2, 6, 6), np.array([0.0, 1.0], dtype=np.float32))
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Network(fmt, layers())


def _mv(name: str, mw: int, pixels: int) -> MatrixVector:
    return MatrixVector(
        name,
        np.ones((2, mw), dtype=bool),
        1,
        2,
        out_scale=np.ones(2),
        out_bias=np.zeros(2),
        pixels=pixels,
    )


DILATED_CASES = [  # (H, W, C, K, S, D, padding top/left/bottom/right)
    (8, 8, 2, 3, 1, 2, (2, 2, 2, 2)),  # "same": 8x8 -> 8x8
    (9, 7, 3, 3, 2, 2, (1, 2, 3, 0)),  # strided, asymmetric
    (7, 8, 8, 2, 1, 3, (3, 0, 1, 3)),  # packed bits (C = 8)
    (6, 6, 24, 3, 1, 2, (4, 4, 4, 4)),  # wide pixels (the strided-view path), windows of pad
]


@pytest.mark.parametrize(("h", "w", "c", "k", "s", "d", "pad"), DILATED_CASES)
def test_dilated_conv_as_window_and_mvau_equals_torch(h, w, c, k, s, d, pad):
    """Window element (ky, kx) reads input (oy*S - pad_top + ky*D, ...): torch's dilation."""
    rng = np.random.default_rng(h * 100 + c + d)
    bits = rng.integers(0, 2, size=(5, c, h, w))
    window = SlidingWindow("swg", (h, w, c), k, s, pad, dilation=d)
    weights = rng.integers(0, 2, size=(3, c, k, k)).astype(bool)
    columns = weights.transpose(0, 2, 3, 1).reshape(3, -1)
    unit = MatrixVector(
        "conv", columns, 1, 2, out_scale=np.ones(3), out_bias=np.zeros(3), pixels=window.pixels
    )
    stream = _stream(bits).astype(bool)
    windows = run_layer(window, stream)
    if c % 8 == 0:  # packed bits give the same windows
        packed = sliding_windows(window, pack_stream(stream))
        assert np.array_equal(unpacked(packed), np.asarray(windows, dtype=bool))
    acc = run_layer(unit, windows)
    x = torch.tensor(np.where(bits, 1.0, -1.0), dtype=torch.float64)
    top, left, bottom, right = pad
    x = F.pad(x, (left, right, top, bottom), value=-1.0)
    wt = torch.tensor(np.where(weights, 1.0, -1.0), dtype=torch.float64)
    expected = F.conv2d(x, wt, stride=s, dilation=d).numpy().astype(np.int64)
    assert window.out_shape[:2] == expected.shape[2:]
    np.testing.assert_array_equal(acc, _stream(expected))


@pytest.mark.parametrize(
    ("h", "w", "c", "k", "s", "pad"),
    [
        (6, 6, 3, 3, 1, 1),  # DARTS max_pool_3x3: same size
        (7, 8, 2, 3, 2, 1),  # reduction cell: stride 2, pad 1
        (6, 5, 8, 3, 2, 1),  # packed bits
        (5, 6, 2, 1, 2, 0),  # every second pixel (an identity edge of a reduction cell)
        (6, 6, 2, 2, 2, 1),
    ],
)
def test_padded_or_pool_equals_torch_max_pool(h, w, c, k, s, pad):
    """Padding is bit 0: torch pads with -inf, which a +-1 window never selects."""
    rng = np.random.default_rng(h + 10 * w + c)
    bits = rng.integers(0, 2, size=(6, c, h, w)) & rng.integers(0, 2, size=(6, c, h, w))
    pool = MaxPool("pool", (h, w, c), k, s, padding=(pad,) * 4)
    out = run_layer(pool, _stream(bits))
    x = torch.tensor(np.where(bits, 1.0, -1.0))
    expected = F.max_pool2d(x, k, s, padding=pad).numpy() > 0
    np.testing.assert_array_equal(out, _stream(expected.astype(np.int64)))
    assert out.shape[1] == pool.out_elements
    stream = _stream(bits).astype(bool)
    if c % 8 == 0:
        assert np.array_equal(unpacked(or_pool(pool, pack_stream(stream))), out.astype(bool))
    if HAVE_NUMBA:
        assert np.array_equal(or_pool(pool, stream, "numba"), out.astype(bool))
