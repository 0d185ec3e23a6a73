"""Genotypes: the binary cell architectures that ``hwbnn search`` finds and ``hwbnn train
--genotype`` trains (the DARTS cell of Liu et al., ICLR 2019, with binary operations only).

A cell reads two inputs, node 0 (the output of the cell before the previous one) and node 1
(the previous cell's output), both preprocessed to ``channels`` channels, and computes
``steps`` intermediate nodes 2, 3, ..., each the quantized sum of its incoming edges::

    node_j = sign(BN(sum over edges (i, op) of node j: op(node_i)))     (i < j)

Every operation maps a +-1 image to a +-1 image (:class:`Op`); ``zero`` edges are dropped
from a genotype. The cell's output is the channel concatenation of its intermediate nodes
(``steps * channels`` channels). A reduction cell applies its operations on the edges from
nodes 0 and 1 with stride 2. ``layout`` lists the cells in order, ``"normal"`` or
``"reduce"``.

The file form (``genotype.json``) is :meth:`Genotype.to_dict`: a format tag, the two cells as
lists of nodes, each a list of ``[op, source]`` edges, and the network's sizes; it round-trips
exactly through :meth:`Genotype.from_dict`, which rejects what it cannot build with a one-line
error naming the field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from hwbnn.errors import ConfigError

GENOTYPE_FORMAT = "hwbnn-genotype/1"


class Op(StrEnum):
    """The operations of the binary search space; each maps +-1 maps to +-1 maps.

    - ``conv_3x3``, ``conv_5x5``: binary convolution (+-1 weights), padded with -1, then BN and
      sign; ``dil_conv_3x3``: the same 3 x 3 with dilation 2 (a 5 x 5 field, padding 2).
    - ``max_pool_3x3``: max of +-1 values over a 3 x 3 window padded with -1 (an OR of bits).
    - ``avg_pool_3x3``: the sign of the mean over a 3 x 3 window padded with -1, i.e. the
      majority of the 9 values (a window popcount against 5).
    - ``identity``: the input (with stride 2 in a reduction cell: every second pixel of every
      second row).
    - ``zero``: no edge.
    """

    CONV_3X3 = "conv_3x3"
    CONV_5X5 = "conv_5x5"
    DIL_CONV_3X3 = "dil_conv_3x3"
    MAX_POOL_3X3 = "max_pool_3x3"
    AVG_POOL_3X3 = "avg_pool_3x3"
    IDENTITY = "identity"
    ZERO = "zero"


#: The search space in a fixed order (the order of the architecture weights of every edge).
OPS: tuple[Op, ...] = tuple(Op)


class CellKind(StrEnum):
    NORMAL = "normal"
    REDUCE = "reduce"


@dataclass(frozen=True)
class Edge:
    """One kept edge: ``op`` applied to node ``source`` (0, 1: the cell inputs)."""

    op: Op
    source: int


@dataclass(frozen=True)
class Cell:
    """The intermediate nodes of a cell, each the tuple of its incoming edges."""

    nodes: tuple[tuple[Edge, ...], ...]

    def __post_init__(self) -> None:
        if not self.nodes:
            raise ValueError("a cell needs at least one intermediate node")
        for j, edges in enumerate(self.nodes, start=2):
            if not edges:
                raise ValueError(f"node {j} has no incoming edge")
            for edge in edges:
                if edge.op is Op.ZERO:
                    raise ValueError(f"node {j}: zero edges are left out of a genotype")
                if not 0 <= edge.source < j:
                    raise ValueError(f"node {j}: source {edge.source} is not one of 0..{j - 1}")

    @property
    def steps(self) -> int:
        return len(self.nodes)


@dataclass(frozen=True)
class Genotype:
    """A found architecture and the sizes of the network built from it."""

    normal: Cell
    reduce: Cell
    layout: tuple[CellKind, ...]
    channels: int  # per intermediate node of the first cell (doubled at each reduction)
    stem_channels: int
    search: dict[str, Any] = field(default_factory=dict, compare=False)  # method, seed, time

    def __post_init__(self) -> None:
        object.__setattr__(self, "layout", tuple(CellKind(k) for k in self.layout))
        if not self.layout:
            raise ValueError("layout needs at least one cell")
        if self.normal.steps != self.reduce.steps:
            raise ValueError("normal and reduction cells need the same number of nodes")
        if self.channels < 1 or self.stem_channels < 1:
            raise ValueError("channels and stem_channels must be positive")

    def cell(self, kind: CellKind) -> Cell:
        return self.normal if kind is CellKind.NORMAL else self.reduce

    def to_dict(self) -> dict[str, Any]:
        def cell(c: Cell) -> list[list[list[object]]]:
            return [[[e.op.value, e.source] for e in edges] for edges in c.nodes]

        return {
            "format": GENOTYPE_FORMAT,
            "normal": cell(self.normal),
            "reduce": cell(self.reduce),
            "layout": [k.value for k in self.layout],
            "channels": self.channels,
            "stem_channels": self.stem_channels,
            "search": dict(self.search),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Genotype:
        if data.get("format") != GENOTYPE_FORMAT:
            raise ValueError(f"format is {data.get('format')!r}, expected {GENOTYPE_FORMAT!r}")

        def cell(name: str) -> Cell:
            try:
                nodes = tuple(
                    tuple(Edge(Op(op), int(source)) for op, source in edges) for edges in data[name]
                )
            except (KeyError, TypeError, ValueError) as exc:
                message = f"{name}: not a list of nodes of [op, source] edges ({exc})"
                raise ValueError(message) from None
            try:
                return Cell(nodes)
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None

        try:
            return cls(
                normal=cell("normal"),
                reduce=cell("reduce"),
                layout=tuple(data["layout"]),
                channels=int(data["channels"]),
                stem_channels=int(data["stem_channels"]),
                search=dict(data.get("search", {})),
            )
        except KeyError as exc:
            raise ValueError(f"missing field {exc}") from None

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")


def load_genotype(path: Path) -> Genotype:
    """The genotype in ``path`` (a ``genotype.json``).

    Raises:
        ConfigError: the file is missing, not JSON, or not a buildable genotype.
    """
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the genotype ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a genotype is a JSON object")
    try:
        return Genotype.from_dict(data)
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None
