"""The XNOR-popcount kernel of the reference: bits packed into 64-bit words, and the number of
mismatching bits between every input row and every weight row.

Packing: element i of a row sits at bit i % 64 of word i // 64 (LSB first, little-endian
words), padding bits 0.

Definition (what every kernel computes, exactly), for input rows ``x_words`` (R, W) and weight
rows ``w_words`` (MH, W)::

    mismatches[r, o] = sum_k popcount(x_words[r, k] XOR w_words[o, k])

Padding bits are 0 on both sides and never count, so for an XNOR layer of MW inputs
``popcount_xnor = MW - mismatches`` and ``accumulator = MW - 2 * mismatches``.

Two implementations of that sum:

- ``"numpy"``: word-major (each NumPy call runs over all rows): per word one XOR, one
  ``np.bitwise_count`` of its bytes written back in place, and one add; the eight byte counts
  of a word stay in its byte lanes (at most 31 words per pass, so a lane stays below 256) and
  are folded into one count per word at the end.
- ``"numba"``: the same sum as a compiled loop over rows, words and outputs (LLVM ``ctpop``,
  the output loop vectorised to AVX-512 ``VPOPCNTQ`` where the CPU has it), several times
  faster. Used when numba imports; tests hold it equal to the NumPy kernel.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import numpy as np

# the compiled kernel accelerates the NumPy definition; numba is imported on first use only
HAVE_NUMBA = importlib.util.find_spec("numba") is not None

KERNELS = ("numpy", "numba")
#: Work (word operations, or values read) from which a compiled kernel runs its rows on every
#: core; below it, on one (hwbnn.reference._compiled: waking a core costs more than it saves).
PARALLEL_WORK = 1 << 20
_LANE_WORDS = 31  # 31 words * 8 bits per byte lane = 248 < 256: byte lanes never carry
_TEMP_ELEMENTS = 1 << 15  # (MH, rows) uint64 temporaries of the NumPy kernel: 256 KiB each
_M8 = np.uint64(0x00FF00FF00FF00FF)
_H16 = np.uint64(0x0001000100010001)


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """(B, n) bool -> (B, ceil(n/64)) uint64, element i at bit i (LSB first).

    Rows are padded with zero bits first so one flat ``np.packbits`` packs every row at once:
    a row below 64 bits to 8, 16, 32 or 64 bits (then widened to one word), a longer one to
    whole bytes (then to whole words).
    """
    b, n = bits.shape
    words = (n + 63) // 64
    width = next(w for w in (8, 16, 32, 64) if w >= n) if n < 64 else (n + 7) // 8 * 8
    if width != n:
        padded = np.zeros((b, width), dtype=bool)
        padded[:, :n] = bits
        bits = padded
    flat = np.ascontiguousarray(bits, dtype=bool).reshape(-1)
    packed = np.packbits(flat, bitorder="little").reshape(b, width // 8)
    if n < 64:  # one little-endian integer of `width` bits per row, widened to a word
        return packed.view(f"<u{width // 8}").astype("<u8")
    if width // 8 != words * 8:
        whole = np.zeros((b, words * 8), dtype=np.uint8)
        whole[:, : width // 8] = packed
        packed = whole
    return packed.view("<u8")


def mismatches(x_words: np.ndarray, w_words: np.ndarray, kernel: str = "numpy") -> np.ndarray:
    """(R, W) and (MH, W) uint64 words -> (R, MH) int64 mismatch counts (module docstring)."""
    if x_words.shape[1] != w_words.shape[1]:
        raise ValueError(f"{x_words.shape[1]} input words against {w_words.shape[1]} weight words")
    if kernel == "numba":
        rows, words = x_words.shape
        return compiled_kernel("mismatches", rows * words * w_words.shape[0])(
            np.ascontiguousarray(x_words, dtype=np.uint64),
            np.ascontiguousarray(w_words.T, dtype=np.uint64),
        )
    if kernel != "numpy":
        raise ValueError(f"unknown kernel '{kernel}'; choose one of {KERNELS}")
    # word-major inputs: the inner loops run over rows; the result is the transposed view
    return _mismatches_numpy(np.ascontiguousarray(x_words.T), w_words).T


def mismatches_within(
    x_words: np.ndarray, w_words: np.ndarray, limit: np.ndarray, kernel: str = "numpy"
) -> np.ndarray:
    """``mismatches(x_words, w_words) <= limit`` (limit per output row), (R, MH) bool: a
    thresholded layer's output bits. The compiled kernel compares each row's counts while they
    are in registers, without writing them out."""
    if kernel != "numba":
        return mismatches(x_words, w_words, kernel) <= limit[None, :]
    if x_words.shape[1] != w_words.shape[1]:
        raise ValueError(f"{x_words.shape[1]} input words against {w_words.shape[1]} weight words")
    rows, words = x_words.shape
    return compiled_kernel("mismatches_within", rows * words * w_words.shape[0])(
        np.ascontiguousarray(x_words, dtype=np.uint64),
        np.ascontiguousarray(w_words.T, dtype=np.uint64),
        np.ascontiguousarray(limit, dtype=np.int64),
    )


def compiled_kernel(name: str, work: int) -> Any:
    """The compiled kernel ``name`` of hwbnn.reference._compiled for ``work`` word operations
    (or values): its rows on every core from PARALLEL_WORK up, else its ``_serial`` form."""
    if not HAVE_NUMBA:
        raise ValueError("the numba kernel needs numba (pip install numba)")
    from hwbnn.reference import _compiled

    return getattr(_compiled, name if work >= PARALLEL_WORK else f"{name}_serial")


def default_kernel() -> str:
    """The fastest kernel available here: numba when it imports, else NumPy."""
    return "numba" if HAVE_NUMBA else "numpy"


def _mismatches_numpy(x_words: np.ndarray, w_words: np.ndarray) -> np.ndarray:
    words, rows = x_words.shape
    mh = w_words.shape[0]
    out = np.zeros((mh, rows), dtype=np.int64)
    step = max(1, _TEMP_ELEMENTS // max(mh, 1))
    for start in range(0, rows, step):  # row chunks keep the temporaries in cache
        x = x_words[:, start : start + step]
        temp = np.empty((mh, x.shape[1]), dtype=np.uint64)
        temp_bytes = temp.view(np.uint8)
        for first in range(0, words, _LANE_WORDS):
            lanes = np.zeros_like(temp)  # eight byte-lane counters per (o, r)
            for k in range(first, min(words, first + _LANE_WORDS)):
                np.bitwise_xor(w_words[:, k, None], x[k][None, :], out=temp)
                np.bitwise_count(temp_bytes, out=temp_bytes)
                lanes += temp
            out[:, start : start + step] += _fold_lanes(lanes)
    return out


def _fold_lanes(lanes: np.ndarray) -> np.ndarray:
    """Sum of the eight byte lanes of each uint64 (each lane < 256), in place."""
    low = lanes & _M8
    lanes >>= np.uint64(8)
    lanes &= _M8
    lanes += low  # four 16-bit lanes, each < 512
    lanes *= _H16  # their sum lands in the top 16 bits
    lanes >>= np.uint64(48)
    return lanes.view(np.int64)
