"""The IR node of a Deterministic Binary Filter layer (Tseng, Bhattacharya, Fernandez-Marques,
Alizadeh, Tong and Lane, "Deterministic Binary Filters for Convolutional Neural Networks",
IJCAI 2018; training: :mod:`hwbnn.nn.dbf`).

A DBF layer's filters are integer combinations of ``M`` fixed +-1 bases,
``W_c = sum_m alpha_cm B_m``, and the hardware computes it "basis first": per input vector
``x`` of ``MW`` elements (a dense layer's input, or one window of a convolution),

    d_m = sum_i x_i * b_mi                  (M basis products, shared by every channel)
    y_c = sum_m alpha_cm * d_m              (the small integer matrix, MH x M)

where ``b_mi`` is +1 for ``codes[m, i]`` True and -1 for False, and ``x_i`` is -1/+1 (bit 0/1)
for a binary input (then ``d_m = 2 * popcount_m - MW`` with ``popcount_m`` the number of
``i`` with ``x_i == b_mi``) or an unsigned input code ``k_i`` of an integer-input first
layer. A hidden layer emits ``out_c = y_c >= T_c`` (integer ``T_c`` in ``[-B, B + 1]``, ``B``
the bound of :attr:`DBFMatrixVector.acc_range`); the output layer emits ``y_c`` with the
per-class affine ``logit_c = out_scale_c * y_c + out_bias_c``, like a
:class:`~hwbnn.ir.layers.MatrixVector`. ``pixels`` vectors make one frame (a convolution's
output pixels; 1 for dense layers). A channel whose exported function decreases has its
``alpha`` row negated at lowering, so every comparison is ``>=`` (DESIGN.md's contract).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hwbnn.ir.edges import LayerKind, bits_for_range, normalize_inputs
from hwbnn.ir.layers import ProductUnitBase

#: Largest |alpha| the IR takes (the training quantizer gives at most 2^7 - 1).
MAX_ALPHA = 2**15 - 1


@dataclass(frozen=True)
class DBFMatrixVector(ProductUnitBase):
    """A basis-first DBF unit; see the module docstring for its arithmetic.

    ``codes`` (M, MW) bool: the fixed +-1 bases (True for +1); ``alpha`` (MH, M) int64: the
    quantized combination coefficients (the per-channel power-of-two scale went into the
    thresholds or ``out_scale``). ``thresholds`` None: the output layer (with ``out_scale`` and
    ``out_bias``).
    """

    name: str
    codes: np.ndarray = field(repr=False)
    alpha: np.ndarray = field(repr=False)
    input_bits: int
    input_levels: int
    thresholds: np.ndarray | None = field(default=None, repr=False)
    out_scale: np.ndarray | None = field(default=None, repr=False)
    out_bias: np.ndarray | None = field(default=None, repr=False)
    pixels: int = 1
    kind: LayerKind = field(default=LayerKind.DBF_MATRIX_VECTOR, init=False)
    inputs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        normalize_inputs(self)
        if self.pixels < 1:
            raise ValueError(f"{self.name}: pixels must be >= 1")
        codes = np.asarray(self.codes)
        if codes.dtype != np.bool_ or codes.ndim != 2 or min(codes.shape) < 1:
            raise ValueError(f"{self.name}: codes must be a non-empty 2-D bool array (M, MW)")
        alpha = np.asarray(self.alpha)
        if alpha.dtype.kind not in "iu" or alpha.shape[1:] != (codes.shape[0],) or not len(alpha):
            raise ValueError(f"{self.name}: alpha must be an integer (MH, {codes.shape[0]}) array")
        alpha = alpha.astype(np.int64)
        if np.abs(alpha).max() > MAX_ALPHA:
            raise ValueError(f"{self.name}: alpha outside [-{MAX_ALPHA}, {MAX_ALPHA}]")
        object.__setattr__(self, "alpha", alpha)
        if self.input_bits < 1 or (self.input_bits == 1) != (self.input_levels == 2):
            raise ValueError(f"{self.name}: inconsistent input_bits/input_levels")
        if self.input_levels > 2**self.input_bits:
            raise ValueError(f"{self.name}: {self.input_levels} levels exceed input_bits")
        if (self.out_scale is None) != (self.out_bias is None):
            raise ValueError(f"{self.name}: the output layer needs both out_scale and out_bias")
        if (self.thresholds is None) == (self.out_scale is None):
            raise ValueError(f"{self.name}: needs either thresholds or out_scale/out_bias")
        if self.out_scale is not None:
            for arr_name in ("out_scale", "out_bias"):
                arr = np.asarray(getattr(self, arr_name), dtype=np.float64)
                if arr.shape != (self.mh,):
                    raise ValueError(f"{self.name}: {arr_name} must have shape ({self.mh},)")
                object.__setattr__(self, arr_name, arr)
        else:
            t = np.asarray(self.thresholds, dtype=np.int64)
            low, high = self.acc_range
            if t.shape != (self.mh,) or t.min() < low or t.max() > high + 1:
                raise ValueError(
                    f"{self.name}: thresholds must be ({self.mh},) in [{low}, {high + 1}]"
                )
            object.__setattr__(self, "thresholds", t)

    @property
    def bases(self) -> int:
        """M, the number of basis products per input vector."""
        return int(self.codes.shape[0])

    @property
    def mh(self) -> int:
        return int(self.alpha.shape[0])

    @property
    def mw(self) -> int:
        return int(self.codes.shape[1])

    @property
    def basis_range(self) -> tuple[int, int]:
        """Range of a basis product ``d_m``."""
        bound = self.mw * (self.input_levels - 1)
        return -bound, bound

    @property
    def basis_bits(self) -> int:
        return bits_for_range(*self.basis_range)

    @property
    def alpha_bits(self) -> int:
        """Two's-complement bits of the largest ``|alpha|`` (at least 2)."""
        bound = int(np.abs(self.alpha).max())
        return bits_for_range(-bound, bound)

    @property
    def acc_range(self) -> tuple[int, int]:
        """Range of ``y_c`` over all channels: ``+-bound(d) * max_c sum_m |alpha_cm|``."""
        bound = self.basis_range[1] * int(np.abs(self.alpha).sum(axis=1).max())
        return -bound, bound

    def basis_products(self, x: np.ndarray) -> np.ndarray:
        """``d`` (R, M) int64 of input rows ``x`` (R, MW): bits 0/1 or unsigned codes."""
        x = np.asarray(x, dtype=np.float64)  # every sum is an integer below 2**53: exact
        if self.binary_input:
            x = 2 * x - 1
        return np.rint(x @ np.where(self.codes, 1.0, -1.0).T).astype(np.int64)

    def combine(self, d: np.ndarray) -> np.ndarray:
        """``y`` (R, MH) int64 of basis products ``d`` (R, M)."""
        product = np.asarray(d, dtype=np.float64) @ self.alpha.T.astype(np.float64)
        return np.rint(product).astype(np.int64)  # |y| < 2**53: exact
