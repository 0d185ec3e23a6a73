"""The reference's fast paths against straightforward definitions: both XNOR-popcount kernels,
bit packing, the proven input-code path, and whole networks (MLPs with integer or binarized
input and odd widths, conv nets, random graphs) against a +-1 integer model."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from naive_model import naive_outputs

from hwbnn.data import DataError, code_values
from hwbnn.ir.types import InputFormat, MatrixVector, Network
from hwbnn.reference import Reference, kernels, to_codes
from hwbnn.reference.codes import CodeReader, _general_codes
from hwbnn.reference.kernels import (
    HAVE_NUMBA,
    KERNELS,
    PARALLEL_WORK,
    mismatches,
    mismatches_within,
    pack_bits,
)
from hwbnn.sim.random_graphs import BLOCKS, random_graph_net
from hwbnn.sim.random_nets import ConvSpec, random_conv_net, random_mlp

#: The kernels this install has (numba is the optional extra hwbnn[fast]; dev installs it).
AVAILABLE = tuple(k for k in KERNELS if k != "numba" or HAVE_NUMBA)


def _plain_pack(bits: np.ndarray) -> np.ndarray:
    """Element i of a row at bit i % 64 of word i // 64, one Python int per word."""
    words = np.zeros((bits.shape[0], (bits.shape[1] + 63) // 64), dtype=np.uint64)
    for r, row in enumerate(bits):
        for k in range(words.shape[1]):
            chunk = row[64 * k : 64 * k + 64]
            words[r, k] = sum(1 << i for i, bit in enumerate(chunk) if bit)
    return words


@pytest.mark.parametrize("n", [1, 7, 9, 63, 64, 65, 144, 200, 784])
def test_pack_bits_equals_bit_by_bit_packing(n):
    bits = np.random.default_rng(n).random((5, n)) < 0.5
    assert np.array_equal(pack_bits(bits), _plain_pack(bits))


@pytest.mark.skipif(not HAVE_NUMBA, reason="the compiled kernels need numba (hwbnn[fast])")
@pytest.mark.parametrize("n", [1, 9, 63, 64, 65, 144, 784])
def test_compiled_packing_equals_pack_bits(n):
    from hwbnn.reference import _compiled

    bits = np.random.default_rng(n).random((7, n)) < 0.5
    words = (n + 63) // 64
    assert np.array_equal(_compiled.pack_bool_rows(bits, words), pack_bits(bits))
    if n % 8 == 0:  # byte rows padded to whole words
        row_bytes = np.packbits(bits, axis=1, bitorder="little")
        padded = _compiled.pad_byte_rows(row_bytes, words).view("<u8")
        assert np.array_equal(padded, pack_bits(bits))


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.integers(0, 70),  # rows (0: an empty block)
    st.integers(1, 40),  # output rows
    st.sampled_from([1, 9, 63, 64, 65, 100, 130, 1999, 2050]),  # bits; 2050 > 31 words
)
def test_kernels_equal_the_definition(seed, rows, mh, n):
    rng = np.random.default_rng(seed)
    bits = rng.random((rows, n)) < rng.random()
    weights = rng.random((mh, n)) < 0.5
    expected = (bits[:, None, :] != weights[None, :, :]).sum(axis=2)  # mismatching elements
    limit = rng.integers(-1, n + 1, mh)
    for kernel, parallel_work in [(k, w) for k in AVAILABLE for w in (0, PARALLEL_WORK)]:
        with pytest.MonkeyPatch.context() as patch:  # 0: the compiled rows on every core
            patch.setattr(kernels, "PARALLEL_WORK", parallel_work)
            got = mismatches(pack_bits(bits), pack_bits(weights), kernel)
            within = mismatches_within(pack_bits(bits), pack_bits(weights), limit, kernel)
        assert got.shape == (rows, mh) and np.array_equal(got, expected), kernel
        assert np.array_equal(within, expected <= limit), kernel


def test_kernel_errors_name_the_problem():
    words = np.zeros((2, 3), dtype=np.uint64)
    with pytest.raises(ValueError, match="3 input words against 2 weight words"):
        mismatches(words, np.zeros((4, 2), dtype=np.uint64))
    with pytest.raises(ValueError, match="3 input words against 2 weight words"):
        mismatches_within(words, np.zeros((4, 2), dtype=np.uint64), np.zeros(4), AVAILABLE[-1])
    with pytest.raises(ValueError, match="unknown kernel 'gpu'"):
        mismatches(words, words, "gpu")
    net = random_mlp(np.random.default_rng(0), 5, (3,), 2)
    with pytest.raises(ValueError, match="unknown reference kernel 'gpu'"):
        Reference(net, "gpu")


FORMATS = [
    code_values(256),  # k / 255: the divide formula
    code_values(17),
    code_values(2, -1.0, 1.0),  # -1 + 2 k: the step formula
    code_values(5, -0.5, 1.5),
    np.array([0.0, 0.1, 0.35, 0.9, 2.0], dtype=np.float32),  # no formula: general path
]


@pytest.mark.parametrize("parallel_work", [0, PARALLEL_WORK])
@pytest.mark.parametrize("kernel", AVAILABLE)
@pytest.mark.parametrize("values", FORMATS, ids=lambda v: f"{len(v)}levels")
def test_proven_codes_equal_the_general_path(values, kernel, parallel_work, monkeypatch):
    monkeypatch.setattr(kernels, "PARALLEL_WORK", parallel_work)  # 0: rows on every core
    fmt = InputFormat((3, 4), values)
    reader = CodeReader(fmt, kernel)
    rng = np.random.default_rng(len(values))
    codes = rng.integers(0, len(values), (50, 3, 4))
    codes[0, 0, 0] = 0
    x = values[codes]
    x[0, 0, 0] = -0.0 if values[0] == 0 else x[0, 0, 0]  # -0.0 is the code of 0.0
    got = reader.codes(x)
    assert got.dtype == np.int16
    assert np.array_equal(got, codes.reshape(50, -1))
    assert np.array_equal(got, _general_codes(fmt, fmt.to_stream(x), False, 0))
    # anything but a code value: the same error, or with rounding the same nearest codes
    for bad in (np.float32(values[1] + 1e-3), np.float32(values[-1] * 2 + 1), np.float32("nan")):
        y = x.copy()
        y[7, 2, 1] = bad
        with pytest.raises(DataError, match="input frame 7 element 9"):
            reader.codes(y)
        if np.isnan(bad):
            with pytest.raises(DataError, match="NaN has no nearest code"):
                reader.codes(y, rounding=True)
        else:
            rounded = reader.codes(y, rounding=True)
            assert np.array_equal(rounded, _general_codes(fmt, fmt.to_stream(y), True, 0))
            assert np.array_equal(rounded, to_codes(fmt, y, rounding=True))


def _codes(rng: np.random.Generator, net: Network, frames: int) -> np.ndarray:
    return rng.integers(0, net.input.levels, (frames, net.input.elements))


def _check(net: Network, codes: np.ndarray) -> None:
    """Both kernels, every layer, and the float entry point equal the naive model."""
    expected = naive_outputs(net, codes)
    for kernel in AVAILABLE:
        result = Reference(net, kernel).run_codes(codes, keep_layers=True)
        for layer, got in zip(net.layers, result.layer_outputs, strict=True):
            assert np.array_equal(got, expected[layer.name]), (kernel, layer.name)
            assert got.dtype in (np.bool_, np.int64), (kernel, layer.name, got.dtype)
        x = net.input.values[codes].reshape(len(codes), *net.input.shape)
        if net.input.image_shape is not None:  # stream order back to (C, H, W)
            h, w, c = net.input.image_shape
            x = x.reshape(len(codes), h, w, c).transpose(0, 3, 1, 2)
        labels = Reference(net, kernel).run(x).labels
        assert np.array_equal(labels, result.labels), kernel


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.booleans())
def test_random_mlps_equal_the_naive_model(seed, binarize):
    rng = np.random.default_rng(seed)
    inputs = int(rng.integers(1, 200))
    hidden = [int(h) for h in rng.integers(1, 150, int(rng.integers(1, 4)))]
    levels = int(rng.choice([3, 17, 256]))
    net = random_mlp(rng, inputs, hidden, int(rng.integers(1, 12)), levels, binarize)
    _check(net, _codes(rng, net, int(rng.integers(0, 40))))


def test_large_integer_input_layer_uses_exact_float64():
    """MW * (levels - 1) >= 2**24: the integer-input product must not run in float32."""
    rng = np.random.default_rng(5)
    mw = 2**16 + 3
    weights = np.ones((2, mw), dtype=bool)
    weights[1, ::2] = False
    out = MatrixVector("l0", weights, 9, 300, out_scale=np.ones(2), out_bias=np.zeros(2))
    net = Network(InputFormat((mw,), code_values(300)), (out,))
    codes = rng.integers(290, 300, (3, mw))
    codes[:, 0] = 1  # a sum whose last unit a float32 would lose
    _check(net, codes)


@pytest.mark.parametrize("binarize", [True, False])
def test_random_conv_nets_equal_the_naive_model(binarize):
    rng = np.random.default_rng(11 + binarize)
    convs = [
        ConvSpec(5, 3, 1, 1),
        ConvSpec(24, 3, 2, 1, pool=2),  # 24 channels: large pixels, byte-packed bits
        ConvSpec(3, 2, 1, 0),
    ]
    net = random_conv_net(rng, (3, 13, 11), convs, (9,), 4, 17, binarize)
    _check(net, _codes(rng, net, 21))


def test_wide_packed_pixels_equal_the_naive_model():
    """136 channels: 17 bytes per packed pixel, the windows' large-pixel path on bytes."""
    rng = np.random.default_rng(4)
    convs = [ConvSpec(136, 3, 1, 1), ConvSpec(8, 3, 1, 0, pool=2)]
    net = random_conv_net(rng, (2, 6, 5), convs, (), 3, 4)
    _check(net, _codes(rng, net, 9))


@pytest.mark.parametrize("channels", [4, 8])  # 8: streams travel byte-packed
@pytest.mark.parametrize("block", BLOCKS)
def test_random_graphs_equal_the_naive_model(block, channels):
    rng = np.random.default_rng(BLOCKS.index(block))
    net = random_graph_net(rng, (2, 6, 6), channels, (block, "identity"), 5)
    _check(net, _codes(rng, net, 13))
