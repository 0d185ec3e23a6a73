"""Random binary MLPs built directly as IR, for hardware tests and benchmarks.

Weights are uniform random bits, with the first rows of every layer forced to all +1 and all
-1. Hidden thresholds are drawn near the mean of the attainable range, with the extremes
present whenever a layer has enough channels: ``T = 0`` (always +1) and ``T = MW + 1`` (always
-1) for popcounts, ``-MW*(L-1)`` and ``MW*(L-1) + 1`` for an integer first layer with L input
levels. Input thresholds include 0 and ``levels`` (always +1 / always -1).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hwbnn.ir.types import InputFormat, InputThreshold, Layer, MatrixVector, Network


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
        weights = rng.integers(0, 2, (mh, mw)).astype(bool)
        if mh >= 2:
            weights[0], weights[1] = True, False
        bits = 1 if levels == 2 else max(1, int(np.ceil(np.log2(levels))))
        name = f"fc{index}"
        if index == len(widths) - 2:
            layers.append(
                MatrixVector(
                    name,
                    weights,
                    bits,
                    levels,
                    out_scale=rng.uniform(0.5, 2.0, mh),
                    out_bias=rng.uniform(-1.0, 1.0, mh),
                )
            )
            break
        # around the accumulator's mean, within about two standard deviations
        spread = int(np.sqrt(mw) * (levels - 1) / 2) + 1
        if levels == 2:
            low, high = 0, mw + 1
            t = np.clip(rng.integers(mw // 2 - spread, mw // 2 + spread + 1, mh), low, high)
        else:
            bound = mw * (levels - 1)
            low, high = -bound, bound + 1
            t = np.clip(rng.integers(-spread, spread + 1, mh), low, high)
        layers.append(
            MatrixVector(name, weights, bits, levels, thresholds=_with_extremes(t, low, high))
        )
        levels = 2
    return Network(fmt, tuple(layers), source="random_mlp")
