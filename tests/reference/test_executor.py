"""The packed reference against a plain integer model of the numeric contract."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hwbnn.data import DataError, code_values
from hwbnn.ir.serialize import load_network, save_network
from hwbnn.ir.types import InputFormat, InputThreshold, MatrixVector, Network
from hwbnn.reference import Reference, to_codes
from hwbnn.reference.executor import pack_bits


def naive(net: Network, codes: np.ndarray) -> np.ndarray:
    """Element-by-element evaluation with +-1 integers (no packing)."""
    x = codes.astype(np.int64)
    for layer in net.layers:
        if isinstance(layer, InputThreshold):
            x = np.where(x >= layer.thresholds, 1, -1)
            continue
        w = np.where(layer.weights, 1, -1)
        acc = x @ w.T  # 2*popcount - MW for +-1 inputs; the integer sum for codes
        if layer.is_output:
            return acc
        value = (acc + layer.mw) // 2 if layer.binary_input else acc
        x = np.where(value >= layer.thresholds, 1, -1)
    raise AssertionError("no output layer")


@st.composite
def networks(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    integer_input = draw(st.booleans())
    levels = (
        draw(st.sampled_from([2, 5, 17, 256]))
        if integer_input
        else draw(st.sampled_from([2, 17, 256]))
    )
    if integer_input and levels == 2:
        levels = 4
    n_in = draw(st.integers(1, 150))
    widths = [n_in] + [draw(st.integers(1, 130)) for _ in range(draw(st.integers(1, 3)))]
    layers: list = []
    fmt = InputFormat((n_in,), code_values(levels))
    in_bits, in_levels = int(np.ceil(np.log2(levels))), levels
    if not integer_input:
        layers.append(InputThreshold("in", rng.integers(0, levels + 1, n_in), levels))
        in_bits, in_levels = 1, 2
    for i, (mw, mh) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        w = rng.random((mh, mw)) < 0.5
        if i == len(widths) - 2:
            layers.append(
                MatrixVector(
                    f"l{i}",
                    w,
                    in_bits,
                    in_levels,
                    out_scale=rng.normal(size=mh),
                    out_bias=rng.normal(size=mh),
                )
            )
        else:
            lo, hi = (0, mw) if in_bits == 1 else (-mw * (in_levels - 1), mw * (in_levels - 1))
            t = rng.integers(lo, hi + 2, mh)
            t[: mh // 4] = rng.choice([lo, hi + 1], mh // 4)  # always +1 / always -1
            layers.append(MatrixVector(f"l{i}", w, in_bits, in_levels, thresholds=t))
        in_bits, in_levels = 1, 2
    return Network(fmt, tuple(layers)), rng.integers(0, levels, (17, n_in))


@settings(max_examples=80, deadline=None)
@given(networks())
def test_packed_reference_equals_naive_model(case) -> None:
    net, codes = case
    result = Reference(net).run_codes(codes)
    assert np.array_equal(result.accumulators, naive(net, codes))
    out = net.output_layer
    logits = result.accumulators * out.out_scale + out.out_bias
    assert np.array_equal(result.labels, np.argmax(logits, axis=1))


@settings(max_examples=20, deadline=None)
@given(networks())
def test_serialization_roundtrip(tmp_path_factory, case) -> None:
    net, codes = case
    directory = tmp_path_factory.mktemp("ir")
    save_network(net, directory)
    back = load_network(directory)
    assert [type(a) for a in back.layers] == [type(b) for b in net.layers]
    for a, b in zip(back.layers, net.layers, strict=True):
        if isinstance(a, MatrixVector):
            assert np.array_equal(a.weights, b.weights)
            assert (a.thresholds is None) == (b.thresholds is None)
    assert np.array_equal(
        Reference(back).run_codes(codes).accumulators, Reference(net).run_codes(codes).accumulators
    )


def test_bipolar_input_without_input_thresholds() -> None:
    """A first XNOR layer fed directly by 2-level codes (code 1 = +1)."""
    rng = np.random.default_rng(1)
    w = rng.random((5, 70)) < 0.5
    net = Network(
        InputFormat((70,), code_values(2, -1.0, 1.0)),
        (MatrixVector("l0", w, 1, 2, out_scale=np.ones(5), out_bias=np.zeros(5)),),
    )
    codes = rng.integers(0, 2, (9, 70))
    expected = np.where(codes, 1, -1) @ np.where(w, 1, -1).T
    assert np.array_equal(Reference(net).run_codes(codes).accumulators, expected)


def test_pack_bits_layout() -> None:
    bits = np.zeros((1, 70), dtype=bool)
    bits[0, [0, 3, 64, 69]] = True
    words = pack_bits(bits)
    assert words.shape == (1, 2)
    assert int(words[0, 0]) == 0b1001 and int(words[0, 1]) == (1 | (1 << 5))


def test_to_codes_is_exact_unless_rounding() -> None:
    fmt = InputFormat((2,), code_values(256))
    x = code_values(256)[np.array([[0, 255], [17, 128]])].reshape(2, 2)
    assert to_codes(fmt, x).tolist() == [[0, 255], [17, 128]]
    with pytest.raises(DataError, match="frame 1 element 0"):
        to_codes(fmt, x + np.array([[0, 0], [1e-3, 0]], dtype=np.float32))
    assert to_codes(fmt, x + np.float32(1e-3), rounding=True).tolist() == [[0, 255], [17, 128]]
    with pytest.raises(DataError, match="input shape"):
        to_codes(fmt, np.zeros((1, 3), dtype=np.float32))


def test_ir_validation_errors() -> None:
    w = np.ones((3, 4), dtype=bool)
    with pytest.raises(ValueError, match="thresholds outside"):
        MatrixVector("bad", w, 1, 2, thresholds=np.array([0, 5, 6]))
    with pytest.raises(ValueError, match="2-D bool"):
        MatrixVector("bad", w.astype(np.int8), 1, 2, thresholds=np.zeros(3))
    fmt = InputFormat((5,), code_values(2))
    out = MatrixVector("out", w, 1, 2, out_scale=np.ones(3), out_bias=np.zeros(3))
    with pytest.raises(ValueError, match="expects 4 inputs, previous stage gives 5"):
        Network(fmt, (out,))
