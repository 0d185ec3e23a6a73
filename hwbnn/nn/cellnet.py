"""The fixed network of a genotype (:mod:`hwbnn.nn.genotype`), the binary DARTS network that
``hwbnn train --genotype`` trains (BNAS, Chen et al., 2019; CP-NAS, Zhuo et al., CVPR 2020).

Topology, for a genotype with cells ``layout = (k_1, ..., k_L)``, ``channels`` C, ``steps`` S
and K classes::

    x (N, C_in, H, W) in [0, 1] -> input stage                       (as hwbnn.nn.conv)
      -> pad(p) -> Conv2d(+-1, 3 x 3) -> BN -> sign                  (stem: stem_channels)
      -> cell_1 -> ... -> cell_L
      -> MaxPool(pool) -> flatten -> Linear(+-1) -> BN (per-class affine)

The head's pool (:func:`head_pool`) shrinks the last cell's map to at most 4 x 4 (none for the
4 x 4 map of 8 x 8 digits after one reduction: pooling +-1 maps there costs accuracy; the
genotype of tests/e2e/test_digits_cells.py reaches 0.44 test accuracy in 4 epochs with a 2 x 2
pool, 0.82 without). A reduction cell needs a map of at least 2 x 2.

Cell ``i`` reads the outputs of cells ``i - 2`` and ``i - 1`` (the stem's for the first cells),
each through a :class:`~hwbnn.nn.cells.Preprocess` 1 x 1 binary convolution to ``C_i``
channels (stride 2 for the output of the cell before a reduction cell, at twice the
resolution); ``C_i`` doubles at each reduction cell, whose edges from its inputs have stride 2
(``H -> ceil(H / 2)``); a cell outputs ``S * C_i`` channels (:mod:`hwbnn.nn.cells`).

Input stage and stem padding as :mod:`hwbnn.nn.conv`: ``binary`` input pads the stem with -1,
``integer`` input (codes 0..levels-1) with 0. Every quantizer has scale 1, so every product and
node sum is an exact integer in float32.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from brevitas.nn import QuantIdentity
from torch import nn

from hwbnn.catalog import InputMode
from hwbnn.nn.cells import FixedCell
from hwbnn.nn.conv import (
    MODEL_KIND_KEY,
    PadConstant,
    binary_conv,
    binary_linear,
    check_image_input,
    input_stage,
    sign,
)
from hwbnn.nn.genotype import CellKind, Genotype
from hwbnn.nn.mlp import coerce_enums

CELLNET_KIND = "cellnet"
STEM_KERNEL = 3  # the stem: 3 x 3, padded with one pixel of the input's pad value


@dataclass(frozen=True)
class CellNetConfig:
    """Everything needed to rebuild a :class:`CellNet` (stored in checkpoints, the genotype's
    content included)."""

    input_shape: tuple[int, int, int]
    genotype: Genotype
    classes: int
    pool: int = 1  # the head's max pool (1: none; cellnet_config uses head_pool)
    input_mode: InputMode = InputMode.BINARY
    levels: int = 17
    input_bits: int = 5

    def __post_init__(self) -> None:
        coerce_enums(self, {"input_mode": InputMode})
        check_image_input(self.input_shape, self.levels, self.input_bits)
        if self.classes < 2 or self.pool < 1:
            raise ValueError(f"classes must be >= 2 and pool >= 1, got {self.classes}, {self.pool}")
        _, h, w = self.input_shape
        reductions = 0
        for kind in self.genotype.layout:
            if kind is CellKind.REDUCE:
                if min(h, w) < 2:
                    raise ValueError(
                        f"reduction cell {reductions + 1} of {self.genotype.layout.count(kind)} "
                        f"gets a {h}x{w} map from {self.input_shape[1]}x{self.input_shape[2]} "
                        f"images; use at most {reductions} reduction cells or larger images"
                    )
                reductions += 1
                h, w = (h + 1) // 2, (w + 1) // 2
        if min(h, w) < self.pool:
            raise ValueError(f"the {self.pool}x{self.pool} head pool does not fit the {h}x{w} map")

    @property
    def cell_channels(self) -> tuple[int, ...]:
        """The channels per node of each cell (doubled at each reduction cell)."""
        channels = self.genotype.channels
        out = []
        for kind in self.genotype.layout:
            if kind is CellKind.REDUCE:
                channels *= 2
            out.append(channels)
        return tuple(out)

    @property
    def cells_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of the last cell's output."""
        _, h, w = self.input_shape
        for kind in self.genotype.layout:
            if kind is CellKind.REDUCE:
                h, w = (h + 1) // 2, (w + 1) // 2
        return self.genotype.normal.steps * self.cell_channels[-1], h, w

    @property
    def feature_shape(self) -> tuple[int, int, int]:
        """(C, H, W) after the head's pool (what the classifier flattens)."""
        c, h, w = self.cells_shape
        return c, h // self.pool, w // self.pool

    @property
    def in_features(self) -> int:
        c, h, w = self.feature_shape
        return c * h * w

    def to_dict(self) -> dict:
        return {
            MODEL_KIND_KEY: CELLNET_KIND,
            "input_shape": list(self.input_shape),
            "genotype": self.genotype.to_dict(),
            "classes": self.classes,
            "pool": self.pool,
            "input_mode": self.input_mode.value,
            "levels": self.levels,
            "input_bits": self.input_bits,
        }

    @classmethod
    def from_dict(cls, data: dict) -> CellNetConfig:
        fields = {k: v for k, v in data.items() if k != MODEL_KIND_KEY}
        fields["input_shape"] = tuple(fields["input_shape"])
        fields["genotype"] = Genotype.from_dict(fields["genotype"])
        return cls(**fields)


class CellNet(nn.Module):
    """The binary network of a genotype; see the module docstring for the topology."""

    def __init__(self, config: CellNetConfig) -> None:
        super().__init__()
        self.config = config
        genotype = config.genotype
        self.input_stage, pad_value = input_stage(
            config.input_mode, config.levels, config.input_bits
        )
        self.stem = nn.Sequential(
            PadConstant(STEM_KERNEL // 2, pad_value),
            binary_conv(config.input_shape[0], genotype.stem_channels, STEM_KERNEL),
            nn.BatchNorm2d(genotype.stem_channels),
            sign(),
        )
        cells = []
        prev_prev = prev = genotype.stem_channels
        reduction_prev = False
        for kind, channels in zip(genotype.layout, config.cell_channels, strict=True):
            reduction = kind is CellKind.REDUCE
            cell = FixedCell(
                genotype.cell(kind), channels, prev_prev, prev, reduction, reduction_prev
            )
            cells.append(cell)
            prev_prev, prev, reduction_prev = prev, cell.out_channels, reduction
        self.cells = nn.ModuleList(cells)
        self.pool = nn.MaxPool2d(config.pool) if config.pool > 1 else nn.Identity()
        self.classifier = binary_linear(config.in_features, config.classes)
        self.output_norm = nn.BatchNorm1d(config.classes)

    def activations(self) -> list[nn.Module]:
        """The hidden sign activations: the stem's, then each cell's (in module order)."""
        return [
            m
            for part in (self.stem, self.cells)
            for m in part.modules()
            if isinstance(m, QuantIdentity)
        ]

    def _body(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(self.input_stage(x))
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return torch.flatten(self.pool(s1), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output_norm(self.classifier(self._body(x)))

    @torch.no_grad()
    def last_layer_dot(self, x: torch.Tensor) -> torch.Tensor:
        """The last layer's integer dot products (before the per-class affine), as float."""
        return self.classifier(self._body(x))


def head_pool(input_shape: tuple[int, int, int], genotype: Genotype) -> int:
    """The head's max pool: the smallest that leaves at most a 4 x 4 map of the last cell."""
    _, h, w = input_shape
    for kind in genotype.layout:
        if kind is CellKind.REDUCE:
            h, w = (h + 1) // 2, (w + 1) // 2
    return max(1, -(-min(h, w) // 4))
