"""DBF: Deterministic Binary Filters (Tseng, Bhattacharya, Fernandez-Marques, Alizadeh, Tong and
Lane, "Deterministic Binary Filters for Convolutional Neural Networks", IJCAI 2018).

Every filter of every binary convolution and dense layer (the first and the last included) is a
learned combination of ``M = bases`` fixed binary bases,

    W_c = sum_m alpha_{c,m} B_m,

and only ``alpha`` is trained. The layers are :mod:`hwbnn.nn.dbf`'s (the model config's
``dbf_*`` fields, so the checkpoint rebuilds them):

- bases: ``codes=ovsf``: OVSF codes (:mod:`hwbnn.nn.ovsf`) of length ``P = 2^ceil(log2 n)`` for
  a filter of ``n = C_in * k * k`` elements (the fan-in of a dense layer), truncated to ``n``
  entries, which is the same as zero-padding the flattened filter to ``P``. ``M`` (a power of
  two) codes: every ``(P/M)``-th code of the tree's level of length ``P``, i.e. the ``M`` codes
  of length ``M`` repeated ``P/M`` times; a filter with ``P < M`` uses all ``P`` codes. They are
  generated when the model is built, never stored or trained.
- forward: ``y = alpha_q (*) (B (*) x)``: a convolution with the +-1 bases (exact integers ``d_m``
  on binary or integer inputs), then a 1x1 convolution with ``alpha_q = s_c * q``,
  ``q = clamp(round(alpha / s_c), -L, L)``, ``L = 2^(alpha_bits-1) - 1`` and the power-of-two
  scale ``s_c = 2^ceil(log2 max_m |alpha_{c,m}|) / 2^(alpha_bits-1)`` per output channel
  (:func:`hwbnn.nn.dbf.alpha_quant`); then BatchNorm and sign as in the baseline.
- gradient: straight-through through the rounding of alpha (Brevitas ``round_ste``), none to the
  bases; the latent alpha are clipped to [-1, 1] with the other latent weights (harmless: the
  max-based scale follows them).

Differences from the paper: the paper learns float alpha in a float network; here alpha is an
``alpha_bits``-bit integer (times a power of two) trained with the quantizer in the loop, and
activations stay binary, so what is deployed is exactly what was trained. How the paper pads
filter lengths that are not powers of two and which ``M`` of the ``P`` codes it keeps could not
be checked against its text. Zero-padding is implemented (code truncation). The first ``M``
codes in tree order would be constant on blocks of ``P/M`` consecutive filter entries and span
only ``ceil(n M / P)`` dimensions after truncation (e.g. 9 of 16 bases for a 3x3x16 filter),
so every ``(P/M)``-th code is kept instead: they stay linearly independent after truncation
(``n >= M``), and in tree order they are still orthogonal OVSF codes of length ``P``.

Export: per layer a ``Conv``/``MatMul`` with ``BipolarQuant`` weights (the codes), then a
``Conv`` 1x1/``MatMul`` with ``Quant`` weights (bit width ``alpha_bits``, narrow, per-channel
power-of-two scale), then BatchNorm and the sign. L1 (execute_onnx) equals L0 (torch); lowering
makes each layer one DBF unit (:mod:`hwbnn.frontend.passes.lower_basis_combination`,
:mod:`hwbnn.ir.dbf`, rtl/hwbnn_dbf.v, hls/hwbnn/dbf.hpp; docs/dbf.md). ``xnor``/``xnorpp`` on
an MLP put their per-channel scale after the combination; ``xnorpp`` on a conv net is refused
(it would scale the basis outputs too).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from hwbnn.nn.dbf import ALPHA_BITS, BasisCodes
from hwbnn.nn.scales import CONV_SCALES_ATTR
from hwbnn.train.methods.base import Method, Slot, TrainContext, arg, check


class DeterministicBinaryFilters(Method):
    name = "dbf"
    summary = "DBF filters: learned integer combinations of fixed OVSF binary bases"
    slot = Slot.WEIGHTS

    @dataclass(frozen=True)
    class Args:
        bases: int = arg(32, "binary bases M per layer, a power of two (a layer with P < M uses P)")
        codes: BasisCodes = arg(BasisCodes.OVSF, "construction of the bases")
        alpha_bits: int = arg(4, "bit width of the integer combination coefficients alpha")

    def __init__(self, args: Args | None = None) -> None:
        super().__init__(args)
        bases = self.args.bases
        check(bases >= 1 and not bases & (bases - 1), self.name, "bases must be a power of two")
        low, high = ALPHA_BITS
        check(low <= self.args.alpha_bits <= high, self.name, f"alpha_bits must be {low}..{high}")

    def configure(self, config: Any) -> Any:
        check(
            hasattr(config, "dbf_bases"),
            self.name,
            "DBF layers exist for MLPs and convolutional nets, not residual nets",
        )
        return replace(
            config,
            dbf_bases=self.args.bases,
            dbf_codes=self.args.codes,
            dbf_alpha_bits=self.args.alpha_bits,
        )

    def on_epoch_start(self, ctx: TrainContext) -> None:
        # after every method's setup: xnorpp's conv scales would also scale the basis outputs
        check(
            not getattr(ctx.model, CONV_SCALES_ATTR, ""),
            self.name,
            "xnorpp's scales after convolutions would also scale the DBF basis outputs; "
            "on a conv net train DBF without xnorpp",
        )
