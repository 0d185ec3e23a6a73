"""Pack vectors into AXI4-Stream beats and back, as the numeric contract lays them out.

A beat of ``per_beat`` elements of ``bits`` bits each carries element ``s`` at bits
``[s*bits, (s+1)*bits)`` (LSB first); element ``i`` of a vector is element ``i % per_beat``
of beat ``i // per_beat``. Beats are Python ints, so any width works.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def pack_beats(elements: np.ndarray, bits: int, per_beat: int) -> list[int]:
    """Pack unsigned element codes into beats.

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
    rows = values.reshape(-1, per_beat)
    beats = []
    for row in rows:
        word = 0
        for s, value in enumerate(row.tolist()):
            word |= int(value) << (s * bits)
        beats.append(word)
    return beats


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
