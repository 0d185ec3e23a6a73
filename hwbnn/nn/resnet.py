"""Binary residual networks with binary shortcuts (Bi-Real Net style, Liu et al., ECCV 2018).

Topology, for a stem stage, residual blocks ``b_1..b_L``, dense widths ``h_1..h_M`` and K
classes::

    x (N, C, H, W) in [0, 1] -> input stage
      -> pad(p) -> Conv2d(+-1, k x k) -> BN -> sign -> [MaxPool(q)]          (stem)
      -> [residual block] x L
      -> MaxPool(pool) -> flatten -> [Linear(+-1) -> BN -> sign] x M
      -> Linear(+-1) -> BN (per-class affine)

Residual block with input ``x`` in {-1, +1} (the output of a sign) and stride ``s``::

    main     = BN(Conv2d(+-1, 3 x 3, stride s)(pad(x, -1, 1)))
    shortcut = x                                   (identity: s = 1, same channels)
             | sign(BN(Conv2d(+-1, 1 x 1, stride s)(x)))   (conv: any s, any channels)
             | MaxPool(2)(x)                       (pool: s = 2, same channels)
    out      = sign(main + shortcut)

The shortcut is always a +-1 tensor, so ``out[c] = sign(BN_c(acc) + b)`` with ``b`` in {-1, +1}
is ``acc >= T[c][b]`` (or ``<=`` for a negative BN scale): two integer thresholds per channel,
the side-input threshold of the graph IR. ``x`` is read twice (by the main branch's ``Pad`` and
by the shortcut), which the exported QONNX graph shows as one tensor with two consumers.

Input stage, padding and quantizers as :mod:`hwbnn.nn.conv`: ``binary`` input gives bits
sign(x - 0.5) and the stem pads with -1; ``integer`` input gives codes 0..levels-1 and the stem
pads with 0 (code 0). Every quantizer has scale 1, so every convolution and dense product is an
exact integer in float32.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum

import torch
from brevitas.nn import QuantIdentity
from torch import nn

from hwbnn.catalog import InputMode
from hwbnn.nn.conv import (
    MODEL_KIND_KEY,
    ConvStage,
    PadConstant,
    binary_conv,
    binary_linear,
    check_image_input,
    input_stage,
    sign,
)
from hwbnn.nn.mlp import coerce_enums, plain_dict

RESNET_KIND = "resnet"
MAIN_KERNEL = 3  # every block's main branch: 3 x 3, padded with one pixel of -1


class Shortcut(StrEnum):
    """The shortcut branch of a residual block (see the module docstring)."""

    IDENTITY = "identity"
    CONV = "conv"
    POOL = "pool"


@dataclass(frozen=True)
class ResBlock:
    """One residual block: ``channels`` outputs, main-branch stride ``stride`` (1 or 2) and the
    shortcut kind (identity needs stride 1 and unchanged channels; pool needs stride 2 and
    unchanged channels; conv fits any)."""

    channels: int
    stride: int = 1
    shortcut: Shortcut = Shortcut.IDENTITY

    def __post_init__(self) -> None:
        coerce_enums(self, {"shortcut": Shortcut})
        if self.channels < 1 or self.stride not in (1, 2):
            raise ValueError(f"residual block needs channels >= 1 and stride 1 or 2, got {self}")
        if self.shortcut == Shortcut.IDENTITY and self.stride != 1:
            raise ValueError("an identity shortcut needs stride 1 (use conv or pool to downsample)")
        if self.shortcut == Shortcut.POOL and self.stride != 2:
            raise ValueError("a max-pool shortcut downsamples: it needs stride 2")

    def out_size(self, h: int, w: int) -> tuple[int, int]:
        """Spatial size of the block's output for an ``h`` x ``w`` input."""
        return (h - 1) // self.stride + 1, (w - 1) // self.stride + 1


@dataclass(frozen=True)
class ResNetConfig:
    """Everything needed to rebuild a :class:`BinaryResNet` (stored in checkpoints)."""

    input_shape: tuple[int, int, int]
    stem: ConvStage
    blocks: tuple[ResBlock, ...]
    dense: tuple[int, ...]
    classes: int
    pool: int = 2
    input_mode: InputMode = InputMode.BINARY
    levels: int = 17
    input_bits: int = 5

    def __post_init__(self) -> None:
        coerce_enums(self, {"input_mode": InputMode})
        check_image_input(self.input_shape, self.levels, self.input_bits)
        if not self.blocks:
            raise ValueError("a residual net needs at least one residual block")
        if any(h < 1 for h in self.dense) or self.classes < 2 or self.pool < 1:
            raise ValueError(f"dense widths, classes and pool must be positive, got {self}")
        c, h, w = self.stem_shape
        if min(h, w) < 1:
            raise ValueError(f"the stem shrinks the {self.input_shape} input to nothing")
        for i, block in enumerate(self.blocks):
            if block.shortcut != Shortcut.CONV and block.channels != c:
                raise ValueError(
                    f"block {i}: a {block.shortcut.value} shortcut keeps the {c} channels, the "
                    f"block has {block.channels} (use a conv shortcut)"
                )
            if block.shortcut == Shortcut.POOL and (h % 2 or w % 2):
                raise ValueError(f"block {i}: a max-pool shortcut needs an even size, got {h}x{w}")
            c, (h, w) = block.channels, block.out_size(h, w)
        if min(h, w) < self.pool:
            raise ValueError(f"the {self.pool}x{self.pool} pool does not fit the {h}x{w} map")

    @property
    def stem_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of the stem's output."""
        _, h, w = self.input_shape
        s = self.stem
        grow = 2 * s.padding - s.kernel + 1
        return s.channels, (h + grow) // s.pool, (w + grow) // s.pool

    @property
    def feature_shape(self) -> tuple[int, int, int]:
        """(C, H, W) after the last block and the pool (what the dense layers flatten)."""
        c, h, w = self.stem_shape
        for block in self.blocks:
            c, (h, w) = block.channels, block.out_size(h, w)
        return c, h // self.pool, w // self.pool

    @property
    def in_features(self) -> int:
        c, h, w = self.feature_shape
        return c * h * w

    def to_dict(self) -> dict:
        data = plain_dict(self)
        data["stem"] = asdict(self.stem)
        data["blocks"] = [{**asdict(b), "shortcut": b.shortcut.value} for b in self.blocks]
        return {MODEL_KIND_KEY: RESNET_KIND, **data}

    @classmethod
    def from_dict(cls, data: dict) -> ResNetConfig:
        fields = {k: v for k, v in data.items() if k != MODEL_KIND_KEY}
        fields["input_shape"] = tuple(fields["input_shape"])
        fields["stem"] = ConvStage(**fields["stem"])
        fields["blocks"] = tuple(ResBlock(**block) for block in fields["blocks"])
        fields["dense"] = tuple(fields["dense"])
        return cls(**fields)


class ResidualBlock(nn.Module):
    """``sign(BN(conv3x3(pad(x, -1))) + shortcut(x))`` for a +-1 input ``x``."""

    def __init__(self, in_channels: int, block: ResBlock) -> None:
        super().__init__()
        self.block = block
        self.pad = PadConstant(MAIN_KERNEL // 2, -1.0)
        self.conv = binary_conv(in_channels, block.channels, MAIN_KERNEL, block.stride)
        self.norm = nn.BatchNorm2d(block.channels)
        self.shortcut: nn.Module
        if block.shortcut == Shortcut.CONV:
            self.shortcut = nn.Sequential(
                binary_conv(in_channels, block.channels, 1, block.stride),
                nn.BatchNorm2d(block.channels),
                sign(),
            )
        elif block.shortcut == Shortcut.POOL:
            self.shortcut = nn.MaxPool2d(2)
        else:
            self.shortcut = nn.Identity()
        self.act = sign()

    def activations(self) -> list[nn.Module]:
        """The block's signs in forward order (the conv shortcut's, then the output's)."""
        inner = [m for m in self.shortcut.modules() if isinstance(m, QuantIdentity)]
        return [*inner, self.act]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        main = self.norm(self.conv(self.pad(x)))
        return self.act(main + self.shortcut(x))


class BinaryResNet(nn.Module):
    """A binary residual network; see the module docstring for the topology."""

    def __init__(self, config: ResNetConfig) -> None:
        super().__init__()
        self.config = config
        self.input_stage, pad_value = input_stage(
            config.input_mode, config.levels, config.input_bits
        )
        stem = config.stem
        layers: list[nn.Module] = []
        if stem.padding:
            layers.append(PadConstant(stem.padding, pad_value))
        layers += [binary_conv(config.input_shape[0], stem.channels, stem.kernel)]
        layers += [nn.BatchNorm2d(stem.channels), sign()]
        if stem.pool > 1:
            layers.append(nn.MaxPool2d(stem.pool))
        self.stem = nn.Sequential(*layers)
        blocks = []
        channels = stem.channels
        for block in config.blocks:
            blocks.append(ResidualBlock(channels, block))
            channels = block.channels
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.MaxPool2d(config.pool) if config.pool > 1 else nn.Identity()
        widths = (config.in_features, *config.dense)
        dense: list[nn.Module] = []
        for fan_in, fan_out in zip(widths[:-1], widths[1:], strict=True):
            dense += [binary_linear(fan_in, fan_out), nn.BatchNorm1d(fan_out), sign()]
        self.hidden = nn.Sequential(*dense)
        self.classifier = binary_linear(widths[-1], config.classes)
        self.output_norm = nn.BatchNorm1d(config.classes)

    def activations(self) -> list[nn.Module]:
        """The hidden sign activations in forward order: the stem's, each block's (a conv
        shortcut's sign, then the block output's), then the dense layers'."""
        stem = [m for m in self.stem if isinstance(m, QuantIdentity)]
        blocks = [
            m
            for block in self.blocks
            if isinstance(block, ResidualBlock)
            for m in block.activations()
        ]
        dense = [m for m in self.hidden if isinstance(m, QuantIdentity)]
        return stem + blocks + dense

    def _body(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.blocks(self.stem(self.input_stage(x))))
        return self.hidden(torch.flatten(x, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output_norm(self.classifier(self._body(x)))

    @torch.no_grad()
    def last_layer_dot(self, x: torch.Tensor) -> torch.Tensor:
        """The last layer's integer dot products (before the per-class affine), as float."""
        return self.classifier(self._body(x))
