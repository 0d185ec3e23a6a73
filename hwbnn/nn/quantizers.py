"""Brevitas quantizers of hwbnn's binary networks.

Binary weights and activations (Courbariaux et al., "Binarized Neural Networks", 2016):

- forward: ``q(x) = +1 if x >= 0 else -1`` (Brevitas' binary quantizers; sign(0) = +1, which
  is also the rule of the hardware and the reference model),
- gradient: the clipped straight-through estimator ``dq/dx = 1 if |x| <= 1 else 0``.

The scale is the constant 1, so the exported QONNX ``BipolarQuant`` nodes carry scale 1, every
weight is exactly +-1 and the float model's dot products are exact integers. Learned per-channel
scales live in the BatchNorm that follows each layer and fold into integer thresholds.

The unsigned input quantizer turns pre-scaled pixel codes into integers 0..2^bits-1 (scale 1),
so a multi-bit first layer also computes exact integer sums in float32.
"""

from __future__ import annotations

from brevitas.core.scaling import ScalingImplType
from brevitas.inject import ExtendedInjector
from brevitas.quant import SignedBinaryActPerTensorConst, SignedBinaryWeightPerTensorConst
from brevitas.quant.scaled_int import Uint8ActPerTensorFloat


class BinaryWeightQuant(SignedBinaryWeightPerTensorConst):
    """Weights to {-1, +1} with scale 1 (clipped STE)."""

    scaling_const = 1.0


class BinaryActQuant(SignedBinaryActPerTensorConst):
    """Activations to {-1, +1} with scale 1 (clipped STE)."""

    scaling_const = 1.0


def unsigned_input_quant(bits: int) -> type[ExtendedInjector]:
    """A quantizer for unsigned integer input codes 0..2^bits-1 with scale 1 (round to nearest)."""
    if not 2 <= bits <= 16:
        raise ValueError(f"unsigned input quantizer needs 2..16 bits, got {bits}")

    class UnsignedInputQuant(Uint8ActPerTensorFloat):
        scaling_impl_type = ScalingImplType.CONST
        scaling_const = 1.0
        bit_width = bits
        max_val = float(2**bits - 1)

    return UnsignedInputQuant
