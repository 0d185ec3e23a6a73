"""hls4ml layer classes of hwbnn's binary units, carrying the exact IR layer they implement.

Both layers take an io_stream input of unsigned fields (input codes or bipolar bits, one hls4ml
array element each) and emit, per stream beat, the channels one clock cycle of the unit makes:

- :class:`HwbnnInputThreshold` (IR :class:`~hwbnn.ir.types.InputThreshold`): ``N`` codes ->
  ``N`` bits, ``bit_i = code_i >= T_i``; output shape ``[N/SIMD, SIMD]`` of ``uint<1>``.
- :class:`HwbnnMvau` (IR :class:`~hwbnn.ir.types.MatrixVector`): the XNOR-popcount (or
  integer x bipolar) matrix-vector unit of ``hls/hwbnn/mvau.hpp``. Hidden layer: ``MH`` bits,
  ``out_c = popcount_c >= T_c`` (``acc_c >= T_c`` for integer input), shape ``[MH/PE, PE]`` of
  ``uint<1>``. Last layer: the signed accumulators ``2*popcount_c - MW`` (the integer sum for
  integer input) as ``int<W>``, ``W`` the library's ``Product::Sum<MW>::DOT_BITS``.

Bit 1 is +1, bit 0 is -1 (the numeric contract of DESIGN.md). Channel ``nf*PE + p`` sits in
beat ``nf`` at element ``p``, so a flattened output is in channel order.
"""

from __future__ import annotations

from hls4ml.model.attributes import Attribute
from hls4ml.model.layers import Layer
from hls4ml.model.types import IntegerPrecisionType

from hwbnn.ir.types import InputThreshold, MatrixVector


def clog2(x: int) -> int:
    """ceil(log2(x)) for x >= 1 and 0 for x <= 1, as ``hwbnn::clog2`` of the HLS library."""
    return 0 if x <= 1 else (x - 1).bit_length()


def dot_bits(layer: MatrixVector) -> int:
    """Bits of the library's signed dot product of ``layer`` (``Product::Sum<MW>::DOT_BITS``).

    XnorMul: ``clog2(MW + 1) + 1``; IntBinaryProduct<B>: ``clog2(MW * (2^B - 1) + 1) + 1``,
    which bounds the sum by the largest B-bit code (it can exceed the IR's ``acc_bits``, which
    uses the code levels).
    """
    if layer.binary_input:
        return clog2(layer.mw + 1) + 1
    return clog2(layer.mw * (2**layer.input_bits - 1) + 1) + 1


def product_type(layer: MatrixVector) -> str:
    """The C++ product type of ``layer`` in hls/hwbnn/products.hpp."""
    if layer.binary_input:
        return "hwbnn::XnorMul"
    return f"hwbnn::IntBinaryProduct<{layer.input_bits}>"


class HwbnnInputThreshold(Layer):
    """Input thresholding of hwbnn; attribute ``ir_layer`` is the IR layer it implements."""

    _expected_attributes = [
        Attribute("ir_layer", value_type=InputThreshold),
        Attribute("simd"),
        Attribute("input_bits"),
    ]

    def initialize(self) -> None:
        layer: InputThreshold = self.get_attr("ir_layer")
        simd = int(self.get_attr("simd"))
        self.set_attr("n_in", layer.in_elements)
        self.set_attr("n_out", layer.out_elements)
        self.add_output_variable(
            [layer.out_elements // simd, simd], precision=IntegerPrecisionType(1, signed=False)
        )


class HwbnnMvau(Layer):
    """Matrix-vector-activation unit of hwbnn; attribute ``ir_layer`` is the IR layer."""

    _expected_attributes = [
        Attribute("ir_layer", value_type=MatrixVector),
        Attribute("pe"),
        Attribute("simd"),
    ]

    def initialize(self) -> None:
        layer: MatrixVector = self.get_attr("ir_layer")
        pe = int(self.get_attr("pe"))
        self.set_attr("n_in", layer.mw)
        self.set_attr("n_out", layer.mh)
        if layer.is_output:
            precision = IntegerPrecisionType(dot_bits(layer), signed=True)
        else:
            precision = IntegerPrecisionType(1, signed=False)
        self.add_output_variable([layer.mh // pe, pe], precision=precision)


LAYER_CLASSES: dict[str, type] = {
    "HwbnnInputThreshold": HwbnnInputThreshold,
    "HwbnnMvau": HwbnnMvau,
}
