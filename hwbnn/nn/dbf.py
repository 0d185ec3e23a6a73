"""Deterministic Binary Filter layers (Tseng, Bhattacharya, Fernandez-Marques, Alizadeh, Tong
and Lane, "Deterministic Binary Filters for Convolutional Neural Networks", IJCAI 2018).

A layer with ``C_out`` filters of ``n`` elements (``n = C_in * k * k`` for a convolution, the
fan-in for a dense layer) learns no filter directly: filter ``c`` is a linear combination of
``M`` fixed binary bases,

    W_c = sum_m alpha_{c,m} B_m,

with ``B_m`` the first ``M`` OVSF codes of length ``P = 2^ceil(log2 n)`` truncated to ``n``
entries (:mod:`hwbnn.nn.ovsf`; a filter of ``P < M`` elements uses all ``P`` codes). Element
``i`` of a code is the weight ``[c_in, y, x]`` with ``i = (c_in * k + y) * k + x`` (torch's
row-major flattening). Because convolution is linear, the layer is computed as two layers:

1. *basis*: a Brevitas ``QuantConv2d`` / ``QuantLinear`` whose weights are the codes (+-1,
   :class:`~hwbnn.nn.quantizers.BinaryWeightQuant`, scale 1). They are generated when the layer
   is built and held in a non-persistent buffer: not trained, not in the state dict or the
   checkpoint. On binary (or integer) inputs its ``M`` outputs ``d_m = x . B_m`` are exact
   integers, so nothing is quantized between the two layers;
2. *combination*: a 1x1 ``QuantConv2d`` / ``QuantLinear`` from ``M`` to ``C_out`` channels whose
   weights are ``alpha``, quantized by :func:`alpha_quant` to ``s_c * q_{c,m}``: signed
   narrow-range integers ``q`` of ``alpha_bits`` bits times a power-of-two scale ``s_c`` per
   output channel. Its output ``y_c = s_c * sum_m q_{c,m} d_m`` is exact in float32, so the
   exported graph computes bit for bit what torch computes.

Gradient: ``dL/dalpha`` through the rounding by the straight-through estimator (Brevitas'
``round_ste``, and ``ceil`` of the scale likewise); the bases get none. The input gradient is that
of the convolution with ``W_c``.
"""

from __future__ import annotations

from enum import StrEnum

import torch
from brevitas.inject import ExtendedInjector
from brevitas.nn import QuantConv2d, QuantLinear
from brevitas.quant.base import MaxStatsScaling, NarrowIntQuant, PerChannelPoTScaling8bit
from brevitas.quant.solver import WeightQuantSolver
from torch import nn

from hwbnn.nn.ovsf import code_length, filter_codes
from hwbnn.nn.quantizers import BinaryWeightQuant

ALPHA_BITS = (2, 8)  # the accepted range of alpha_bits


class BasisCodes(StrEnum):
    """How the binary bases are generated."""

    OVSF = "ovsf"  # OVSF tree order (hwbnn.nn.ovsf), the paper's construction


def alpha_quant(bits: int) -> type[ExtendedInjector]:
    """Brevitas' fixed-point weight quantizer (``Int8WeightPerTensorFixedPoint`` per output
    channel) of the combination coefficients, with ``b = bits`` and ``L = 2^(b-1) - 1``::

        s_c = 2^ceil(log2 max_m |alpha_{c,m}|) / 2^(b-1),  q = clamp(round(alpha / s_c), -L, L)

    so ``q`` takes at most ``2L + 1`` levels, and the largest ``|alpha_c|`` of a channel maps
    into ``(2^(b-2), 2^(b-1)]`` before the clamp."""
    if not ALPHA_BITS[0] <= bits <= ALPHA_BITS[1]:
        raise ValueError(f"alpha needs {ALPHA_BITS[0]}..{ALPHA_BITS[1]} bits, got {bits}")

    class AlphaQuant(NarrowIntQuant, MaxStatsScaling, PerChannelPoTScaling8bit, WeightQuantSolver):
        bit_width = bits

    return AlphaQuant


def check_dbf(bases: int, alpha_bits: int) -> None:
    """ValueError unless ``bases`` >= 0 (0: no DBF layers) and, with bases, ``alpha_bits`` is in
    :data:`ALPHA_BITS`."""
    if bases < 0 or bases & (bases - 1):
        raise ValueError(
            f"DBF bases must be a power of two (an OVSF tree level), or 0 for plain binary "
            f"layers; got {bases}"
        )
    if bases and not ALPHA_BITS[0] <= alpha_bits <= ALPHA_BITS[1]:
        raise ValueError(f"DBF alpha needs {ALPHA_BITS[0]}..{ALPHA_BITS[1]} bits, got {alpha_bits}")


def basis_count(fan_in: int, bases: int) -> int:
    """The number of bases a filter of ``fan_in`` elements uses: ``min(bases, P)``."""
    return min(bases, code_length(fan_in))


def _freeze_codes(layer: nn.Module, codes: torch.Tensor) -> None:
    """Replace the layer's weight parameter by the fixed codes (a non-persistent buffer)."""
    del layer.weight
    layer.register_buffer("weight", codes.to(torch.float32), persistent=False)


def make_codes(kind: BasisCodes, fan_in: int, bases: int) -> torch.Tensor:
    """(M, fan_in) float +-1 bases of a filter of ``fan_in`` elements."""
    if kind != BasisCodes.OVSF:
        raise ValueError(f"unknown basis codes {kind!r}")
    return torch.from_numpy(filter_codes(fan_in, basis_count(fan_in, bases))).float()


class DBFLinear(nn.Module):
    """A dense DBF layer ``y = alpha (B x)``: ``basis`` (fan_in -> M, fixed +-1 codes) then
    ``combine`` (M -> fan_out, integer alpha); see the module docstring."""

    def __init__(
        self, fan_in: int, fan_out: int, bases: int, alpha_bits: int, codes: BasisCodes
    ) -> None:
        super().__init__()
        basis = make_codes(codes, fan_in, bases)
        self.basis = QuantLinear(fan_in, len(basis), bias=False, weight_quant=BinaryWeightQuant)
        _freeze_codes(self.basis, basis)
        self.combine = QuantLinear(
            len(basis), fan_out, bias=False, weight_quant=alpha_quant(alpha_bits)
        )
        self.in_features, self.out_features = fan_in, fan_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.combine(self.basis(x))

    def integer_dot(self, x: torch.Tensor) -> torch.Tensor:
        """``sum_m q_{c,m} d_m``: the output without the power-of-two scales ``s_c`` (what the
        hardware's integer accumulators hold; dividing by ``s_c`` is exact in float32)."""
        scale = self.combine.quant_weight().scale
        assert isinstance(scale, torch.Tensor)
        return self(x) / scale.flatten()


class DBFConv2d(nn.Module):
    """A DBF convolution (stride 1, no padding, no bias): ``basis`` (k x k, C_in -> M, fixed
    +-1 codes) then ``combine`` (1x1, M -> C_out, integer alpha); see the module docstring."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: int,
        bases: int,
        alpha_bits: int,
        codes: BasisCodes,
        stride: int = 1,
    ) -> None:
        super().__init__()
        fan_in = in_channels * kernel * kernel
        basis = make_codes(codes, fan_in, bases).reshape(-1, in_channels, kernel, kernel)
        self.basis = QuantConv2d(
            in_channels,
            len(basis),
            kernel,
            stride=stride,
            padding=0,
            bias=False,
            weight_quant=BinaryWeightQuant,
        )
        _freeze_codes(self.basis, basis)
        self.combine = QuantConv2d(
            len(basis), out_channels, 1, bias=False, weight_quant=alpha_quant(alpha_bits)
        )
        self.in_channels, self.out_channels = in_channels, out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.combine(self.basis(x))


def equivalent_weight(layer: DBFLinear | DBFConv2d) -> torch.Tensor:
    """The deployed filters ``W_c = sum_m q_{c,m} s_c B_m`` in the shape of the plain layer's
    weight (what the two layers compute together)."""
    alpha = layer.combine.quant_weight().value.flatten(1)  # (C_out, M)
    basis = layer.basis.weight  # (M, ...) codes
    assert isinstance(basis, torch.Tensor)
    return (alpha @ basis.flatten(1)).reshape(alpha.shape[0], *basis.shape[1:])
