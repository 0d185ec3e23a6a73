"""CI-BCNN channel interactions (Wang, Lu, Tao and Zhou, "Learning Channel-wise Interactions for
Binary Convolutional Neural Networks", CVPR 2019).

A binary convolution's output channel ``j`` at one pixel is an exact integer dot product ``Y_j``.
An interaction graph over the layer's ``C`` output channels is a directed acyclic graph of signed
edges ``i -> j`` (sign ``s_ij`` in {-1, +1}); with a deadzone ``m >= 1`` and a magnitude
``c >= 1`` (integers on the dot-product grid) every edge adds ``s_ij * c * t(Y'_i)`` to ``Y_j``:

    t(Y) = +1 if Y >= m,  -1 if Y <= -m,  0 otherwise            (the ternary deadzone)
    Y'_j = Y_j + c * sum_{i -> j} s_ij * t(Y'_i)                  (in topological order)

and ``Y'_j`` (not ``Y_j``) goes through the layer's BatchNorm and sign. ``t`` reads the
*interacted* value ``Y'_i`` of the source: the authors' code (``BinarizeConv2d.forward`` in
``models/binarized_modules.py`` of the repository ZiweiWangTHU/CI-BCNN) applies the edges one
after another in place on the convolution's output, so an edge reads its source after the edges
applied before it; applied in topological order, that is the fully interacted ``Y'_i``, and the
rule is well defined whatever topological order is taken (``Y'_i`` depends only on ``i``'s
ancestors). All values stay integers: ``Y'`` is exact in float32.

Levels: the *level* of a channel is 0 without incoming edges, else 1 + the largest level of its
sources. With ``W_k[j, i] = c * s_ij`` for the edges into the channels of level ``k`` (zero rows
elsewhere), the rule is ``D`` (the deepest level) steps of one fixed integer matrix each:

    Y^(0) = Y,   Y^(k) = Y^(k-1) + W_k t(Y^(k-1))   (k = 1..D),   Y' = Y^(D)

(step ``k`` changes only level-``k`` channels, whose sources all have smaller, final levels).
This is what torch computes here and what the export writes (:mod:`hwbnn.export.ci_bcnn`).

Gradient: ``dY'_j/dY_j = 1`` and through ``t`` a straight-through estimator, the derivative of
the ramp ``clamp(Y / m, -1, 1)``: ``dt/dY = 1/m`` for ``|Y| <= m``, else 0.

Differences from the authors' code (hwbnn follows the issue's statement, which the hardware
computes): their negative edge subtracts ``c * |t(Y_i)|`` (``ge + le``) instead of
``c * t(Y_i)``; their edge list is applied in the order it was mined and may hold cycles, here
the graph is a DAG by construction and applied in topological order; they use fixed ``m = 200``
and ``c = 100`` for every layer, here ``m`` and ``c`` are per layer (the config gives them as
fractions of the fan-in, :func:`grid_value`); and their ``t`` passes no gradient to ``Y_i``.

The graph is data: per layer a ``(C, C)`` buffer of signs (``signs[i, j] = s_ij``, 0 for no
edge) and the integers ``m`` and ``c``, all in the state dict (so checkpoints keep the mined
graph); :class:`InteractionGraph` is the same data as a checked value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hwbnn.ir.interaction import channel_levels

Edge = tuple[int, int, int]  # (source i, target j, sign s)


def check_ci(deadzone: float, magnitude: float) -> None:
    """ValueError unless ``magnitude`` is 0 (no interaction layers) or both fractions are in
    (0, 1]."""
    if magnitude == 0:
        return
    if not (0 < deadzone <= 1 and 0 < magnitude <= 1):
        raise ValueError(
            f"CI-BCNN deadzone and magnitude are fractions of the fan-in in (0, 1], got "
            f"deadzone={deadzone}, magnitude={magnitude}"
        )


def grid_value(fraction: float, fan_in: int) -> int:
    """``max(1, floor(fraction * fan_in + 1/2))``: a fraction of a layer's fan-in (its number
    of products) as an integer on the dot-product grid."""
    return max(1, math.floor(fraction * fan_in + 0.5))


def reachability(signs: np.ndarray) -> np.ndarray:
    """Boolean (C, C): ``[i, j]`` iff a path of one or more edges leads from ``i`` to ``j``."""
    reach = np.asarray(signs) != 0
    while True:  # paths of length <= 2^k after k squarings; stops at the closure
        step = reach.astype(np.int64)
        grown = reach | ((step @ step) > 0)
        if np.array_equal(grown, reach):
            return reach
        reach = grown


@dataclass(frozen=True)
class InteractionGraph:
    """One layer's interaction: ``channels`` output channels, signed ``edges`` (i, j, s), the
    deadzone ``m`` and magnitude ``c``; checked to be a DAG without repeated pairs."""

    channels: int
    edges: tuple[Edge, ...]
    deadzone: int
    magnitude: int

    def __post_init__(self) -> None:
        if self.channels < 1 or self.deadzone < 1 or self.magnitude < 1:
            raise ValueError(f"channels, deadzone and magnitude must be >= 1: {self}")
        pairs = set()
        for i, j, s in self.edges:
            inside = 0 <= i < self.channels and 0 <= j < self.channels
            if not inside or i == j or s not in (1, -1):
                raise ValueError(f"bad edge {(i, j, s)} for {self.channels} channels")
            if (i, j) in pairs:
                raise ValueError(f"edge {i} -> {j} given twice")
            pairs.add((i, j))
        channel_levels(self.signs())  # ValueError on a cycle

    @classmethod
    def from_signs(cls, signs: np.ndarray, deadzone: int, magnitude: int) -> InteractionGraph:
        rows, cols = np.nonzero(signs)
        edges = tuple((int(i), int(j), int(signs[i, j])) for i, j in zip(rows, cols, strict=True))
        return cls(len(signs), edges, int(deadzone), int(magnitude))

    def signs(self) -> np.ndarray:
        """(C, C) int8: ``[i, j] = s`` for the edge ``i -> j``, 0 elsewhere."""
        signs = np.zeros((self.channels, self.channels), dtype=np.int8)
        for i, j, s in self.edges:
            signs[i, j] = s
        return signs

    def level_matrices(self) -> list[np.ndarray]:
        """``W_1 .. W_D`` (int64, (C, C)), ``W_k[j, i] = c * s_ij`` for the edges into level-k
        channels; empty without edges."""
        signs = self.signs()
        levels = channel_levels(signs)
        steps = []
        for k in range(1, int(levels.max(initial=0)) + 1):
            weight = self.magnitude * signs.T.astype(np.int64)
            weight[levels != k] = 0
            steps.append(weight)
        return steps

    def apply(self, y: np.ndarray) -> np.ndarray:
        """The rule on integers ``y`` of shape (N, C, ...), edge by edge in topological order
        (the definition the level matrices and the export must equal)."""
        out = np.array(y, dtype=np.int64, copy=True)
        levels = channel_levels(self.signs())
        for i, j, s in sorted(self.edges, key=lambda e: (levels[e[1]], e[1], e[0])):
            source = out[:, i]
            t = (source >= self.deadzone).astype(np.int64) - (source <= -self.deadzone)
            out[:, j] += s * self.magnitude * t
        return out


def ternary(y: torch.Tensor, deadzone: float) -> torch.Tensor:
    """``t(y)``: +1 where ``y >= m``, -1 where ``y <= -m``, else 0 (no gradient)."""
    return (y >= deadzone).to(y.dtype) - (y <= -deadzone).to(y.dtype)


class _TernarySTE(torch.autograd.Function):
    """``t(y)`` forward; backward ``grad / m`` where ``|y| <= m`` (the ramp's derivative)."""

    @staticmethod
    def forward(ctx, y: torch.Tensor, deadzone: float) -> torch.Tensor:
        ctx.save_for_backward(y)
        ctx.deadzone = deadzone
        return ternary(y, deadzone)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (y,) = ctx.saved_tensors
        inside = (y.abs() <= ctx.deadzone).to(grad.dtype)
        return grad * inside / ctx.deadzone, None


class ChannelInteraction(nn.Module):
    """The interaction of one binary convolution's (N, C, H, W) integer output (see the module
    docstring); buffers ``signs`` (C, C) int8, ``deadzone`` and ``magnitude`` (int64)."""

    signs: torch.Tensor
    deadzone: torch.Tensor
    magnitude: torch.Tensor

    def __init__(self, channels: int, deadzone: int, magnitude: int) -> None:
        super().__init__()
        if channels < 1 or deadzone < 1 or magnitude < 1:
            raise ValueError(
                f"channels, deadzone, magnitude must be >= 1: {channels}, {deadzone}, {magnitude}"
            )
        self.register_buffer("signs", torch.zeros((channels, channels), dtype=torch.int8))
        self.register_buffer("deadzone", torch.tensor(int(deadzone)))
        self.register_buffer("magnitude", torch.tensor(int(magnitude)))
        self._cache: tuple[bytes, list[torch.Tensor]] | None = None

    @property
    def channels(self) -> int:
        return int(self.signs.shape[0])

    def graph(self) -> InteractionGraph:
        signs = self.signs.detach().cpu().numpy()
        return InteractionGraph.from_signs(signs, int(self.deadzone), int(self.magnitude))

    def set_graph(self, graph: InteractionGraph) -> None:
        if graph.channels != self.channels:
            raise ValueError(f"a graph of {graph.channels} channels for a {self.channels} layer")
        with torch.no_grad():
            self.signs.copy_(torch.from_numpy(graph.signs()))
            self.deadzone.fill_(graph.deadzone)
            self.magnitude.fill_(graph.magnitude)

    def steps(self) -> list[torch.Tensor]:
        """The level matrices as float (C, C, 1, 1) convolution weights (cached per graph)."""
        signs = self.signs.detach().cpu().numpy()
        key = signs.tobytes() + bytes(str((int(self.deadzone), int(self.magnitude))), "ascii")
        if self._cache is None or self._cache[0] != key:
            mats = self.graph().level_matrices()
            weights = [torch.from_numpy(w.astype(np.float32))[:, :, None, None] for w in mats]
            self._cache = (key, weights)
        return [w.to(self.signs.device) for w in self._cache[1]]

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        deadzone = float(self.deadzone)
        straight_through = self.training and torch.is_grad_enabled()
        for weight in self.steps():
            t = _TernarySTE.apply(y, deadzone) if straight_through else ternary(y, deadzone)
            y = y + F.conv2d(t, weight)
        return y

    def extra_repr(self) -> str:
        edges = int((self.signs != 0).sum())
        return f"channels={self.channels}, edges={edges}, m={int(self.deadzone)}, " + (
            f"c={int(self.magnitude)}"
        )
