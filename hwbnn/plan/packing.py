"""The one packing of numbers into words: stream beats, weight and threshold memories.

A word of ``per_word`` fields of ``bits`` bits each carries field ``s`` at bits
``[s*bits, (s+1)*bits)`` (LSB first), in two's complement when a value is negative; element
``i`` of a vector is field ``i % per_word`` of word ``i // per_word`` (the numeric contract of
DESIGN.md). Words are Python ints, so any width works.

Memories of a folded unit (:class:`hwbnn.plan.Memory`) are ``lanes`` memories side by side:

- weights of a matrix-vector unit (MH, MW) at PE x SIMD: lane ``p`` word ``nf*SF + sf`` holds
  row ``nf*PE + p``, columns ``sf*SIMD ..`` with column ``sf*SIMD + s`` at bit ``s`` (1 = +1);
- thresholds of a matrix-vector unit: lane ``p`` word ``nf`` holds channel ``nf*PE + p``;
- input thresholds at SIMD: lane ``s`` word ``f`` holds element ``f*SIMD + s``.

:func:`lane_words` gives ``[lane][word]``, the layout of the HLS arrays; :func:`memory_words`
joins the lanes of each word into one word of ``lanes * lane_bits`` bits (lane ``l`` at bits
``[l*lane_bits, (l+1)*lane_bits)``), the layout of the RTL $readmemh files.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def pack_fields(values: np.ndarray, bits: int) -> list[int]:
    """Words of the rows of ``values`` (..., per_word): field ``s`` of a word is
    ``values[..., s]`` at bits ``[s*bits, (s+1)*bits)``, negative values in two's complement.
    Leading axes are flattened in order."""
    array = np.asarray(values)
    rows = array.reshape(-1, array.shape[-1]) if array.ndim else array.reshape(1, 1)
    if bits == 1 and rows.size and rows.min() >= 0 and rows.max() <= 1:
        packed = np.packbits(rows.astype(bool), axis=1, bitorder="little")
        return [int.from_bytes(row.tobytes(), "little") for row in packed]
    mask = (1 << bits) - 1
    words = []
    for row in rows.tolist():
        word = 0
        for s, value in enumerate(row):
            word |= (int(value) & mask) << (s * bits)
        words.append(word)
    return words


def pack_beats(elements: np.ndarray, bits: int, per_beat: int) -> list[int]:
    """Pack unsigned element codes into stream beats.

    Args:
        elements: integer array whose last axis is the vector (its length a multiple of
            ``per_beat``); every value in ``[0, 2**bits)``. Leading axes are flattened in
            order (frame after frame).
        bits: bits per element.
        per_beat: elements per beat.

    Returns:
        ``elements.size // per_beat`` beats.
    """
    values = np.asarray(elements)
    if values.ndim == 0 or values.shape[-1] % per_beat != 0:
        raise ValueError(f"vector length {values.shape[-1:]} is not a multiple of {per_beat}")
    if values.size and (values.min() < 0 or values.max() >= (1 << bits)):
        raise ValueError(f"element codes must lie in [0, {1 << bits})")
    return pack_fields(values.reshape(-1, per_beat), bits)


def unpack_beats(
    beats: Sequence[int], bits: int, per_beat: int, signed: bool = False
) -> np.ndarray:
    """Split beats into elements; returns an int64 array of shape (len(beats), per_beat).

    With ``signed`` each field is read as two's complement.
    """
    if bits > 63:
        raise ValueError("fields wider than 63 bits do not fit in int64")
    out = np.zeros((len(beats), per_beat), dtype=np.int64)
    mask = (1 << bits) - 1
    for i, word in enumerate(beats):
        for s in range(per_beat):
            field = (int(word) >> (s * bits)) & mask
            if signed and field >> (bits - 1):
                field -= 1 << bits
            out[i, s] = field
    return out


def weight_lanes(weights: np.ndarray, pe: int, simd: int) -> np.ndarray:
    """Bool weights (MH, MW) as ``[p][nf*SF + sf][s]`` (see the module docstring)."""
    mh, mw = weights.shape
    nf, sf = mh // pe, mw // simd
    # (NF, PE, SF, SIMD) -> (PE, NF, SF, SIMD): word [p][nf*SF + sf] is row nf*PE+p
    return weights.reshape(nf, pe, sf, simd).transpose(1, 0, 2, 3).reshape(pe, nf * sf, simd)


def weight_memory_words(weights: np.ndarray, pe: int, simd: int) -> list[int]:
    """Bool weights (MH, MW) as the words of one memory of PE*SIMD-bit words (the lanes of
    :func:`weight_lanes` side by side: bit ``p*SIMD + s`` of word ``k`` is lane ``p``'s bit
    ``s`` of word ``k``)."""
    lanes = weight_lanes(weights, pe, simd)
    return pack_fields(lanes.transpose(1, 0, 2).reshape(lanes.shape[1], pe * simd), 1)


def weight_constant(weights: np.ndarray, pe: int, simd: int) -> int:
    """Bool weights (MH, MW) as one integer: the words of :func:`weight_memory_words` side by
    side, word ``k`` at bits ``[k*PE*SIMD, (k+1)*PE*SIMD)`` (rtl/hwbnn_mvau's ``WEIGHTS``)."""
    width = pe * simd
    return sum(word << (k * width) for k, word in enumerate(weight_memory_words(weights, pe, simd)))


def value_lanes(values: np.ndarray, lanes: int) -> np.ndarray:
    """Per-channel values (n,) as ``[lane][fold]``: element ``f*lanes + l`` at ``[l][f]``."""
    return np.asarray(values, dtype=np.int64).reshape(-1, lanes).T


def lane_words(table: np.ndarray, bits: int = 1) -> list[list[int]]:
    """A ``[lane][word]`` table of values (``[lane][word][s]`` of ``bits``-bit fields for
    weights) as ints: ``[lane][word]``."""
    array = np.asarray(table)
    if array.ndim == 2:
        return [[int(v) for v in lane] for lane in array.tolist()]
    return [pack_fields(lane, bits) for lane in array]


def memory_words(lanes: list[list[int]], lane_bits: int) -> list[int]:
    """Join ``[lane][word]`` into the words of one wide memory: word ``k`` holds lane ``l``'s
    word ``k`` at bits ``[l*lane_bits, (l+1)*lane_bits)`` (negative values in two's
    complement)."""
    mask = (1 << lane_bits) - 1
    depth = len(lanes[0]) if lanes else 0
    return [
        sum((int(lane[k]) & mask) << (i * lane_bits) for i, lane in enumerate(lanes))
        for k in range(depth)
    ]


def dbf_constants(
    codes: np.ndarray,
    alpha: np.ndarray,
    thresholds: np.ndarray | None,
    alpha_bits: int,
    acc_bits: int,
) -> tuple[int, int, int]:
    """The parameters CODES, ALPHA and THRESHOLDS of rtl/hwbnn_dbf.v (and the HLS unit's
    arrays, field by field): code ``m`` element ``i`` at bit ``m*MW + i`` (1 = +1); alpha
    of channel ``c``, basis ``m`` as field ``c*M + m`` of ``alpha_bits`` bits; threshold
    ``c`` as field ``c`` of ``acc_bits + 1`` bits (0 without thresholds)."""
    code_word = pack_fields(np.asarray(codes, dtype=np.int64).reshape(1, -1), 1)[0]
    alpha_word = pack_fields(np.asarray(alpha, dtype=np.int64).reshape(1, -1), alpha_bits)[0]
    if thresholds is None:
        return code_word, alpha_word, 0
    t = np.asarray(thresholds, dtype=np.int64).reshape(1, -1)
    return code_word, alpha_word, pack_fields(t, acc_bits + 1)[0]
