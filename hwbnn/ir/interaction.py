"""The hardware IR's CI-BCNN channel interaction (Wang, Lu, Tao and Zhou, "Learning
Channel-wise Interactions for Binary Convolutional Neural Networks", CVPR 2019).

An :class:`Interaction` reads the integer accumulators ``Y`` of a convolution (C channels per
pixel, a hidden matrix-vector unit emitting them) and writes the interacted integers, per
pixel, with the DAG of signed edges ``i -> j`` (``signs[i, j] = s_ij`` in {-1, +1}, 0 for no
edge), the deadzone ``m >= 1`` and the magnitude ``c >= 1``:

    t(Y) = +1 if Y >= m,  -1 if Y <= -m,  0 otherwise
    Y^(0) = Y,   Y^(k)_j = Y^(k-1)_j + c * sum_i s_ij t(Y^(k-1)_i)   for the level-k channels j
    out_j = Y^(D)_j, or -Y^(D)_j where ``negate[j]``

The level of a channel is 0 without incoming edges, else 1 + the largest level of its
sources; ``D`` is the deepest level. Step ``k`` changes only the level-``k`` channels, whose
sources all have smaller levels and are final, so this is the rule of :mod:`hwbnn.nn.ci_bcnn`
(each edge reads the interacted value of its source). ``negate`` is lowering's: a channel whose
BatchNorm decreases is negated here, so the threshold after it compares with ">=" (as a
matrix-vector unit negates a weight row; the interaction itself needs the true ``Y``).

Value ranges: an input in ``[-B, B]`` gives ``|Y'_j| <= B + c * indegree(j)``, so the output
stream's range is ``[-R, R]`` with ``R = B + c * max indegree`` (:meth:`out_range`);
the threshold after the node is found over this range (|Y'| can exceed |Y|).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hwbnn.ir.edges import LayerKind, normalize_inputs


def channel_levels(signs: np.ndarray) -> np.ndarray:
    """Level of every channel (0: no incoming edge) of the DAG ``signs != 0``; ValueError
    naming a channel on a cycle."""
    adjacency = np.asarray(signs) != 0
    channels = len(adjacency)
    levels = np.zeros(channels, dtype=np.int64)
    pending = adjacency.sum(axis=0)  # incoming edges not yet settled
    ready = [j for j in range(channels) if pending[j] == 0]
    settled = 0
    while ready:
        i = ready.pop()
        settled += 1
        for j in np.flatnonzero(adjacency[i]):
            levels[j] = max(levels[j], levels[i] + 1)
            pending[j] -= 1
            if pending[j] == 0:
                ready.append(int(j))
    if settled != channels:
        stuck = int(np.flatnonzero(pending)[0])
        raise ValueError(f"the interaction graph has a cycle through channel {stuck}")
    return levels


@dataclass(frozen=True)
class Interaction:
    """One layer's channel interaction (see the module docstring): ``signs`` (C, C) int8,
    ``deadzone`` m, ``magnitude`` c, ``negate`` (C,) bool (None: no channel negated)."""

    name: str
    signs: np.ndarray = field(repr=False)
    deadzone: int
    magnitude: int
    negate: np.ndarray | None = field(default=None, repr=False)  # a bool array once built
    inputs: tuple[str, ...] = ()
    kind: LayerKind = field(default=LayerKind.INTERACTION, init=False)

    def __post_init__(self) -> None:
        normalize_inputs(self)
        signs = np.asarray(self.signs)
        if signs.ndim != 2 or signs.shape[0] != signs.shape[1] or signs.shape[0] < 1:
            raise ValueError(f"{self.name}: signs must be a square (C, C) matrix")
        if not np.isin(signs, (-1, 0, 1)).all() or np.diagonal(signs).any():
            raise ValueError(f"{self.name}: signs must be -1, 0 or +1, 0 on the diagonal")
        object.__setattr__(self, "signs", signs.astype(np.int8))
        negate = np.zeros(len(signs), dtype=bool) if self.negate is None else self.negate
        negate = np.asarray(negate)
        if negate.dtype != np.bool_ or negate.shape != (len(signs),):
            raise ValueError(f"{self.name}: negate must be a bool array of {len(signs)} channels")
        object.__setattr__(self, "negate", negate)
        object.__setattr__(self, "deadzone", int(self.deadzone))
        object.__setattr__(self, "magnitude", int(self.magnitude))
        if self.deadzone < 1 or self.magnitude < 1:
            raise ValueError(f"{self.name}: deadzone and magnitude must be >= 1")
        if not signs.any():
            raise ValueError(f"{self.name}: an interaction without edges (omit the node)")
        try:
            channel_levels(signs)
        except ValueError as exc:
            raise ValueError(f"{self.name}: {exc}") from None

    @property
    def channels(self) -> int:
        return int(self.signs.shape[0])

    @property
    def levels(self) -> np.ndarray:
        """Level of every channel (0..depth)."""
        return channel_levels(self.signs)

    @property
    def depth(self) -> int:
        """D: the deepest level, the number of steps (pipeline stages in hardware)."""
        return int(self.levels.max())

    @property
    def edges(self) -> int:
        return int(np.count_nonzero(self.signs))

    @property
    def max_indegree(self) -> int:
        return int(np.count_nonzero(self.signs, axis=0).max())

    def level_matrices(self) -> list[np.ndarray]:
        """``W_1 .. W_D`` (int64 (C, C)): ``W_k[j, i] = c * s_ij`` for level-k channels j."""
        levels = self.levels
        steps = []
        for k in range(1, self.depth + 1):
            weight = self.magnitude * self.signs.T.astype(np.int64)
            weight[levels != k] = 0
            steps.append(weight)
        return steps

    def out_range(self, low: int, high: int) -> tuple[int, int]:
        """The range ``[-R, R]`` of the output for inputs in ``[low, high]``."""
        bound = max(-low, high) + self.magnitude * self.max_indegree
        return -bound, bound
