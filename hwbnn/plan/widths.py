"""The integer arithmetic every backend shares: ``clog2``, the widths of a matrix-vector unit,
and the one identifier sanitiser for Verilog and C++.

These are the widths of rtl/hwbnn_mvau.v (its localparams ACC_WIDTH, THRESH_WIDTH) and of the
HLS library (hls/hwbnn/products.hpp ``Product::Sum<MW>::DOT_BITS``, ``MvauTypes::threshold_t``);
hwbnn.plan computes them once and every generator renders them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


def clog2(n: int) -> int:
    """``ceil(log2(n))`` for n >= 1 and 0 for n <= 1, as Verilog's ``$clog2`` and the HLS
    library's ``hwbnn::clog2``."""
    return 0 if n <= 1 else (n - 1).bit_length()


@dataclass(frozen=True)
class MvauWidths:
    """Widths of a matrix-vector unit of fan-in MW with B-bit inputs.

    - ``acc_width``: the signed accumulator, ``clog2(M + 1) + 1`` with ``M = MW * (2^B - 1)``
      the largest magnitude of a sum (``2*popcount - MW`` for B = 1);
    - ``popcount_width``: ``clog2(MW + 1)`` bits of a popcount (B = 1 only; 0 otherwise);
    - ``thresh_width``: one threshold, unsigned ``clog2(MW + 2)`` for B = 1 (thresholds in
      ``[0, MW + 1]``), signed ``clog2(M + 2) + 1`` otherwise (``[-M, M + 1]``).
    """

    acc_width: int
    popcount_width: int
    thresh_width: int
    thresh_low: int
    thresh_high: int

    @property
    def thresh_signed(self) -> bool:
        return self.thresh_low < 0


def mvau_widths(mw: int, input_bits: int) -> MvauWidths:
    """The widths of a matrix-vector unit (see :class:`MvauWidths`); ValueError unless MW and
    INPUT_BITS are at least 1."""
    if mw < 1 or input_bits < 1:
        raise ValueError(f"MW={mw} and INPUT_BITS={input_bits} must be at least 1")
    max_abs = mw * ((1 << input_bits) - 1)
    acc_width = clog2(max_abs + 1) + 1
    if input_bits == 1:
        return MvauWidths(acc_width, clog2(mw + 1), clog2(mw + 2), 0, mw + 1)
    return MvauWidths(acc_width, 0, clog2(max_abs + 2) + 1, -max_abs, max_abs + 1)


def mvau_threshold_range(mw: int, input_bits: int) -> tuple[int, int]:
    """Smallest and largest threshold a matrix-vector unit accepts (both inclusive)."""
    widths = mvau_widths(mw, input_bits)
    return widths.thresh_low, widths.thresh_high


def identifier(index: int, name: str) -> str:
    """``l<index>_<name>``, every character of ``name`` outside [A-Za-z0-9_] replaced by '_'
    and leading/trailing '_' dropped: a Verilog and a C++ identifier (also a file-name prefix)."""
    return f"l{index}_" + re.sub(r"[^A-Za-z0-9_]", "_", name).strip("_")
