"""Binary multilayer perceptrons (FINN's TFC/SFC/LFC shapes and smaller ones).

Topology, for hidden widths h_1..h_L and K classes::

    x (N, C, H, W) in [0, 1] -> flatten -> input stage -> [Linear(+-1) -> BN -> sign] x L
      -> Linear(+-1) -> BN (per-class affine) -> logits

Input stage:
- ``binary``: bit = sign(x - 0.5) (FINN's TFC-w1a1 input binarization),
- ``integer``: codes k = round(x * (levels - 1)) as unsigned integers of ``input_bits`` bits;
  the first layer then multiplies integer codes by +-1 weights (exact integer sums).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from brevitas.nn import QuantIdentity, QuantLinear
from torch import nn

from hwbnn.catalog import INPUT_MODES
from hwbnn.nn.quantizers import BinaryActQuant, BinaryWeightQuant, unsigned_input_quant


@dataclass(frozen=True)
class MLPConfig:
    """Everything needed to rebuild a :class:`BinaryMLP` (stored in checkpoints)."""

    input_shape: tuple[int, ...]
    hidden: tuple[int, ...]
    classes: int
    input_mode: str = "binary"
    levels: int = 17
    input_bits: int = 5

    def __post_init__(self) -> None:
        if self.input_mode not in INPUT_MODES:
            raise ValueError(f"input_mode must be one of {INPUT_MODES}, got {self.input_mode!r}")
        if not self.hidden or any(h < 1 for h in self.hidden):
            raise ValueError(f"hidden widths must be positive, got {self.hidden}")
        if self.levels > 2**self.input_bits:
            raise ValueError(f"{self.levels} input levels do not fit {self.input_bits} bits")

    @property
    def in_features(self) -> int:
        n = 1
        for d in self.input_shape:
            n *= d
        return n

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> MLPConfig:
        fields = dict(data)
        fields["input_shape"] = tuple(fields["input_shape"])
        fields["hidden"] = tuple(fields["hidden"])
        return cls(**fields)


class InputScale(nn.Module):
    """Multiply by a constant: float pixel values k/(levels-1) back to integer-valued codes."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = float(factor)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor


class InputShift(nn.Module):
    """Subtract a constant threshold before binarization."""

    def __init__(self, threshold: float) -> None:
        super().__init__()
        self.threshold = float(threshold)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - self.threshold


class BinaryMLP(nn.Module):
    """A binary MLP; see the module docstring for the topology."""

    def __init__(self, config: MLPConfig) -> None:
        super().__init__()
        self.config = config
        if config.input_mode == "binary":
            self.input_stage = nn.Sequential(
                InputShift(0.5), QuantIdentity(act_quant=BinaryActQuant)
            )
        else:
            self.input_stage = nn.Sequential(
                InputScale(config.levels - 1),
                QuantIdentity(act_quant=unsigned_input_quant(config.input_bits)),
            )
        widths = (config.in_features, *config.hidden)
        blocks: list[nn.Module] = []
        for fan_in, fan_out in zip(widths[:-1], widths[1:], strict=True):
            blocks += [
                QuantLinear(fan_in, fan_out, bias=False, weight_quant=BinaryWeightQuant),
                nn.BatchNorm1d(fan_out),
                QuantIdentity(act_quant=BinaryActQuant),
            ]
        self.hidden = nn.Sequential(*blocks)
        self.classifier = QuantLinear(
            widths[-1], config.classes, bias=False, weight_quant=BinaryWeightQuant
        )
        self.output_norm = nn.BatchNorm1d(config.classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input_stage(torch.flatten(x, 1))
        x = self.hidden(x)
        return self.output_norm(self.classifier(x))

    @torch.no_grad()
    def last_layer_dot(self, x: torch.Tensor) -> torch.Tensor:
        """The last layer's integer dot products (before the per-class affine), as float."""
        x = self.hidden(self.input_stage(torch.flatten(x, 1)))
        return self.classifier(x)
