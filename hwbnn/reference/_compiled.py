"""The compiled kernels (numba), imported by :mod:`hwbnn.reference.kernels` on first use. They
compute exactly what the NumPy code defines; tests hold them equal. Compiled on first call and
cached on disk by numba.

Each row-wise kernel loops over a range of rows on one core (``_rows``); its public form runs
``CHUNKS`` ranges on every core (``prange``), its ``_serial`` form all rows on one. Waking the
other core costs tens of microseconds here, and on this shared machine it is sometimes slow
for seconds at a time, so small blocks of work run serially
(:data:`hwbnn.reference.kernels.PARALLEL_WORK` chooses).
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


#: Row ranges of a parallel kernel (a few per core, so an unevenly fast core evens out).
CHUNKS = 16


@njit(cache=True, nogil=True)
def _mismatch_rows(x_words, w_columns, out, start, stop):
    """out[r, o] = sum_k popcount(x_words[r, k] ^ w_columns[k, o]) for rows start..stop-1."""
    for r in range(start, stop):
        row = out[r]
        for k in range(x_words.shape[1]):
            x = x_words[r, k]
            w = w_columns[k]
            for o in range(row.shape[0]):  # the vectorised loop: MH outputs at once
                row[o] += _popcount(x ^ w[o])  # type: ignore[call-arg]  # numba typing


@njit(cache=True, nogil=True, parallel=True)
def mismatches(x_words, w_columns):
    """The definition as loops over (R, W) words and (W, MH) weight columns, rows on every
    core."""
    rows = x_words.shape[0]
    out = np.zeros((rows, w_columns.shape[1]), dtype=np.int64)
    step = (rows + CHUNKS - 1) // CHUNKS
    for c in prange(CHUNKS):
        _mismatch_rows(x_words, w_columns, out, c * step, min(rows, (c + 1) * step))
    return out


@njit(cache=True, nogil=True)
def mismatches_serial(x_words, w_columns):
    """``mismatches`` on one core."""
    out = np.zeros((x_words.shape[0], w_columns.shape[1]), dtype=np.int64)
    _mismatch_rows(x_words, w_columns, out, 0, x_words.shape[0])
    return out


@njit(cache=True, nogil=True)
def _within_rows(x_words, w_columns, limit, out, start, stop):
    """Rows start..stop-1 of ``mismatches`` compared with ``limit`` while in registers."""
    counts = np.empty(w_columns.shape[1], dtype=np.int64)
    for r in range(start, stop):
        counts[:] = 0
        for k in range(x_words.shape[1]):
            x = x_words[r, k]
            w = w_columns[k]
            for o in range(counts.shape[0]):
                counts[o] += _popcount(x ^ w[o])  # type: ignore[call-arg]  # numba typing
        for o in range(counts.shape[0]):
            out[r, o] = counts[o] <= limit[o]


@njit(cache=True, nogil=True, parallel=True)
def mismatches_within(x_words, w_columns, limit):
    """Each row's counts as in ``mismatches``, compared with ``limit``; rows on every core."""
    rows = x_words.shape[0]
    out = np.empty((rows, w_columns.shape[1]), dtype=np.bool_)
    step = (rows + CHUNKS - 1) // CHUNKS
    for c in prange(CHUNKS):
        _within_rows(x_words, w_columns, limit, out, c * step, min(rows, (c + 1) * step))
    return out


@njit(cache=True, nogil=True)
def mismatches_within_serial(x_words, w_columns, limit):
    """``mismatches_within`` on one core."""
    out = np.empty((x_words.shape[0], w_columns.shape[1]), dtype=np.bool_)
    _within_rows(x_words, w_columns, limit, out, 0, x_words.shape[0])
    return out


@njit(cache=True, nogil=True)
def _code_rows(flat, low, high, scale, back_scale, divide, out, start, stop):
    """Rows start..stop-1 of ``proven_codes``; True when every value is proven."""
    ok = True
    for r in range(start, stop):
        for i in range(flat.shape[1]):  # branch-free, so the loop vectorises
            v = flat[r, i]
            guess = np.float32(np.rint((v - low) * scale))
            back = guess / back_scale if divide else guess * back_scale + low
            inside = (v >= low) & (v <= high)  # also rejects NaN
            ok &= inside & (back == v)
            out[r, i] = guess if inside else np.float32(0)
    return ok


@njit(cache=True, nogil=True, parallel=True)
def proven_codes(flat, low, high, scale, back_scale, divide, out):
    """hwbnn.reference.codes.CodeReader's proven path in its float32 operations, one pass:
    ``out`` gets each value's guess ``rint((v - low) * scale)``; the result says whether every
    value lay in [low, high] and its guess recomputed it exactly (``guess / back_scale`` when
    ``divide``, else ``guess * back_scale + low``). Rows on every core."""
    rows = flat.shape[0]
    good = np.empty(CHUNKS, dtype=np.bool_)
    step = (rows + CHUNKS - 1) // CHUNKS
    for c in prange(CHUNKS):
        stop = min(rows, (c + 1) * step)
        good[c] = _code_rows(flat, low, high, scale, back_scale, divide, out, c * step, stop)
    return good.all()


@njit(cache=True, nogil=True)
def proven_codes_serial(flat, low, high, scale, back_scale, divide, out):
    """``proven_codes`` on one core."""
    return _code_rows(flat, low, high, scale, back_scale, divide, out, 0, flat.shape[0])


@njit(cache=True, nogil=True)
def or_pool(image, kernel, stride, oh, ow):
    """hwbnn.reference.images.or_pool on bytes: (B, H, W, n) uint8 -> (B, OH, OW, n), the OR
    of each output pixel's K x K window (no padding). One core: a pool is little work."""
    frames, _, _, n = image.shape
    out = np.zeros((frames, oh, ow, n), dtype=np.uint8)
    for f in range(frames):
        for y in range(oh):
            for x in range(ow):
                for dy in range(kernel):
                    for dx in range(kernel):
                        for j in range(n):
                            out[f, y, x, j] |= image[f, y * stride + dy, x * stride + dx, j]
    return out


@njit(cache=True, nogil=True)
def pack_bool_rows(bits, words):
    """hwbnn.reference.kernels.pack_bits of (R, n) bool into (R, words) uint64: element i at
    bit i % 64 of word i // 64."""
    rows, n = bits.shape
    out = np.zeros((rows, words), dtype=np.uint64)
    for r in range(rows):
        for i in range(n):
            out[r, i >> 6] |= np.uint64(bits[r, i]) << np.uint64(i & 63)
    return out


@njit(cache=True, nogil=True)
def pad_byte_rows(row_bytes, words):
    """(R, nb) bytes into (R, 8 * words) bytes, zero after byte nb (rows of whole words)."""
    rows, nb = row_bytes.shape
    out = np.zeros((rows, 8 * words), dtype=np.uint8)
    for r in range(rows):
        for j in range(nb):
            out[r, j] = row_bytes[r, j]
    return out
