"""Random binary MLPs and conv nets built directly as IR, for hardware tests and benchmarks.

Weights are uniform random bits, with the first rows of every layer forced to all +1 and all
-1. Hidden thresholds are drawn near the mean of the attainable range, with the extremes
present whenever a layer has enough channels: ``T = 0`` (always +1) and ``T = MW + 1`` (always
-1) for popcounts, ``-MW*(L-1)`` and ``MW*(L-1) + 1`` for an integer first layer with L input
levels. Input thresholds include 0 and ``levels`` (always +1 / always -1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hwbnn.ir.types import (
    InputFormat,
    InputThreshold,
    Layer,
    MajorityPool,
    MatrixVector,
    MaxPool,
    Network,
    SlidingWindow,
)


def _with_extremes(t: np.ndarray, low: int, high: int) -> np.ndarray:
    if len(t) >= 3:
        t[0], t[1] = low, high
    return t


def random_mlp(
    rng: np.random.Generator,
    inputs: int,
    hidden: Sequence[int],
    classes: int,
    input_levels: int = 256,
    binarize_input: bool = True,
    input_shape: tuple[int, ...] | None = None,
) -> Network:
    """A random MLP: ``inputs`` codes of ``input_levels`` levels -> hidden widths -> classes.

    With ``binarize_input`` the first layer is an input-threshold unit, else the first
    matrix-vector layer takes the integer codes (input bits = ceil(log2(levels)), at least 3
    levels).
    """
    if not binarize_input and input_levels < 3:
        # as lowering: a 2-level integer input is not supported (the reference would take the
        # codes for packed bits)
        raise ValueError("an integer first layer needs at least 3 input levels")
    shape = input_shape if input_shape is not None else (inputs,)
    if int(np.prod(shape)) != inputs:
        raise ValueError(f"input shape {shape} does not hold {inputs} elements")
    fmt = InputFormat(shape, np.arange(input_levels, dtype=np.float32) / (input_levels - 1))
    layers: list[Layer] = []
    levels = input_levels
    if binarize_input:
        t = rng.integers(0, input_levels + 1, inputs)
        layers.append(
            InputThreshold("input_threshold", _with_extremes(t, 0, input_levels), input_levels)
        )
        levels = 2
    widths = [inputs, *hidden, classes]
    for index, (mw, mh) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        last = index == len(widths) - 2
        layers.append(_random_unit(rng, f"fc{index}", mh, mw, levels, last))
        levels = 2
    return Network(fmt, tuple(layers), source="random_mlp")


def _random_unit(
    rng: np.random.Generator,
    name: str,
    mh: int,
    mw: int,
    levels: int,
    output: bool,
    pixels: int = 1,
) -> MatrixVector:
    """A random matrix-vector unit on ``levels``-level inputs (output layer or thresholds)."""
    weights = rng.integers(0, 2, (mh, mw)).astype(bool)
    if mh >= 2:
        weights[0], weights[1] = True, False
    bits = 1 if levels == 2 else max(1, int(np.ceil(np.log2(levels))))
    if output:
        return MatrixVector(
            name,
            weights,
            bits,
            levels,
            out_scale=rng.uniform(0.5, 2.0, mh),
            out_bias=rng.uniform(-1.0, 1.0, mh),
            pixels=pixels,
        )
    # around the accumulator's mean, within about two standard deviations
    spread = int(np.sqrt(mw) * (levels - 1) / 2) + 1
    if levels == 2:
        low, high = 0, mw + 1
        t = np.clip(rng.integers(mw // 2 - spread, mw // 2 + spread + 1, mh), low, high)
    else:
        bound = mw * (levels - 1)
        low, high = -bound, bound + 1
        t = np.clip(rng.integers(-spread, spread + 1, mh), low, high)
    return MatrixVector(
        name, weights, bits, levels, thresholds=_with_extremes(t, low, high), pixels=pixels
    )


@dataclass(frozen=True)
class ConvSpec:
    """One convolution of :func:`random_conv_net`: output channels, kernel, stride, symmetric
    padding (with -1 / pad code 0), then an optional 3x3 majority pool padded by 1 with stride
    ``majority`` (the binary avg_pool_3x3 of hwbnn.nn.genotype; thresholds near 5, with 0 and
    10), then an optional max pool (kernel ``pool``, stride ``pool_stride`` or else ``pool``,
    symmetric ``pool_padding`` with bit 0); ``dilation`` spaces the convolution's taps."""

    channels: int
    kernel: int = 3
    stride: int = 1
    padding: int = 0
    pool: int = 0
    majority: int = 0
    dilation: int = 1
    pool_stride: int = 0
    pool_padding: int = 0


def random_conv_net(
    rng: np.random.Generator,
    image: tuple[int, int, int],
    convs: Sequence[ConvSpec],
    hidden: Sequence[int],
    classes: int,
    input_levels: int = 256,
    binarize_input: bool = True,
) -> Network:
    """A random conv net on a (C, H, W) image of ``input_levels``-level codes: convolutions
    (sliding window + per-pixel unit, optional majority pool and OR pool), then dense layers
    ``hidden`` and the output layer. Without ``binarize_input`` the first convolution takes the
    integer codes."""
    if not convs:
        raise ValueError("a conv net needs at least one convolution")
    if not binarize_input and input_levels < 3:
        raise ValueError("an integer first layer needs at least 3 input levels")
    c, h, w = image
    fmt = InputFormat(image, np.arange(input_levels, dtype=np.float32) / (input_levels - 1))
    layers: list[Layer] = []
    levels = input_levels
    if binarize_input:
        t = rng.integers(0, input_levels + 1, c * h * w)
        layers.append(
            InputThreshold("input_threshold", _with_extremes(t, 0, input_levels), input_levels)
        )
        levels = 2
    shape = (h, w, c)
    for index, spec in enumerate(convs):
        p = spec.padding
        window = SlidingWindow(
            f"swg{index}",
            shape,
            spec.kernel,
            spec.stride,
            (p, p, p, p),
            levels,
            pad_code=0,
            dilation=spec.dilation,
        )
        layers.append(window)
        unit = _random_unit(
            rng, f"conv{index}", spec.channels, window.window, levels, False, window.pixels
        )
        layers.append(unit)
        levels = 2
        shape = (*window.out_shape[:2], spec.channels)
        if spec.majority:
            t = _with_extremes(rng.integers(4, 7, spec.channels), 0, 10)
            majority = MajorityPool(f"majority{index}", shape, 3, spec.majority, (1,) * 4, t)
            layers.append(majority)
            shape = majority.out_shape
        if spec.pool:
            q = spec.pool_padding
            stride = spec.pool_stride or spec.pool
            pool = MaxPool(f"pool{index}", shape, spec.pool, stride, padding=(q, q, q, q))
            layers.append(pool)
            shape = pool.out_shape
    widths = [int(np.prod(shape)), *hidden, classes]
    for index, (mw, mh) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers.append(_random_unit(rng, f"fc{index}", mh, mw, 2, index == len(widths) - 2))
    return Network(fmt, tuple(layers), source="random_conv_net")


#: FINN's CNV (BNN-PYNQ cnvW1A1): 3x3 convolutions 64, 64, pool 2, 128, 128, pool 2, 256, 256
#: without padding on (3, 32, 32) 8-bit pixels, then dense 512, 512 and 10 classes.
CNV_CONVS = (
    ConvSpec(64),
    ConvSpec(64, pool=2),
    ConvSpec(128),
    ConvSpec(128, pool=2),
    ConvSpec(256),
    ConvSpec(256),
)
CNV_HIDDEN = (512, 512)


def random_cnv(rng: np.random.Generator) -> Network:
    """Random weights in CNV's geometry, 256-level integer input into the first convolution."""
    return random_conv_net(rng, (3, 32, 32), CNV_CONVS, CNV_HIDDEN, 10, 256, False)
