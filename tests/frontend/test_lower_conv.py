"""Lowering of convolutions, -1 padding, max pooling and flattening (hand-built QONNX graphs):
the IR equals execute_onnx exactly, and every unsupported form is a one-line error."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from qonnx.core.modelwrapper import ModelWrapper
from qonnx_builders import DenseSpec, Encoding, build_chain, build_mlp, random_pm1

from hwbnn.data import code_values
from hwbnn.errors import ModelError
from hwbnn.export import clean_qonnx, run_qonnx
from hwbnn.frontend.lower import InputSpec, lower
from hwbnn.frontend.lower_conv import chw_stream_index
from hwbnn.ir.types import InputThreshold, MatrixVector, MaxPool, Network, SlidingWindow
from hwbnn.reference import Reference

BIPOLAR = InputSpec(levels=2, low=-1.0, high=1.0)


def _copy(model: onnx.ModelProto) -> ModelWrapper:
    return ModelWrapper(onnx.ModelProto.FromString(model.SerializeToString()))


def _bn(rng: np.random.Generator, c: int, negative: bool = True) -> tuple:
    gamma = rng.normal(0, 1, c) if negative else rng.uniform(0.2, 2, c)
    return ("bn", gamma, rng.normal(0, 1, c), rng.normal(0, 3, c), rng.uniform(0.1, 5, c))


def _check(model: onnx.ModelProto, spec: InputSpec, x: np.ndarray) -> Network:
    """L2 == L1 exactly: the last op is a MatMul, so execute_onnx gives the accumulators."""
    net = lower(_copy(model), spec)
    ref = Reference(net).run(x)
    onnx_out = run_qonnx(clean_qonnx(_copy(model)), x).reshape(len(x), -1)
    assert np.array_equal(onnx_out, np.rint(onnx_out))
    assert np.array_equal(ref.accumulators, onnx_out.astype(np.int64))
    return net


def _bipolar(rng: np.random.Generator, shape: tuple[int, ...], n: int = 48) -> np.ndarray:
    return np.where(rng.random((n, *shape[1:])) < 0.5, -1.0, 1.0).astype(np.float32)


def _conv_net(rng: np.random.Generator, pool_ops: list[tuple], bn_negative: bool = True) -> list:
    """3x7x6 image -> -1-padded 3x3 conv (5 ch) -> tail with pool -> 2x2 conv -> dense."""
    return [
        ("pad", (1, 1, 1, 1), -1.0),
        ("conv", random_pm1(rng, (5, 3, 3, 3))),
        *pool_ops,
        ("conv", random_pm1(rng, (4, 5, 2, 2)), {"strides": [1, 1]}),
        _bn(rng, 4),
        ("quant",),
        ("flatten",),
        ("dense", random_pm1(rng, (4 * 2 * 2, 6))),
    ]


def test_padded_conv_pool_flatten_dense_equals_execute_onnx() -> None:
    rng = np.random.default_rng(1)
    ops = _conv_net(rng, [_bn(rng, 5), ("quant",), ("pool", 2, 2)])
    net = _check(build_chain((1, 3, 7, 6), ops), BIPOLAR, _bipolar(rng, (1, 3, 7, 6)))
    kinds = [type(layer) for layer in net.layers]
    assert kinds == [
        InputThreshold,
        SlidingWindow,
        MatrixVector,
        MaxPool,
        SlidingWindow,
        MatrixVector,
        MatrixVector,
    ]
    window = net.layers[1]
    assert isinstance(window, SlidingWindow)
    assert (window.in_shape, window.padding, window.pad_code) == ((7, 6, 3), (1, 1, 1, 1), 0)
    assert net.layers[3].out_shape == (3, 3, 5)  # floor mode


def test_dilated_conv_and_padded_pools_equal_execute_onnx() -> None:
    """A -1-padded 3x3 conv of dilation 2 (8x8 -> 8x8), a 3x3 stride-1 max pool with ONNX pads
    1 (-inf: bit 0 behind the threshold), a -1 Pad before a 3x3 stride-2 max pool, and a 1x1
    stride-2 pool: the IR equals execute_onnx exactly."""
    rng = np.random.default_rng(12)
    ops = [
        ("pad", (2, 2, 2, 2), -1.0),
        ("conv", random_pm1(rng, (5, 3, 3, 3)), {"dilations": [2, 2]}),
        _bn(rng, 5),
        ("quant",),
        ("pool", 3, 1, {"pads": [1, 1, 1, 1]}),
        ("pad", (1, 1, 1, 1), -1.0),
        ("pool", 3, 2),
        ("pool", 1, 2),
        ("conv", random_pm1(rng, (4, 5, 2, 2))),
        _bn(rng, 4),
        ("quant",),
        ("flatten",),
        ("dense", random_pm1(rng, (4, 6))),
    ]
    net = _check(build_chain((1, 3, 8, 8), ops), BIPOLAR, _bipolar(rng, (1, 3, 8, 8), 96))
    window, pool1, pool2, pool3 = net.layers[1], net.layers[3], net.layers[4], net.layers[5]
    assert isinstance(window, SlidingWindow) and window.dilation == 2
    assert (window.padding, window.out_shape) == ((2, 2, 2, 2), (8, 8, 27))
    assert isinstance(pool1, MaxPool) and isinstance(pool2, MaxPool) and isinstance(pool3, MaxPool)
    assert (pool1.padding, pool1.out_shape) == ((1, 1, 1, 1), (8, 8, 5))
    assert (pool2.padding, pool2.out_shape) == ((1, 1, 1, 1), (4, 4, 5))
    assert (pool3.padding, pool3.out_shape) == ((0, 0, 0, 0), (2, 2, 5))


def test_padded_max_pool_before_the_activation_becomes_an_or() -> None:
    """A padded max pool between BN and the sign (ONNX pads it with -inf) is moved behind the
    threshold, padding with bit 0 there."""
    rng = np.random.default_rng(13)
    pool = ("pool", 3, 2, {"pads": [1, 1, 1, 1]})
    ops = _conv_net(rng, [_bn(rng, 5, negative=False), pool, ("quant",)])
    ops[-1] = ("dense", random_pm1(rng, (4 * 3 * 2, 6)))  # 7x6 -> 4x3 pooled -> 3x2 conv
    net = _check(build_chain((1, 3, 7, 6), ops), BIPOLAR, _bipolar(rng, (1, 3, 7, 6), 96))
    pool_layer = net.layers[3]
    assert isinstance(pool_layer, MaxPool) and pool_layer.padding == (1, 1, 1, 1)
    assert pool_layer.out_shape == (4, 3, 5)


@pytest.mark.parametrize("where", ["after_quant", "before_quant", "before_bn"])
def test_max_pool_anywhere_up_to_the_product_becomes_an_or(where: str) -> None:
    rng = np.random.default_rng(2)
    pool = ("pool", 2, 2)
    bn = _bn(rng, 5, negative=where != "before_bn")  # a pool before BN needs increasing BN
    tails = {
        "after_quant": [bn, ("quant",), pool],
        "before_quant": [bn, ("mul", 0.5), pool, ("quant",)],
        "before_bn": [pool, bn, ("quant",)],
    }
    net = _check(
        build_chain((1, 3, 7, 6), _conv_net(rng, tails[where])),
        BIPOLAR,
        _bipolar(rng, (1, 3, 7, 6)),
    )
    conv, pool_layer = net.layers[2], net.layers[3]
    assert isinstance(conv, MatrixVector) and isinstance(pool_layer, MaxPool)
    assert conv.pixels == 42 and pool_layer.in_shape == (7, 6, 5)


def test_max_pool_before_a_decreasing_channel_is_an_error() -> None:
    rng = np.random.default_rng(3)
    bn = _bn(rng, 5, negative=False)
    bn[1][2] = -0.5  # channel 2 has a negative slope
    model = build_chain((1, 3, 7, 6), _conv_net(rng, [("pool", 2, 2), bn, ("quant",)]))
    with pytest.raises(ModelError, match=r"MaxPool.*channel 2 decreases .*after the sign"):
        lower(_copy(model), BIPOLAR)


def test_negative_bn_slopes_negate_rows_and_stay_exact() -> None:
    rng = np.random.default_rng(4)
    bn = ("bn", -np.ones(5), np.zeros(5), np.zeros(5), np.ones(5))  # every channel decreasing
    ops = _conv_net(rng, [bn, ("quant",), ("pool", 2, 2)])
    x = _bipolar(rng, (1, 3, 7, 6))
    net = _check(build_chain((1, 3, 7, 6), ops), BIPOLAR, x)
    conv = net.layers[2]
    assert isinstance(conv, MatrixVector) and conv.thresholds is not None
    # sign(-acc) = +1 iff acc <= 0; negated rows: popcount' >= ceil(MW/2)
    stored = np.where(ops[1][1].transpose(0, 2, 3, 1).reshape(5, -1) > 0, True, False)
    assert np.array_equal(conv.weights, ~stored)
    assert np.all(conv.thresholds == 14)  # MW = 27: acc' = 2*pop' - 27 >= 0 (acc <= 0)


@pytest.mark.parametrize("padding", ["pad_node", "conv_pads"])
def test_integer_input_first_conv_pads_with_code_zero(padding: str) -> None:
    rng = np.random.default_rng(5)
    conv_w = random_pm1(rng, (4, 2, 3, 3))
    first = (
        [("pad", (1, 1, 1, 1), 0.0), ("conv", conv_w)]
        if padding == "pad_node"
        else [("conv", conv_w, {"pads": [1, 1, 1, 1]})]
    )
    ops = [
        *first,
        _bn(rng, 4),
        ("quant",),
        ("pool", 2, 2),
        ("flatten",),
        ("dense", random_pm1(rng, (4 * 3 * 2, 5))),
    ]
    enc = Encoding(input_ops=[("mul", 15.0)], input_quant="uint4")
    spec = InputSpec(levels=16)
    codes = rng.integers(0, 16, (40, 2, 6, 5))
    net = _check(build_chain((1, 2, 6, 5), ops, enc), spec, code_values(16)[codes])
    window, conv = net.layers[0], net.layers[1]
    assert isinstance(window, SlidingWindow) and isinstance(conv, MatrixVector)
    assert (window.input_levels, window.pad_code, window.padding) == (16, 0, (1, 1, 1, 1))
    assert (conv.input_bits, conv.mw, conv.pixels) == (4, 18, 30)


def test_strided_conv_with_bias_and_asymmetric_pad() -> None:
    rng = np.random.default_rng(6)
    ops = [
        ("pad", (1, 0, 0, 1), -1.0),
        ("conv", random_pm1(rng, (3, 2, 3, 3)), {"strides": [2, 2], "bias": rng.normal(0, 2, 3)}),
        _bn(rng, 3),
        ("quant",),
        ("flatten",),
        ("dense", random_pm1(rng, (3 * 3 * 3, 4))),
    ]
    net = _check(build_chain((1, 2, 6, 6), ops), BIPOLAR, _bipolar(rng, (1, 2, 6, 6)))
    window = net.layers[1]
    assert isinstance(window, SlidingWindow)
    assert (window.stride, window.padding, window.out_shape[:2]) == (2, (1, 0, 0, 1), (3, 3))


def test_image_mlp_permutes_first_layer_to_stream_order() -> None:
    """A dense first layer on a (3, 2, 4) image: input thresholds per element and the weight
    columns follow the stream order (channel innermost)."""
    rng = np.random.default_rng(7)
    shape = (1, 3, 2, 4)
    scale = rng.uniform(0.5, 2.0, shape).astype(np.float32)
    layers = [
        DenseSpec(random_pm1(rng, (24, 6)), tail=[("add", 0.5)]),
        DenseSpec(random_pm1(rng, (6, 5))),
    ]
    enc = Encoding(input_ops=[("mul", scale), ("sub", 0.6)])
    model = build_mlp(layers, shape, enc)
    spec = InputSpec(levels=8)
    codes = rng.integers(0, 8, (64, *shape[1:]))
    net = lower(_copy(model), spec)
    ref = Reference(net).run(code_values(8)[codes])
    onnx_out = run_qonnx(clean_qonnx(_copy(model)), code_values(8)[codes]).reshape(64, -1)
    assert np.array_equal(ref.accumulators, onnx_out.astype(np.int64))
    first = net.layers[1]
    assert isinstance(first, MatrixVector)
    assert np.array_equal(first.weights, (layers[0].weights.T > 0)[:, chw_stream_index(3, 2, 4)])


def test_chw_stream_index_is_the_input_formats() -> None:
    from hwbnn.ir.types import InputFormat

    fmt = InputFormat((3, 2, 4), code_values(2))
    assert np.array_equal(chw_stream_index(3, 2, 4), fmt.stream_index())


def _error_ops(rng: np.random.Generator, kind: str) -> tuple[list, Encoding]:
    w = random_pm1(rng, (4, 2, 3, 3))
    tail = [_bn(rng, 4), ("quant",), ("flatten",), ("dense", random_pm1(rng, (4 * 4 * 4, 3)))]
    enc = Encoding()
    ops = {
        "zero_pads": [("conv", w, {"pads": [1, 1, 1, 1]})],
        "pad_zero": [("pad", (1, 1, 1, 1), 0.0), ("conv", w)],
        "pad_plus_one": [("pad", (1, 1, 1, 1), 1.0), ("conv", w)],
        "group": [("conv", random_pm1(rng, (4, 1, 3, 3)), {"group": 2, "pads": [0, 0, 0, 0]})],
        "dilation": [("conv", random_pm1(rng, (4, 2, 2, 2)), {"dilations": [2, 1]})],
        "dilated_pad": [("pad", (5, 1, 1, 1), -1.0), ("conv", w, {"dilations": [2, 2]})],
        "float_weights": [("conv", w * rng.uniform(0.5, 1.5, w.shape), {"quantize": False})],
    }
    if kind in ops:
        conv = ops[kind]
        return [*conv, *tail], enc
    pool_attrs = {
        "ceil_mode": {"ceil_mode": 1},
        "pool_pads": {"pads": [2, 0, 0, 0]},
        "pool_dilation": {"dilations": [2, 2]},
    }[kind]
    pooled = [
        ("pad", (1, 1, 1, 1), -1.0),
        ("conv", w),
        _bn(rng, 4),
        ("quant",),
        ("pool", 2, 2, pool_attrs),
        ("flatten",),
        ("dense", random_pm1(rng, (4 * 16, 3))),
    ]
    return pooled, enc


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        (
            "zero_pads",
            r"node Conv_\d+ \(Conv\): zero padding \(pads=\[1, 1, 1, 1\]\) of a binary "
            r"convolution cannot be represented in 1 bit; retrain padding .* with -1",
        ),
        (
            "pad_zero",
            r"node Pad_\d+ \(Pad\): pads a binary activation \(\+-1\) with 0, which is "
            r"not a 1-bit value; retrain padding",
        ),
        ("pad_plus_one", r"pads a binary activation \(\+-1\) with 1,"),
        ("group", r"\(Conv\): grouped/depthwise convolution is not supported"),
        ("dilation", r"\(Conv\): dilations \[2, 1\] must be equal and >= 1"),
        (
            "dilated_pad",
            r"\(Conv\): padding \(5, 1, 1, 1\) must be smaller than the 5x5 extent of the 3x3 "
            r"kernel \(dilation 2\)",
        ),
        ("float_weights", r"\(Conv\): weights are not binary-quantized"),
        ("ceil_mode", r"\(MaxPool\): ceil_mode=1 is not supported"),
        ("pool_pads", r"\(MaxPool\): padding \(2, 0, 0, 0\) must be smaller than the kernel 2"),
        ("pool_dilation", r"\(MaxPool\): dilated max pooling is not supported"),
    ],
)
def test_unsupported_forms_are_one_line_errors(kind: str, message: str) -> None:
    rng = np.random.default_rng(8)
    ops, enc = _error_ops(rng, kind)
    model = build_chain((1, 2, 6, 6), ops, enc)
    with pytest.raises(ModelError, match=message) as info:
        lower(_copy(model), BIPOLAR)
    assert "\n" not in str(info.value)


def test_pad_must_feed_a_conv() -> None:
    rng = np.random.default_rng(9)
    ops = [
        ("pad", (1, 1, 1, 1), -1.0),
        ("pad", (1, 1, 1, 1), -1.0),
        ("conv", random_pm1(rng, (2, 2, 3, 3))),
        ("quant",),
        ("flatten",),
        ("dense", random_pm1(rng, (2 * 2 * 2, 3))),
    ]
    with pytest.raises(ModelError, match=r"\(Pad\): a Pad must feed a Conv directly"):
        lower(_copy(build_chain((1, 2, 6, 6), ops)), BIPOLAR)


def test_dense_classifier_required_at_the_end() -> None:
    rng = np.random.default_rng(10)
    ops = [("conv", random_pm1(rng, (3, 2, 3, 3)))]
    with pytest.raises(ModelError, match=r"last layer gives 16 pixels per frame"):
        lower(_copy(build_chain((1, 2, 6, 6), ops)), BIPOLAR)


def test_unsupported_op_message_lists_conv_ops() -> None:
    rng = np.random.default_rng(11)
    model = build_chain((1, 2, 4, 4), [("flatten",), ("dense", random_pm1(rng, (32, 3)))])
    model.graph.node[-1].op_type = "ConvTranspose"
    with pytest.raises(
        ModelError, match=r"unsupported op; hwbnn lowers MatMul/Gemm, Conv, Pad, MaxPool"
    ):
        lower(_copy(model), BIPOLAR)
