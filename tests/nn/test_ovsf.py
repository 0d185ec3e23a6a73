"""OVSF codes (hwbnn.nn.ovsf) against hand-written matrices: +-1 entries, orthogonality at
power-of-two lengths, the tree order, and what truncation to a filter length does."""

from __future__ import annotations

import numpy as np
import pytest

from hwbnn.nn.ovsf import code_length, filter_codes, ovsf_codes

CODES_4 = [
    [1, 1, 1, 1],
    [1, 1, -1, -1],
    [1, -1, 1, -1],
    [1, -1, -1, 1],
]

CODES_8 = [  # children (c, c) and (c, -c) of each row of CODES_4, in order
    [1, 1, 1, 1, 1, 1, 1, 1],
    [1, 1, 1, 1, -1, -1, -1, -1],
    [1, 1, -1, -1, 1, 1, -1, -1],
    [1, 1, -1, -1, -1, -1, 1, 1],
    [1, -1, 1, -1, 1, -1, 1, -1],
    [1, -1, 1, -1, -1, 1, -1, 1],
    [1, -1, -1, 1, 1, -1, -1, 1],
    [1, -1, -1, 1, -1, 1, 1, -1],
]


def test_codes_of_length_4_and_8_by_hand() -> None:
    assert ovsf_codes(1).tolist() == [[1]]
    assert ovsf_codes(2).tolist() == [[1, 1], [1, -1]]
    assert ovsf_codes(4).tolist() == CODES_4
    assert ovsf_codes(8).tolist() == CODES_8


@pytest.mark.parametrize("length", [1, 2, 4, 8, 16, 64, 256])
def test_rows_are_bipolar_and_pairwise_orthogonal(length: int) -> None:
    codes = ovsf_codes(length).astype(np.int64)
    assert codes.shape == (length, length)
    assert set(np.unique(codes)) <= {-1, 1}
    assert np.array_equal(codes @ codes.T, length * np.eye(length, dtype=np.int64))


@pytest.mark.parametrize("length", [2, 4, 8, 32])
def test_tree_order(length: int) -> None:
    parent = ovsf_codes(length // 2)
    codes = ovsf_codes(length)
    for k, c in enumerate(parent):
        assert np.array_equal(codes[2 * k], np.concatenate([c, c]))
        assert np.array_equal(codes[2 * k + 1], np.concatenate([c, -c]))


def test_tree_order_is_paley_not_sequency() -> None:
    sign_changes = [int(np.sum(row[1:] != row[:-1])) for row in ovsf_codes(4)]
    assert sign_changes == [0, 1, 3, 2]


def test_code_length_is_the_next_power_of_two() -> None:
    assert [code_length(n) for n in (1, 2, 3, 4, 5, 9, 64, 144)] == [1, 2, 4, 4, 8, 16, 64, 256]
    with pytest.raises(ValueError, match="at least one element"):
        code_length(0)
    with pytest.raises(ValueError, match="power-of-two lengths"):
        ovsf_codes(6)


def test_filter_codes_take_every_p_over_m_th_code_truncated() -> None:
    # n = 3: P = 4, M = 2 -> rows 0 and 2 of CODES_4, first 3 entries
    codes = filter_codes(3, 2)
    assert codes.tolist() == [[1, 1, 1], [1, -1, 1]]
    assert int(codes[0].astype(int) @ codes[1]) == 1  # truncated codes are not orthogonal
    # n = 9: P = 16, M = 4 -> the 4 codes of length 4 repeated 4 times, first 9 entries
    codes = filter_codes(9, 4)
    assert codes.tolist() == [(row * 3)[:9] for row in CODES_4]
    assert np.linalg.matrix_rank(codes.astype(float)) == 4
    # the first 4 codes of length 16, truncated to 9, would span 3 dimensions only
    assert np.linalg.matrix_rank(ovsf_codes(16)[:4, :9].astype(float)) == 3
    # every (P/M)-th row of the length-P codes
    assert np.array_equal(filter_codes(100, 16), ovsf_codes(128)[::8, :100])
    # a power-of-two filter with all its codes: the full orthogonal matrix
    assert np.array_equal(filter_codes(8, 8), ovsf_codes(8))


@pytest.mark.parametrize("n", [5, 9, 27, 64, 100, 144])
def test_filter_codes_are_independent_after_truncation(n: int) -> None:
    length = code_length(n)
    for m in (1, 2, 4, 8, 16, 32):
        if m <= length:
            codes = filter_codes(n, m).astype(float)
            assert codes.shape == (m, n)
            assert np.linalg.matrix_rank(codes) == min(m, n)


def test_filter_codes_reject_bad_counts() -> None:
    with pytest.raises(ValueError, match="power of two up to 16"):
        filter_codes(9, 3)
    with pytest.raises(ValueError, match="power of two up to 16"):
        filter_codes(9, 32)
