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
:func:`cell_geometry` lists each cell's channels and map sizes; the network's checks and the
search's hardware cost (:func:`hwbnn.search.cost.cell_shapes`) both read it.

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


def reduced_size(size: int) -> int:
    """A map side after a reduction cell: ``ceil(size / 2)``, the output of its stride-2 edges
    (a K x K window padded by K // 2 each side, K odd: ``(size + 2 (K // 2) - K) // 2 + 1``)
    and of the stride-2 1 x 1 preprocessing of the next cell's older input."""
    return (size + 1) // 2


@dataclass(frozen=True)
class CellGeometry:
    """Where one cell of a cell network runs. Its inputs, after their preprocessing, are
    ``channels`` x ``in_height`` x ``in_width`` (what a reduction cell's stride-2 edges read);
    its nodes are ``channels`` x ``height`` x ``width`` (smaller only in a reduction cell)."""

    kind: CellKind
    channels: int
    in_height: int
    in_width: int
    height: int
    width: int


def cell_geometry(
    layout: tuple[CellKind, ...], height: int, width: int, channels: int
) -> tuple[CellGeometry, ...]:
    """The geometry of each cell of ``layout`` on a ``height`` x ``width`` stem output (the
    stem keeps the input's size) with ``channels`` per node in the first cells: a reduction
    cell doubles the channels and maps each side through :func:`reduced_size`."""
    cells = []
    for kind in layout:
        in_height, in_width = height, width
        if kind is CellKind.REDUCE:
            channels *= 2
            height, width = reduced_size(height), reduced_size(width)
        cells.append(CellGeometry(kind, channels, in_height, in_width, height, width))
    return tuple(cells)


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
        reductions = [cell for cell in self.geometry if cell.kind is CellKind.REDUCE]
        for done, cell in enumerate(reductions):
            if min(cell.in_height, cell.in_width) < 2:
                raise ValueError(
                    f"reduction cell {done + 1} of {len(reductions)} gets a "
                    f"{cell.in_height}x{cell.in_width} map from {h}x{w} images; use at most "
                    f"{done} reduction cells or larger images"
                )
        last = self.geometry[-1]
        if min(last.height, last.width) < self.pool:
            raise ValueError(
                f"the {self.pool}x{self.pool} head pool does not fit the "
                f"{last.height}x{last.width} map"
            )

    @property
    def geometry(self) -> tuple[CellGeometry, ...]:
        """Each cell's channels and map sizes (:func:`cell_geometry`)."""
        _, h, w = self.input_shape
        return cell_geometry(self.genotype.layout, h, w, self.genotype.channels)

    @property
    def cell_channels(self) -> tuple[int, ...]:
        """The channels per node of each cell (doubled at each reduction cell)."""
        return tuple(cell.channels for cell in self.geometry)

    @property
    def cells_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of the last cell's output."""
        last = self.geometry[-1]
        return self.genotype.normal.steps * last.channels, last.height, last.width

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
    last = cell_geometry(genotype.layout, h, w, genotype.channels)[-1]
    return max(1, -(-min(last.height, last.width) // 4))
