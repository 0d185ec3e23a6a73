"""Orthogonal variable spreading factor (OVSF) codes: the binary bases of Deterministic Binary
Filters (:mod:`hwbnn.nn.dbf`).

The OVSF code tree (Adachi, Sawahashi and Okawa, "Tree-structured generation of orthogonal
spreading codes with different lengths for forward link of DS-CDMA mobile radio", Electronics
Letters 1997) starts from ``C_1 = [+1]`` and gives every code ``c`` of length ``L`` two children
of length ``2L``::

    (c, c)   and   (c, -c)

The ``L = 2^p`` codes of level ``p``, read left to right, are the rows of a Walsh-Hadamard
matrix: every entry is +-1 and ``C C^T = L I`` (pairwise orthogonal). Row ``2k`` is
``(c_k, c_k)`` and row ``2k + 1`` is ``(c_k, -c_k)`` for the row ``c_k`` of the level above, e.g.
for L = 4::

    [+1 +1 +1 +1]
    [+1 +1 -1 -1]
    [+1 -1 +1 -1]
    [+1 -1 -1 +1]

This tree order is Paley order (Sylvester's Hadamard matrix with bit-reversed row indices), not
sequency order: the numbers of sign changes of the rows above are 0, 1, 3, 2.

A filter of ``n`` elements uses codes of length ``P = 2^ceil(log2 n)`` truncated to their first
``n`` entries (:func:`filter_codes`). That is the same as padding the flattened filter with
``P - n`` zeros: the padded entries multiply zeros and drop out. The codes are orthogonal at
length ``P``; the truncated rows are in general not (at n = 3 the first two rows are
``[+1 +1 +1]`` and ``[+1 +1 -1]``, whose dot product is 1).

Which ``M`` of the ``P`` codes: the first ``M`` in tree order vary only in the tree's top
``log2 M`` levels, so they are constant on blocks of ``P / M`` consecutive entries and, truncated,
span only ``ceil(n M / P)`` dimensions (3 of 4 at n = 9, P = 16). :func:`filter_codes` takes
every ``(P / M)``-th code instead: the ``M`` codes of length ``M`` (tree level ``log2 M``), each
continued by its ``(c, c)`` descendants, i.e. repeated ``P / M`` times. They are OVSF codes of
length ``P`` as well, orthogonal at length ``P``, and for ``n >= M`` their truncations are
linearly independent (each contains one whole period, a Walsh-Hadamard row of length ``M``).
"""

from __future__ import annotations

import numpy as np


def code_length(n: int) -> int:
    """The OVSF code length for a filter of ``n`` elements: the least power of two >= n."""
    if n < 1:
        raise ValueError(f"a filter needs at least one element, got {n}")
    return 1 << (n - 1).bit_length()


def ovsf_codes(length: int) -> np.ndarray:
    """All ``length`` OVSF codes of a power-of-two ``length``, in tree order, as an int8 matrix
    of shape (length, length) with entries +-1 (see the module docstring)."""
    if length < 1 or length & (length - 1):
        raise ValueError(f"OVSF codes have power-of-two lengths, got {length}")
    codes = np.ones((1, 1), dtype=np.int8)
    while codes.shape[1] < length:
        children = np.stack(
            [np.concatenate([codes, codes], axis=1), np.concatenate([codes, -codes], axis=1)],
            axis=1,
        )  # (rows, 2, 2 * cols): the two children of each code, next to each other
        codes = children.reshape(2 * len(codes), -1)
    return codes


def filter_codes(n: int, count: int) -> np.ndarray:
    """``count`` (a power of two, at most ``code_length(n)``) OVSF codes for a filter of ``n``
    elements: every ``(P / count)``-th code of length ``P = code_length(n)`` in tree order (the
    codes of length ``count`` repeated ``P / count`` times), truncated to their first ``n``
    entries; an int8 matrix of shape (count, n) with entries +-1."""
    length = code_length(n)
    if count < 1 or count & (count - 1) or count > length:
        raise ValueError(
            f"a filter of {n} elements takes a power of two up to {length} OVSF codes, "
            f"asked for {count}"
        )
    repeats = -(-n // count)  # (count, n) memory, never the (P, P) matrix
    return np.tile(ovsf_codes(count), (1, repeats))[:, :n]
