"""The hardware IR's majority pool: average pooling of +-1 maps followed by a sign.

A :class:`MajorityPool` reads a binary (H, W, C) image and writes, for every output pixel
``(oy, ox)`` in raster order and channel ``c``,

    p(oy, ox, c) = #{(ky, kx) : ky, kx < K, in(oy*S - pad_top + ky, ox*S - pad_left + kx, c) == 1}
    out(oy, ox, c) = p(oy, ox, c) >= T_c

where positions outside the image are padding with bit 0 (-1), as in the binary convolutions'
padding, and ``OH = (H + pad_top + pad_bottom - K) // S + 1`` (likewise OW).

It is the binary form of ``sign(BN(AvgPool2d(K, S)(pad(x, -1))))`` (the ``avg_pool_3x3``
operation of :mod:`hwbnn.nn.genotype`, with an optional affine such as a BatchNorm before the
sign): on +-1 inputs the window mean is ``(2p - K*K) / (K*K)``, a function of the count ``p``
alone, so the activation is a threshold on ``p``. Lowering finds ``T_c`` in ``[0, K*K + 1]``
(0: always +1, ``K*K + 1``: always -1) by evaluating the exported float function at every
count ``0..K*K`` (:mod:`hwbnn.frontend.thresholds`); for the plain sign (``x >= 0`` is +1)
``T_c = ceil(K*K / 2)``, 5 for a 3 x 3 window. A channel whose function decreases with ``p``
cannot be a threshold (there are no weights to negate) and is a lowering error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hwbnn.ir.edges import LayerKind, Shape3, normalize_inputs
from hwbnn.ir.layers import _ImageStage, _window_out


@dataclass(frozen=True)
class MajorityPool(_ImageStage):
    """Majority (thresholded window popcount) of a binary image; see the module docstring.

    ``padding`` is (top, left, bottom, right), each smaller than the kernel, with bit 0;
    ``thresholds`` (C,) int64 in ``[0, K*K + 1]``.
    """

    name: str
    in_shape: Shape3
    kernel: int
    stride: int
    padding: tuple[int, int, int, int]
    thresholds: np.ndarray = field(repr=False)
    kind: LayerKind = field(default=LayerKind.MAJORITY_POOL, init=False)
    inputs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        normalize_inputs(self)
        object.__setattr__(self, "in_shape", tuple(int(d) for d in self.in_shape))
        object.__setattr__(self, "kernel", int(self.kernel))
        object.__setattr__(self, "stride", int(self.stride))
        if len(self.in_shape) != 3 or min(self.in_shape) < 1:
            raise ValueError(f"{self.name}: in_shape must be (H, W, C) with positive sizes")
        if self.kernel < 1 or self.stride < 1:
            raise ValueError(f"{self.name}: kernel and stride must be >= 1")
        object.__setattr__(self, "padding", tuple(int(p) for p in self.padding))
        if len(self.padding) != 4 or min(self.padding) < 0 or max(self.padding) >= self.kernel:
            raise ValueError(f"{self.name}: padding must be 4 values in [0, kernel)")
        if min(self.out_shape) < 1:
            raise ValueError(f"{self.name}: kernel {self.kernel} larger than the padded image")
        t = np.asarray(self.thresholds)
        if t.dtype.kind not in "iu" or t.shape != (self.channels,):
            raise ValueError(
                f"{self.name}: thresholds must be {self.channels} integers (one per channel)"
            )
        if t.min() < 0 or t.max() > self.positions + 1:
            raise ValueError(f"{self.name}: thresholds outside [0, {self.positions + 1}]")
        object.__setattr__(self, "thresholds", t.astype(np.int64))

    @property
    def positions(self) -> int:
        """K*K: the window positions counted per channel."""
        return self.kernel * self.kernel

    @property
    def count_bits(self) -> int:
        """Bits of a count ``0..K*K`` (and of a threshold ``0..K*K+1``): ceil(log2(K*K+2))."""
        return int(self.positions + 1).bit_length()

    @property
    def out_shape(self) -> Shape3:
        """(OH, OW, C)."""
        h, w, c = self.in_shape
        top, left, bottom, right = self.padding
        oh = _window_out(h, top, bottom, self.kernel, self.stride)
        ow = _window_out(w, left, right, self.kernel, self.stride)
        return (oh, ow, c)

    @property
    def out_elements(self) -> int:
        return int(np.prod(self.out_shape))
