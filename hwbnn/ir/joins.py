"""The hardware IR's graph node kinds: forks, joins and (side-input) thresholds.

Semantics (:mod:`hwbnn.ir.types` for streams and value kinds):

- :class:`Fork`: its one input stream, copied to each of its k >= 2 consumers (fork output i
  goes to the i-th consumer in :attr:`~hwbnn.ir.types.Network.layers` order).
- :class:`AddJoin`: the elementwise integer sum of >= 2 inputs of one shape; a bit counts as
  -1 or +1, an integer as itself. The output is an integer stream whose range is the sum of the
  inputs' ranges.
- :class:`Concat`: per pixel, the channels of input 0, then those of input 1, ... (inputs of
  the same pixels and value kind; integers of one width).
- :class:`Threshold`: ``out = out_base + #{j : x >= T[c, b, j]}`` for an integer element ``x``
  of channel ``c`` and the side bit ``b`` of the same element (0 without a side input). One
  step and ``out_base`` 0 give bits (the Bi-Real shortcut ``sign(BN(acc) + x)`` is
  ``acc >= T[c][x]``); otherwise integers in ``[out_base, out_base + N]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hwbnn.ir.edges import LayerKind, normalize_inputs


def _check_arity(name: str, inputs: tuple[str, ...], low: int, high: int | None) -> None:
    if len(inputs) < low or (high is not None and len(inputs) > high):
        wanted = f"{low}" if high == low else f"{low} or more" if high is None else f"{low}-{high}"
        raise ValueError(f"{name}: needs {wanted} inputs, has {len(inputs)} {list(inputs)}")


@dataclass(frozen=True)
class Fork:
    """One stream to k >= 2 consumers (a beat leaves when every consumer has taken it)."""

    name: str
    inputs: tuple[str, ...] = ()
    kind: LayerKind = field(default=LayerKind.FORK, init=False)

    def __post_init__(self) -> None:
        normalize_inputs(self)
        if len(self.inputs) > 1:
            raise ValueError(f"{self.name}: a fork reads one stream, not {list(self.inputs)}")


@dataclass(frozen=True)
class AddJoin:
    """Elementwise integer sum of >= 2 streams of one shape."""

    name: str
    inputs: tuple[str, ...]
    kind: LayerKind = field(default=LayerKind.ADD_JOIN, init=False)

    def __post_init__(self) -> None:
        normalize_inputs(self)
        _check_arity(self.name, self.inputs, 2, None)


@dataclass(frozen=True)
class Concat:
    """Channel concatenation of >= 2 streams with the same pixels."""

    name: str
    inputs: tuple[str, ...]
    kind: LayerKind = field(default=LayerKind.CONCAT, init=False)

    def __post_init__(self) -> None:
        normalize_inputs(self)
        _check_arity(self.name, self.inputs, 2, None)


@dataclass(frozen=True)
class Threshold:
    """Multi-step thresholds on an integer stream, optionally selected by a side bit.

    ``thresholds`` (C, S, N): C channels, S = 1 (no side input) or 2 (``inputs`` is
    ``(data, side)``), N steps, nondecreasing along the steps.
    """

    name: str
    thresholds: np.ndarray = field(repr=False)
    inputs: tuple[str, ...] = ()
    out_base: int = 0
    kind: LayerKind = field(default=LayerKind.THRESHOLD, init=False)

    def __post_init__(self) -> None:
        normalize_inputs(self)
        t = np.asarray(self.thresholds, dtype=np.int64)
        object.__setattr__(self, "thresholds", t)
        object.__setattr__(self, "out_base", int(self.out_base))
        if t.ndim != 3 or t.shape[1] not in (1, 2) or min(t.shape) < 1:
            raise ValueError(
                f"{self.name}: thresholds must have shape (channels, 1 or 2, steps), got {t.shape}"
            )
        if self.inputs and len(self.inputs) != t.shape[1]:
            raise ValueError(
                f"{self.name}: {t.shape[1]} threshold selections need {t.shape[1]} inputs "
                f"(data{', side' if t.shape[1] == 2 else ''}), got {list(self.inputs)}"
            )
        if np.any(np.diff(t, axis=2) < 0):
            raise ValueError(f"{self.name}: thresholds must be nondecreasing along the steps")

    @property
    def channels(self) -> int:
        return int(self.thresholds.shape[0])

    @property
    def has_side(self) -> bool:
        return int(self.thresholds.shape[1]) == 2

    @property
    def steps(self) -> int:
        return int(self.thresholds.shape[2])

    @property
    def binary_output(self) -> bool:
        return self.steps == 1 and self.out_base == 0

    @property
    def out_range(self) -> tuple[int, int]:
        return self.out_base, self.out_base + self.steps
