"""Operation space reduction: when BNAS and CP-NAS abandon an operation on every edge, and
which one.

Schedule (both papers): after ``warmup`` epochs of plain search, and then every ``every``
epochs, each edge abandons its lowest-scoring operation, until one is left; with K = 7
operations that is after epochs ``warmup, warmup + every, ..., warmup + 5 * every``
(:func:`abandon_epochs`).

Scores (arrays over the operations of one edge; abandoned ones are ignored):

- BNAS (Chen, Zhuo, Zhang et al., "Binarized Neural Architecture Search", AAAI 2020),
  performance-based strategy: before each reduction, sub-networks are sampled, one active
  operation per edge (each edge draws a random permutation of its active operations, so every
  operation is tried once per round, "sampling without replacement"), and each sampled
  network's validation accuracy is credited to the operations it used: ``m_o`` is the mean
  accuracy of the sampled networks that used ``o`` on that edge. The score combines it with
  the architecture weight, ``s_o = softmax(alpha)_o * m_o`` (:func:`bnas_scores`); the
  operation of least ``s`` is abandoned.
- CP-NAS (Zhuo, Zhang et al., "CP-NAS: Child-Parent Neural Architecture Search for 1-bit
  CNNs", IJCAI 2020): the same samples are run through the binary Child and the
  full-precision Parent, giving accuracies ``A_C,o`` and ``A_P,o``, and the indicator
  ``z_o = beta * A_P,o + (1 - beta) * A_C,o`` (:func:`cpnas_indicator`) decides: the
  operation of least ``z`` is abandoned.

``zero`` never survives alone: when it and one other operation remain, the other one is kept
whatever the scores (a genotype leaves zero edges out; DARTS' derivation excludes ``zero``
too), so every edge ends with a real operation and the edges of a node are then ranked by
their weights (:mod:`hwbnn.search.derive`).
"""

from __future__ import annotations

import numpy as np

from hwbnn.nn.genotype import OPS, Op

ZERO_INDEX = OPS.index(Op.ZERO)


def abandon_epochs(operations: int, warmup: int, every: int) -> list[int]:
    """The (1-based) epochs after which every edge abandons one operation: ``operations - 1``
    reductions, the first after epoch ``warmup``, then every ``every`` epochs."""
    if warmup < 1 or every < 1:
        raise ValueError("warmup and every must be >= 1")
    return [warmup + r * every for r in range(operations - 1)]


def bnas_scores(alpha: np.ndarray, accuracy: np.ndarray, active: np.ndarray) -> np.ndarray:
    """BNAS' performance-based score ``softmax(alpha) * m`` over the active operations of one
    edge (``-inf`` for abandoned ones)."""
    a = np.where(active, alpha, -np.inf)
    p = np.exp(a - a[active].max())
    p = p / p.sum()
    return np.where(active, p * accuracy, -np.inf)


def cpnas_indicator(
    parent: np.ndarray, child: np.ndarray, active: np.ndarray, beta: float
) -> np.ndarray:
    """CP-NAS' indicator ``z = beta * A_parent + (1 - beta) * A_child`` (``-inf`` for
    abandoned operations)."""
    if not 0.0 <= beta <= 1.0:
        raise ValueError(f"the indicator's beta must be in [0, 1], got {beta}")
    return np.where(active, beta * parent + (1.0 - beta) * child, -np.inf)


def to_abandon(scores: np.ndarray, active: np.ndarray) -> int:
    """The operation one edge abandons: the active one of least score (the first of equal
    ones in :data:`OPS` order), except that ``zero`` goes first when two are left."""
    alive = np.flatnonzero(active)
    if len(alive) < 2:
        raise ValueError("an edge with one operation left abandons nothing")
    if len(alive) == 2 and active[ZERO_INDEX]:
        return ZERO_INDEX
    return int(alive[np.argmin(scores[alive])])


def abandon(scores: np.ndarray, active: np.ndarray) -> np.ndarray:
    """One reduction on every edge: ``scores`` and ``active`` are (edges, operations); the
    new mask, with one operation fewer on every edge that has two or more."""
    out = active.copy()
    for e in range(active.shape[0]):
        if active[e].sum() > 1:
            out[e, to_abandon(scores[e], active[e])] = False
    return out


def sample_plan(active: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The sub-networks of one sampling round: ``(rounds, edges)`` operation indices, where
    ``rounds`` is the most active operations on an edge and each edge uses every one of its
    active operations once in a random order (edges with fewer repeat a fresh permutation)."""
    rounds = int(active.sum(axis=1).max())
    plan = np.empty((rounds, active.shape[0]), dtype=np.int64)
    for e in range(active.shape[0]):
        alive = np.flatnonzero(active[e])
        order: list[int] = []
        while len(order) < rounds:
            order.extend(int(i) for i in rng.permutation(alive))
        plan[:, e] = order[:rounds]
    return plan


def credit(plan: np.ndarray, accuracies: np.ndarray, operations: int) -> np.ndarray:
    """``m[e, o]``: the mean accuracy of the sampled networks (rows of ``plan``) that used
    operation ``o`` on edge ``e`` (0 for operations never sampled)."""
    total = np.zeros((plan.shape[1], operations))
    count = np.zeros((plan.shape[1], operations))
    for row, acc in zip(plan, accuracies, strict=True):
        total[np.arange(plan.shape[1]), row] += acc
        count[np.arange(plan.shape[1]), row] += 1
    return np.divide(total, count, out=np.zeros_like(total), where=count > 0)
