"""Binary multilayer perceptrons (FINN's TFC/SFC/LFC shapes and smaller ones).

Topology, for hidden widths h_1..h_L and K classes::

    x (N, C, H, W) in [0, 1] -> flatten -> input stage -> [Linear(+-1) -> BN -> sign] x L
      -> Linear(+-1) -> BN (per-class affine) -> logits

Input stage:
- ``binary``: bit = sign(x - 0.5) (FINN's TFC-w1a1 input binarization),
- ``integer``: codes k = round(x * (levels - 1)) as unsigned integers of ``input_bits`` bits;
  the first layer then multiplies integer codes by +-1 weights (exact integer sums).

Options used by the training methods of :mod:`hwbnn.train.methods` (defaults give the model
above, module for module):

- ``scaling``: a per-output-channel scale after every binary Linear, applied as a ``Mul`` after
  the exact +-1 MatMul so that lowering folds it into the thresholds (and, after the last layer,
  into the per-class affine): ``"mean_abs"`` is XNOR-Net's ``alpha_c = mean_j |W_cj|`` of the
  latent weights (Rastegari et al., ECCV 2016), ``"learned"`` a trained parameter per channel
  (XNOR-Net++, Bulat and Tzimiropoulos, BMVC 2019).
- ``norm``: the normalisation of hidden layers after Sari et al. ("How does batch normalization
  help binary training?", 2019): ``"batch"`` (BatchNorm), ``"center"`` (``x - mu + beta``: mean
  subtraction with a learned bias, no division by the standard deviation) or ``"none"``. The
  output layer keeps its BatchNorm (the per-class affine of the logits) in every variant.
- ``dbf_bases > 0``: every binary Linear is a Deterministic Binary Filter layer
  (:mod:`hwbnn.nn.dbf`, Tseng et al., IJCAI 2018): ``dbf_bases`` fixed +-1 ``dbf_codes`` bases,
  then a combination with ``dbf_alpha_bits``-bit integer coefficients (0: plain +-1 weights);
  a ``scaling`` scale follows the combination (``mean_abs``: the mean ``|alpha_c|``).
- ``precision="float"``: the full-precision baseline of the same topology and input stage:
  float weights and ReLU instead of sign in the hidden layers. It is not deployable (lowering
  rejects its float weights); it exists to measure the accuracy gap.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum, StrEnum

import torch
from brevitas.nn import QuantIdentity, QuantLinear
from torch import nn

from hwbnn.catalog import InputMode, parse_enum
from hwbnn.nn.dbf import BasisCodes, DBFLinear, check_dbf
from hwbnn.nn.quantizers import BinaryActQuant, BinaryWeightQuant, unsigned_input_quant


class Scaling(StrEnum):
    """Per-output-channel scale after every binary Linear (see the module docstring)."""

    NONE = "none"
    MEAN_ABS = "mean_abs"  # XNOR-Net's mean |W_c|
    LEARNED = "learned"  # XNOR-Net++'s trained gamma_c


class Norm(StrEnum):
    """Normalisation of the hidden layers (Sari et al.)."""

    BATCH = "batch"
    CENTER = "center"
    NONE = "none"


class Precision(StrEnum):
    """Binary weights and signs, or the full-precision baseline."""

    BINARY = "binary"
    FLOAT = "float"


def coerce_enums(config: object, kinds: dict[str, type[Enum]]) -> None:
    """Turn the string fields of the frozen dataclass ``config`` named in ``kinds`` into their
    Enum members (ValueError listing the valid strings otherwise); configs read from
    checkpoints and JSON hold the strings."""
    for name, kind in kinds.items():
        object.__setattr__(config, name, parse_enum(kind, getattr(config, name), name))


def plain_dict(config: object) -> dict:
    """``asdict(config)`` with tuples as lists and Enum members as their strings (what
    checkpoints loadable with ``weights_only=True`` and JSON files hold)."""
    out = {}
    for key, value in asdict(config).items():  # type: ignore[call-overload]
        if isinstance(value, Enum):
            value = value.value
        out[key] = list(value) if isinstance(value, tuple) else value
    return out


@dataclass(frozen=True)
class MLPConfig:
    """Everything needed to rebuild a :class:`BinaryMLP` (stored in checkpoints)."""

    input_shape: tuple[int, ...]
    hidden: tuple[int, ...]
    classes: int
    input_mode: InputMode = InputMode.BINARY
    levels: int = 17
    input_bits: int = 5
    scaling: Scaling = Scaling.NONE
    norm: Norm = Norm.BATCH
    precision: Precision = Precision.BINARY
    dbf_bases: int = 0
    dbf_codes: BasisCodes = BasisCodes.OVSF
    dbf_alpha_bits: int = 4

    def __post_init__(self) -> None:
        coerce_enums(
            self,
            {
                "input_mode": InputMode,
                "scaling": Scaling,
                "norm": Norm,
                "precision": Precision,
                "dbf_codes": BasisCodes,
            },
        )
        if self.precision == Precision.FLOAT and self.scaling != Scaling.NONE:
            raise ValueError("a full-precision model has no binary layers to scale")
        check_dbf(self.dbf_bases, self.dbf_alpha_bits)
        if self.dbf_bases and self.precision == Precision.FLOAT:
            raise ValueError("a full-precision model has no binary layers to build from bases")
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
        return plain_dict(self)

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


class MeanAbsScale(nn.Module):
    """XNOR-Net's per-output-channel scale: ``y_c = x_c * mean_j |W_cj|`` of a Linear's latent
    weights (gradient flows into W through the mean as well, as in Rastegari et al.)."""

    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        self._linear = (linear,)  # a tuple: no second registration of the Linear's parameters

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self._linear[0].weight.abs().mean(dim=1)


class LearnedScale(nn.Module):
    """XNOR-Net++'s learned per-output-channel scale ``y_c = x_c * gamma_c``."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class MeanCenter(nn.Module):
    """Centering-only normalisation: ``y = x - mu + beta`` with ``mu`` the batch mean in training
    and its running average (momentum 0.1, as BatchNorm) in eval mode."""

    def __init__(self, channels: int, momentum: float = 0.1) -> None:
        super().__init__()
        self.momentum = momentum
        self.bias = nn.Parameter(torch.zeros(channels))
        self.register_buffer("running_mean", torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            mean = x.mean(dim=0)
            with torch.no_grad():
                self.get_buffer("running_mean").lerp_(mean, self.momentum)
        else:
            mean = self.get_buffer("running_mean")
        return x - mean + self.bias


def _scale(config: MLPConfig, linear: nn.Module) -> list[nn.Module]:
    if isinstance(linear, DBFLinear):  # the scale follows the combination (weights alpha)
        linear = linear.combine
    assert isinstance(linear, nn.Linear)
    if config.scaling == Scaling.MEAN_ABS:
        return [MeanAbsScale(linear)]
    if config.scaling == Scaling.LEARNED:
        return [LearnedScale(linear.out_features)]
    return []


def _norm(config: MLPConfig, channels: int) -> list[nn.Module]:
    if config.norm == Norm.BATCH:
        return [nn.BatchNorm1d(channels)]
    if config.norm == Norm.CENTER:
        return [MeanCenter(channels)]
    return []


class BinaryMLP(nn.Module):
    """A binary MLP; see the module docstring for the topology."""

    def __init__(self, config: MLPConfig) -> None:
        super().__init__()
        self.config = config
        if config.input_mode == InputMode.BINARY:
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
            linear = self._linear(fan_in, fan_out)
            blocks += [linear, *_scale(config, linear), *_norm(config, fan_out), self._act()]
        self.hidden = nn.Sequential(*blocks)
        self.classifier = self._linear(widths[-1], config.classes)
        scales = _scale(config, self.classifier)
        if scales:
            self.output_scale = scales[0]
        self.output_norm = nn.BatchNorm1d(config.classes)

    def _linear(self, fan_in: int, fan_out: int) -> nn.Module:
        config = self.config
        if config.precision == Precision.FLOAT:
            return nn.Linear(fan_in, fan_out, bias=False)
        if config.dbf_bases:
            return DBFLinear(
                fan_in, fan_out, config.dbf_bases, config.dbf_alpha_bits, config.dbf_codes
            )
        return QuantLinear(fan_in, fan_out, bias=False, weight_quant=BinaryWeightQuant)

    def _act(self) -> nn.Module:
        if self.config.precision == Precision.FLOAT:
            return nn.ReLU()
        return QuantIdentity(act_quant=BinaryActQuant)

    def activations(self) -> list[nn.Module]:
        """The hidden layers' activation modules (sign, or ReLU at full precision), in order;
        their inputs are the pre-activations that distribution losses and distillation read."""
        kind = nn.ReLU if self.config.precision == Precision.FLOAT else QuantIdentity
        return [m for m in self.hidden if isinstance(m, kind)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input_stage(torch.flatten(x, 1))
        x = self.classifier(self.hidden(x))
        if hasattr(self, "output_scale"):
            x = self.output_scale(x)
        return self.output_norm(x)

    @torch.no_grad()
    def last_layer_dot(self, x: torch.Tensor) -> torch.Tensor:
        """The last layer's integer dot products (before the per-class affine), as float."""
        x = self.hidden(self.input_stage(torch.flatten(x, 1)))
        if isinstance(self.classifier, DBFLinear):  # without its power-of-two scales
            return self.classifier.integer_dot(x)
        return self.classifier(x)
