"""The configuration of one ``hwbnn search`` (a frozen dataclass, saved with every checkpoint
so that a resumed search is the same search)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import Any

from hwbnn.errors import ConfigError
from hwbnn.nn.genotype import OPS, CellKind
from hwbnn.search.reduce import abandon_epochs


class Method(StrEnum):
    BNAS = "bnas"
    CPNAS = "cpnas"


@dataclass(frozen=True)
class SearchConfig:
    """What a search does; the defaults are the small configuration for digits (8 x 8).

    ``k``: PC-DARTS' partial-channel divisor; ``warmup``/``every``: the reduction schedule
    (:func:`hwbnn.search.reduce.abandon_epochs`); ``cost_weight``: the weight of the hardware
    term, the LUTs of :mod:`hwbnn.search.cost` at ``cycles`` per frame; ``cp_weight``,
    ``centre_weight``, ``indicator_beta``: CP-NAS' lambda, mu and beta.
    """

    method: Method = Method.BNAS
    dataset: str = "digits"
    seed: int = 0
    epochs: int = 14
    warmup: int = 3
    every: int = 2
    channels: int = 8
    stem_channels: int = 16
    steps: int = 2
    layout: tuple[CellKind, ...] = (CellKind.NORMAL, CellKind.REDUCE, CellKind.NORMAL)
    k: int = 2
    batch_size: int = 64
    lr: float = 3e-3
    arch_lr: float = 3e-3
    arch_weight_decay: float = 1e-3
    val_fraction: float = 0.5
    cost_weight: float = 0.0
    cycles: int = 1024
    cp_weight: float = 1e-3
    centre_weight: float = 1e-2
    indicator_beta: float = 0.5
    sample_rounds: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", Method(self.method))
        object.__setattr__(self, "layout", tuple(CellKind(k) for k in self.layout))
        positive = ("epochs", "warmup", "every", "channels", "stem_channels", "steps", "k")
        for name in (*positive, "batch_size", "cycles", "sample_rounds"):
            if getattr(self, name) < 1:
                raise ConfigError(f"search: --{name.replace('_', '-')} must be >= 1")
        if self.channels % self.k:
            raise ConfigError(
                f"search: --channels {self.channels} must be a multiple of the partial-channel "
                f"divisor K={self.k}"
            )
        if self.cost_weight < 0:
            raise ConfigError("search: --cost-weight must be >= 0")
        if not 0.0 < self.val_fraction < 1.0:
            raise ConfigError("search: the validation fraction must be in (0, 1)")
        if not 0.0 <= self.indicator_beta <= 1.0:
            raise ConfigError("search: the CP-NAS indicator's beta must be in [0, 1]")
        if CellKind.REDUCE not in self.layout or CellKind.NORMAL not in self.layout:
            raise ConfigError("search: the layout needs a normal and a reduction cell")
        last = self.reductions[-1]
        if self.epochs < last:
            raise ConfigError(
                f"search: --epochs {self.epochs} ends before the last reduction (after epoch "
                f"{last} with warmup {self.warmup} and every {self.every}); use --epochs {last}"
            )

    @property
    def reductions(self) -> list[int]:
        return abandon_epochs(len(OPS), self.warmup, self.every)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["method"] = self.method.value
        data["layout"] = [k.value for k in self.layout]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SearchConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})
