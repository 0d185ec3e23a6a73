"""Exact integer thresholds from a channel function evaluated at every attainable value.

A hidden channel computes ``out = sign(f_c(v))`` of its integer accumulator variable ``v`` (the
popcount for XNOR layers, the signed sum for integer-input layers), where ``f_c`` is whatever
float affine chain (scale, bias, BatchNorm) the exported model applies. Rather than solving
``f_c(v) >= 0`` algebraically (and rounding), the search evaluates the model's own ops at every
attainable ``v`` in ``[low, high]`` and reads the answer off:

- non-decreasing output (-1 ... -1, +1 ... +1): ``T_c`` = first ``v`` giving +1
  (``high + 1`` if none), and ``out = v >= T_c``;
- non-increasing output: the channel's weight row is negated, which maps ``v`` to
  ``v' = low + high - v``; then ``out = v' >= low + high - v_last`` with ``v_last`` the last
  ``v`` giving +1;
- anything else is not a threshold function and is an error naming the channel.

Constant channels are non-decreasing with ``T = low`` (always +1) or ``T = high + 1``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hwbnn.errors import ModelError
from hwbnn.frontend.limits import rows_per_chunk

ChannelFunction = Callable[[np.ndarray], np.ndarray]
"""Maps integer values ``v`` (shape (m,)) to the channels' outputs (shape (m, C)), True = +1."""


def search_thresholds(
    evaluate: ChannelFunction,
    low: int,
    high: int,
    channels: int,
    layer: str,
    chunk: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(thresholds, negate)`` for every channel; see the module docstring. The
    one-step, one-selection case of :func:`search_steps` (``chunk``: values per evaluation,
    by default as many as keep it within MAX_TENSOR_ELEMENTS)."""
    chunk = rows_per_chunk(channels) if chunk is None else chunk

    def as_steps(values: np.ndarray) -> np.ndarray:
        out = np.asarray(evaluate(values), dtype=bool)
        if out.shape != (len(values), channels):
            raise ValueError(f"{layer}: channel function returned shape {out.shape}")
        return out[:, :, None]

    thresholds, negate = search_steps(as_steps, low, high, np.array([1]), layer, chunk)
    return thresholds[:, 0, 0], negate


def search_steps(
    evaluate: Callable[[np.ndarray], np.ndarray],
    low: int,
    high: int,
    levels: np.ndarray,
    layer: str,
    chunk: int = 4096,
) -> tuple[np.ndarray, np.ndarray]:
    """Multi-step thresholds by the same enumeration: ``evaluate(v)`` gives the integer output
    (m, C, S) of every channel ``c`` and side selection ``s`` at the values ``v`` (m,) in
    ``[low, high]``. Every channel must be monotone in ``v``, all its selections in the same
    direction (one negation of a weight row serves them all); a non-increasing channel is
    reversed (``v' = low + high - v``, ``negate[c]``). Returns ``(T, negate)`` with ``T`` of
    shape (C, S, len(levels)): ``T[c, s, j]`` = the first ``v`` whose output is
    ``>= levels[j]`` (``high + 1`` if none), so ``out = #{j : v >= T[c, s, j]}`` counts the
    levels reached. The values are evaluated ``chunk`` at a time, so memory does not grow with
    the range."""
    if high < low:
        raise ValueError(f"{layer}: empty value range [{low}, {high}]")
    levels = np.asarray(levels, dtype=np.int64)
    previous = np.zeros(0, dtype=np.int64)  # the last output of the chunk before
    for i, start in enumerate(range(low, high + 1, chunk)):
        values = np.arange(start, min(start + chunk, high + 1), dtype=np.int64)
        out = np.asarray(evaluate(values), dtype=np.int64)  # (m, C, S)
        if i == 0:
            increasing = np.ones(out.shape[1], dtype=bool)
            decreasing = np.ones(out.shape[1], dtype=bool)
            first = np.full((*out.shape[1:], len(levels)), high + 1, dtype=np.int64)
            last = np.full_like(first, low - 1)
            seq = out
        else:
            seq = np.concatenate([previous[None], out])
        step = np.diff(seq, axis=0)
        increasing &= np.all(step >= 0, axis=(0, 2))
        decreasing &= np.all(step <= 0, axis=(0, 2))
        reached = out[..., None] >= levels  # (m, C, S, L)
        any_reached = reached.any(axis=0)
        fresh = any_reached & (first > high)
        first = np.where(fresh, np.take(values, np.argmax(reached, axis=0)), first)
        last_rows = len(values) - 1 - np.argmax(reached[::-1], axis=0)
        last = np.where(any_reached, np.take(values, last_rows), last)
        previous = out[-1]
    bad = ~(increasing | decreasing)
    if bad.any():
        c = int(np.flatnonzero(bad)[0])
        raise ModelError(
            f"{layer}: channel {c} is not a monotone function of its accumulator (in one "
            f"direction for every side input), so it cannot become a threshold"
        )
    negate = ~increasing
    # reversed, the first v' = low + high - v reaching a level is the last v reaching it
    thresholds = np.where(negate[:, None, None], low + high - last, first)
    return thresholds.astype(np.int64), negate
