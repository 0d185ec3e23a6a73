"""Binary convolutional networks (FINN's CNV and small nets for 8x8 digits and MNIST).

Topology, for convolution stages ``conv_1..conv_L``, dense widths ``h_1..h_M`` and K classes::

    x (N, C, H, W) in [0, 1] -> input stage
      -> [pad(-1, p) -> Conv2d(+-1, k x k, stride 1) -> BN -> sign -> MaxPool(q)] x L
      -> flatten -> [Linear(+-1) -> BN -> sign] x M -> Linear(+-1) -> BN (per-class affine)

Input stage (as :mod:`hwbnn.nn.mlp`): ``binary`` gives bits sign(x - 0.5); ``integer`` gives
unsigned codes ``k = round(x * (levels - 1))`` that the first convolution multiplies by +-1
weights (exact integer sums; FINN's CNV takes 8-bit RGB pixels this way).

Padding: a +-1 activation padded with 0 is not a binary tensor, so hwbnn never zero-pads a
binary convolution. A stage with ``padding = p > 0`` pads the sign output with the constant -1
(bit 0; DESIGN.md) before a convolution with ``padding=0``, which exports as an explicit ONNX
``Pad`` with constant -1 that lowering turns into a sliding window with pad code 0. The first
convolution of an integer input pads with 0, the value of input code 0.

With ``dbf_bases > 0`` every convolution and dense layer is a Deterministic Binary Filter layer
(:mod:`hwbnn.nn.dbf`): fixed +-1 bases, then a 1x1 combination with integer coefficients.

With ``ci_magnitude > 0`` every convolution's integer output passes a CI-BCNN channel
interaction (:mod:`hwbnn.nn.ci_bcnn`) before its BN: ``conv -> interaction -> BN -> sign``, with
deadzone and magnitude ``ci_deadzone`` and ``ci_magnitude`` times the convolution's fan-in
(rounded to integers per layer) and no edges until a training method mines them.

Every binary weight and activation quantizer has scale 1 (:mod:`hwbnn.nn.quantizers`), so each
convolution and dense product is an exact integer in float32, and the float model equals the
integer hardware model bit for bit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from brevitas.nn import QuantConv2d, QuantIdentity, QuantLinear
from torch import nn

from hwbnn.catalog import InputMode
from hwbnn.nn.ci_bcnn import ChannelInteraction, check_ci, grid_value
from hwbnn.nn.dbf import BasisCodes, DBFConv2d, DBFLinear, check_dbf
from hwbnn.nn.mlp import InputScale, InputShift, coerce_enums, plain_dict
from hwbnn.nn.quantizers import BinaryActQuant, BinaryWeightQuant, unsigned_input_quant

MODEL_KIND_KEY = "kind"
CONV_KIND = "conv"


@dataclass(frozen=True)
class ConvStage:
    """One convolution stage: ``channels`` outputs of a ``kernel`` x ``kernel`` binary
    convolution (stride 1) after padding every side with ``padding`` pixels of -1 (0: none),
    then BN and sign, then a ``pool`` x ``pool`` max pool with stride ``pool`` (1: none)."""

    channels: int
    kernel: int = 3
    padding: int = 0
    pool: int = 1

    def __post_init__(self) -> None:
        if self.channels < 1 or self.kernel < 1 or self.pool < 1:
            raise ValueError(f"conv stage needs positive channels/kernel/pool, got {self}")
        if not 0 <= self.padding < self.kernel:
            raise ValueError(f"conv padding must be in [0, kernel), got {self.padding}")


def check_image_input(input_shape: tuple[int, ...], levels: int, input_bits: int) -> None:
    """The input checks of an image net's config (conv, residual, cell net): a (C, H, W) shape
    of positive sizes, and ``levels`` integer input levels that fit ``input_bits`` bits.

    Raises:
        ValueError: naming the shape or the levels and bits.
    """
    if len(input_shape) != 3 or min(input_shape) < 1:
        raise ValueError(f"input_shape must be (C, H, W), got {input_shape}")
    if levels > 2**input_bits:
        raise ValueError(f"{levels} input levels do not fit {input_bits} bits")


@dataclass(frozen=True)
class ConvConfig:
    """Everything needed to rebuild a :class:`BinaryConvNet` (stored in checkpoints)."""

    input_shape: tuple[int, int, int]
    stages: tuple[ConvStage, ...]
    dense: tuple[int, ...]
    classes: int
    input_mode: InputMode = InputMode.BINARY
    levels: int = 17
    input_bits: int = 5
    dbf_bases: int = 0  # > 0: DBF layers with this many bases (hwbnn.nn.dbf)
    dbf_codes: BasisCodes = BasisCodes.OVSF
    dbf_alpha_bits: int = 4
    ci_deadzone: float = 0.0  # CI-BCNN deadzone m as a fraction of each conv's fan-in
    ci_magnitude: float = 0.0  # > 0: CI-BCNN interactions (hwbnn.nn.ci_bcnn), c / fan-in

    def __post_init__(self) -> None:
        coerce_enums(self, {"input_mode": InputMode, "dbf_codes": BasisCodes})
        check_dbf(self.dbf_bases, self.dbf_alpha_bits)
        check_ci(self.ci_deadzone, self.ci_magnitude)
        if self.dbf_bases and self.ci_magnitude:
            raise ValueError("CI-BCNN interactions need integer conv outputs, DBF scales them")
        check_image_input(self.input_shape, self.levels, self.input_bits)
        if not self.stages:
            raise ValueError("a convolutional net needs at least one conv stage")
        if any(h < 1 for h in self.dense) or self.classes < 2:
            raise ValueError(f"dense widths and classes must be positive, got {self.dense}")
        h, w = self.feature_shape[1:]
        if min(h, w) < 1:
            raise ValueError(f"conv stages shrink the {self.input_shape} input to nothing")

    @property
    def feature_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of the last stage's output (what the dense layers flatten)."""
        c, h, w = self.input_shape
        for stage in self.stages:
            c = stage.channels
            h = (h + 2 * stage.padding - stage.kernel + 1) // stage.pool
            w = (w + 2 * stage.padding - stage.kernel + 1) // stage.pool
        return c, h, w

    @property
    def in_features(self) -> int:
        c, h, w = self.feature_shape
        return c * h * w

    def to_dict(self) -> dict:
        data = plain_dict(self)
        data["stages"] = [asdict(stage) for stage in self.stages]
        return {MODEL_KIND_KEY: CONV_KIND, **data}

    @classmethod
    def from_dict(cls, data: dict) -> ConvConfig:
        fields = {k: v for k, v in data.items() if k != MODEL_KIND_KEY}
        fields["input_shape"] = tuple(fields["input_shape"])
        fields["stages"] = tuple(ConvStage(**stage) for stage in fields["stages"])
        fields["dense"] = tuple(fields["dense"])
        return cls(**fields)


class PadConstant(nn.Module):
    """Pad every side of the two spatial dimensions with ``pixels`` copies of ``value``."""

    def __init__(self, pixels: int, value: float) -> None:
        super().__init__()
        self.pixels = int(pixels)
        self.value = float(value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.pixels
        return F.pad(x, (p, p, p, p), mode="constant", value=self.value)


def sign() -> QuantIdentity:
    """A binary activation (scale 1)."""
    return QuantIdentity(act_quant=BinaryActQuant)


def binary_conv(
    fan_in: int, fan_out: int, kernel: int, stride: int = 1, dilation: int = 1
) -> QuantConv2d:
    """A +-1-weight convolution without padding or bias (padding is an explicit -1 pad), its
    taps ``dilation`` apart (a dilated window spans dilation*(kernel-1)+1 pixels)."""
    return QuantConv2d(
        fan_in,
        fan_out,
        kernel,
        stride=stride,
        padding=0,
        dilation=dilation,
        bias=False,
        weight_quant=BinaryWeightQuant,
    )


def input_stage(mode: InputMode, levels: int, input_bits: int) -> tuple[nn.Module, float]:
    """The input stage of a conv net (bits ``sign(x - 0.5)``, or unsigned codes of ``levels``
    levels in ``input_bits`` bits) and the value its first convolution pads with."""
    if mode == InputMode.BINARY:
        return nn.Sequential(InputShift(0.5), sign()), -1.0
    stage = nn.Sequential(
        InputScale(levels - 1), QuantIdentity(act_quant=unsigned_input_quant(input_bits))
    )
    return stage, 0.0  # the value of input code 0


class BinaryConvNet(nn.Module):
    """A binary convolutional network; see the module docstring for the topology."""

    def __init__(self, config: ConvConfig) -> None:
        super().__init__()
        self.config = config
        self.input_stage, pad_value = input_stage(
            config.input_mode, config.levels, config.input_bits
        )
        blocks: list[nn.Module] = []
        channels = config.input_shape[0]
        for stage in config.stages:
            if stage.padding:
                blocks.append(PadConstant(stage.padding, pad_value))
            blocks.append(self._conv(channels, stage.channels, stage.kernel))
            if config.ci_magnitude:
                fan_in = channels * stage.kernel**2
                m, c = (grid_value(f, fan_in) for f in (config.ci_deadzone, config.ci_magnitude))
                blocks.append(ChannelInteraction(stage.channels, m, c))
            blocks += [nn.BatchNorm2d(stage.channels), sign()]
            if stage.pool > 1:
                blocks.append(nn.MaxPool2d(stage.pool))
            channels, pad_value = stage.channels, -1.0
        self.features = nn.Sequential(*blocks)
        widths = (config.in_features, *config.dense)
        dense: list[nn.Module] = []
        for fan_in, fan_out in zip(widths[:-1], widths[1:], strict=True):
            dense += [self._linear(fan_in, fan_out), nn.BatchNorm1d(fan_out), sign()]
        self.hidden = nn.Sequential(*dense)
        self.classifier = self._linear(widths[-1], config.classes)
        self.output_norm = nn.BatchNorm1d(config.classes)

    def _conv(self, fan_in: int, fan_out: int, kernel: int) -> nn.Module:
        c = self.config
        if c.dbf_bases:
            return DBFConv2d(fan_in, fan_out, kernel, c.dbf_bases, c.dbf_alpha_bits, c.dbf_codes)
        return binary_conv(fan_in, fan_out, kernel)

    def _linear(self, fan_in: int, fan_out: int) -> nn.Module:
        c = self.config
        if c.dbf_bases:
            return DBFLinear(fan_in, fan_out, c.dbf_bases, c.dbf_alpha_bits, c.dbf_codes)
        return binary_linear(fan_in, fan_out)

    def activations(self) -> list[nn.Module]:
        """The hidden sign activations (conv stages, then dense layers), in order."""
        return [
            m for part in (self.features, self.hidden) for m in part if isinstance(m, QuantIdentity)
        ]

    def _body(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(self.input_stage(x))
        return self.hidden(torch.flatten(x, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output_norm(self.classifier(self._body(x)))

    @torch.no_grad()
    def last_layer_dot(self, x: torch.Tensor) -> torch.Tensor:
        """The last layer's integer dot products (before the per-class affine), as float."""
        if isinstance(self.classifier, DBFLinear):  # without its power-of-two scales
            return self.classifier.integer_dot(self._body(x))
        return self.classifier(self._body(x))


def binary_linear(fan_in: int, fan_out: int) -> QuantLinear:
    """A +-1-weight dense layer without bias."""
    return QuantLinear(fan_in, fan_out, bias=False, weight_quant=BinaryWeightQuant)
