"""hls4ml layer classes of hwbnn's binary units, carrying the exact IR layer they implement.

Both layers take an io_stream input of unsigned fields (input codes or bipolar bits, one hls4ml
array element each) and emit, per stream beat, the channels one clock cycle of the unit makes:

- :class:`HwbnnInputThreshold` (IR :class:`~hwbnn.ir.types.InputThreshold`): ``N`` codes ->
  ``N`` bits, ``bit_i = code_i >= T_i``; output shape ``[N/SIMD, SIMD]`` of ``uint<1>``.
- :class:`HwbnnMvau` (IR :class:`~hwbnn.ir.types.MatrixVector`): the XNOR-popcount (or
  integer x bipolar) matrix-vector unit of ``hls/hwbnn/mvau.hpp``. Hidden layer: ``MH`` bits,
  ``out_c = popcount_c >= T_c`` (``acc_c >= T_c`` for integer input), shape ``[MH/PE, PE]`` of
  ``uint<1>``. Last layer: the signed accumulators ``2*popcount_c - MW`` (the integer sum for
  integer input) as ``int<W>``, ``W`` the plan's accumulator width (hwbnn.plan), which is
  the library's ``Product::Sum<MW>::DOT_BITS``.

Bit 1 is +1, bit 0 is -1 (the numeric contract of DESIGN.md). Channel ``nf*PE + p`` sits in
beat ``nf`` at element ``p``, so a flattened output is in channel order.
"""

from __future__ import annotations

from hls4ml.model.attributes import Attribute
from hls4ml.model.layers import Layer
from hls4ml.model.types import IntegerPrecisionType

from hwbnn.ir.types import InputThreshold, MatrixVector
from hwbnn.plan import UnitPlan


class _HwbnnLayer(Layer):
    """A hwbnn unit: attribute ``ir_layer`` is the IR layer (its memories), ``unit`` its plan
    (every size and width, hwbnn.plan)."""

    def initialize(self) -> None:
        unit: UnitPlan = self.get_attr("unit")
        self.set_attr("n_in", unit.mw)
        self.set_attr("n_out", unit.mh)
        # output: out_beats beats of (PE or SIMD) elements, flattened in element order
        precision = IntegerPrecisionType(unit.out_bits, signed=unit.is_output)
        lanes = unit.out_width // unit.out_bits
        self.add_output_variable([unit.out_beats, lanes], precision=precision)


class HwbnnInputThreshold(_HwbnnLayer):
    """Input thresholding of hwbnn; attribute ``ir_layer`` is the IR layer it implements."""

    _expected_attributes = [
        Attribute("ir_layer", value_type=InputThreshold),
        Attribute("unit", value_type=UnitPlan),
    ]


class HwbnnMvau(_HwbnnLayer):
    """Matrix-vector-activation unit of hwbnn; attribute ``ir_layer`` is the IR layer."""

    _expected_attributes = [
        Attribute("ir_layer", value_type=MatrixVector),
        Attribute("unit", value_type=UnitPlan),
    ]


LAYER_CLASSES: dict[str, type] = {
    "HwbnnInputThreshold": HwbnnInputThreshold,
    "HwbnnMvau": HwbnnMvau,
}
