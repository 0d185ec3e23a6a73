"""NegateDecreasingChannels: a channel whose activation *decreases* with its accumulator
becomes an increasing one by negating its binary weights.

Contract: negating weight row ``c`` of an XNOR product maps its popcount ``v`` to
``MW - v`` (its accumulator ``acc`` to ``-acc``), so a non-increasing threshold function of
``v`` is a non-decreasing one of the new variable; the threshold search
(:mod:`hwbnn.frontend.thresholds`) reports which rows (``negate``) and gives thresholds on
the new variable. An input binarization that decreases with the input code is handled one
layer later: the dense layer reading those bits negates the matching weight *columns*
(``-w * -x = w * x``).
"""

from __future__ import annotations

import numpy as np


def negate_rows(weights: np.ndarray, negate: np.ndarray) -> np.ndarray:
    """Weights (MH, MW) with the rows of ``negate`` (MH,) flipped."""
    return weights ^ negate[:, None]


def negate_columns(weights: np.ndarray, negate: np.ndarray) -> np.ndarray:
    """Weights (MH, MW) with the columns of ``negate`` (MW,) flipped."""
    return weights ^ negate[None, :]
