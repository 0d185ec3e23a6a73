"""The compiled XNOR-popcount kernels (numba), imported by :mod:`hwbnn.reference.kernels` on
first use. They compute exactly the sums defined there; tests hold them equal to the NumPy
kernel. Compiled on first call and cached on disk by numba.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from numba.core import types
from numba.extending import intrinsic


@intrinsic
def _popcount(typingctx, word):
    """popcount of a uint64 (LLVM ctpop)."""

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return types.uint64(types.uint64), codegen


@njit(cache=True, nogil=True, parallel=True)
def mismatches(x_words, w_columns):
    """The definition as loops over (R, W) words and (W, MH) weight columns, compiled on
    first use (and cached on disk by numba)."""
    rows, words = x_words.shape
    out = np.zeros((rows, w_columns.shape[1]), dtype=np.int64)
    for r in prange(rows):  # rows on every core
        row = out[r]
        for k in range(words):
            x = x_words[r, k]
            w = w_columns[k]
            for o in range(row.shape[0]):  # the vectorised loop: MH outputs at once
                row[o] += _popcount(x ^ w[o])  # type: ignore[call-arg]  # numba typing
    return out


@njit(cache=True, nogil=True, parallel=True)
def mismatches_within(x_words, w_columns, limit):
    """Each row's counts as in ``mismatches``, compared with ``limit``."""
    rows, words = x_words.shape
    out = np.empty((rows, w_columns.shape[1]), dtype=np.bool_)
    for r in prange(rows):  # rows on every core
        counts = np.zeros(w_columns.shape[1], dtype=np.int64)
        for k in range(words):
            x = x_words[r, k]
            w = w_columns[k]
            for o in range(counts.shape[0]):
                counts[o] += _popcount(x ^ w[o])  # type: ignore[call-arg]  # numba typing
        for o in range(counts.shape[0]):
            out[r, o] = counts[o] <= limit[o]
    return out


@njit(cache=True, nogil=True, parallel=True)
def proven_codes(flat, low, high, scale, back_scale, divide, out):
    """hwbnn.reference.codes.CodeReader's proven path in its float32 operations, one pass:
    ``out`` gets each value's guess ``rint((v - low) * scale)``; the result says whether every
    value lay in [low, high] and its guess recomputed it exactly (``guess / back_scale`` when
    ``divide``, else ``guess * back_scale + low``)."""
    rows, n = flat.shape
    good = np.empty(rows, dtype=np.bool_)
    for r in prange(rows):  # rows on every core
        ok = True
        for i in range(n):  # branch-free, so the loop vectorises
            v = flat[r, i]
            guess = np.float32(np.rint((v - low) * scale))
            back = guess / back_scale if divide else guess * back_scale + low
            inside = (v >= low) & (v <= high)  # also rejects NaN
            ok &= inside & (back == v)
            out[r, i] = guess if inside else np.float32(0)
        good[r] = ok
    return good.all()


@njit(cache=True, nogil=True, parallel=True)
def or_pool(image, kernel, stride, oh, ow):
    """hwbnn.reference.images.or_pool on bytes: (B, H, W, n) uint8 -> (B, OH, OW, n), the OR
    of each output pixel's K x K window (no padding)."""
    frames, _, _, n = image.shape
    out = np.zeros((frames, oh, ow, n), dtype=np.uint8)
    for f in prange(frames):  # frames on every core
        for y in range(oh):
            for x in range(ow):
                for dy in range(kernel):
                    for dx in range(kernel):
                        for j in range(n):
                            out[f, y, x, j] |= image[f, y * stride + dy, x * stride + dx, j]
    return out
