"""Operation space reduction: when BNAS and CP-NAS abandon an operation on every edge, and
which one.

Schedule: after ``warmup`` epochs of supernet search, and then every ``every`` epochs, every
edge abandons one operation until one is left; with K = 7 operations that is after epochs
``warmup, warmup + every, ..., warmup + 5 * every`` (:func:`abandon_epochs`). Both papers
reduce by one operation per edge per reduction until one is left (BNAS' Algorithm 1, CP-NAS'
Algorithm "Child-Parent NAS": ``while K > 1 ... K = K - 1``); how many supernet epochs lie
between two reductions they leave to the training budget, so ``warmup``/``every`` stay ours.

Before each reduction sub-networks are sampled, one operation per edge, "without
replacement": in each of ``T`` rounds every edge draws a random permutation of its sampled
set, so that every operation of the set is tried exactly once per round
(:func:`sample_plan`); each sampled network is trained for one epoch, its validation
accuracy is credited to the operations it used, and ``m`` is an operation's mean over the
``T`` rounds (:func:`credit`, ``y-bar = 1/T sum_t y_t``).

- BNAS (Chen, Zhuo, Zhang et al., "Binarized Neural Architecture Search", AAAI 2020,
  performance-based strategy): only the "less potential" half is sampled, the ``ceil(K/2)``
  active operations of least ``alpha`` on each edge, ``O_S`` (:func:`bnas_candidates`), so a
  round is ``ceil(K/2)`` networks. With ``y-bar`` their mean accuracies:

      s_S(o) = exp(y-bar_o) / sum_{o' in O_S} exp(y-bar_o')           (o in O_S)
      s_L    = 1/2 * (max_{O_S} s_S + 1/|O_S| * sum_{O_S} s_S)        (o in O_L, the others)
      s(o)  <- 1/2 * s(o) + s_S(o) or s_L                              (s = 0 at the start)

  ``s`` is the selection likelihood, carried from one reduction to the next (halved each
  time); the active operation of least ``s`` is abandoned (:func:`bnas_likelihood`).
- CP-NAS (Zhuo, Zhang et al., "CP-NAS: Child-Parent Neural Architecture Search for 1-bit
  CNNs", IJCAI 2020): every active operation is sampled (a round is K networks), each
  sampled architecture runs as the binary Child and the full-precision Parent, and an
  operation's indicator is ``z = beta * (A_P - A_C) + A_C`` with the mean accuracies
  ``A_P``, ``A_C`` (``= beta * A_P + (1 - beta) * A_C``); the evaluation is ``z``
  normalised over the edge's operations, ``e(o) = exp(z_o) / sum exp(z_o')``, and the
  operation of least ``e`` is abandoned (:func:`cpnas_indicator`).

Hardware (ours; neither paper has it): with ``--cost-weight w`` the score of every active
operation is multiplied by ``exp(-w * c_o)`` before the least is abandoned, ``c_o`` the
operation's LUTs on that edge over the dearest operation of the network
(:func:`hwbnn.search.cost.cost_table`, summed over the cells of the kind)
(:func:`with_hardware`). Both scores are positive and compared within an edge, so the factor
trades a relative loss of score for a relative saving of LUTs: at ``w = 0.1`` the dearest
operation must score about 10% above a free one to outlive it. ``w = 0`` leaves the scores as
they are. The same ``w`` also weighs the architecture's hardware term (:mod:`hwbnn.search.loop`).

``zero`` never survives alone: when it and one other operation remain, the other one is kept
whatever the scores (a genotype leaves zero edges out; DARTS' derivation excludes ``zero``
too), so every edge ends with a real operation and the edges of a node are then ranked by
their weights (:mod:`hwbnn.search.derive`). The papers do not say how ``zero`` ends.
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


def _softmax(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``softmax`` over ``values[mask]`` (0 elsewhere)."""
    v = np.where(mask, values, -np.inf)
    p = np.exp(v - v[mask].max())
    return p / p.sum()


def bnas_candidates(alpha: np.ndarray, active: np.ndarray) -> np.ndarray:
    """BNAS' sampled set ``O_S`` on every edge: the ``ceil(K/2)`` active operations of least
    ``alpha`` (K active; equal ones in :data:`OPS` order). ``alpha`` and ``active`` are
    (edges, operations); so is the mask returned."""
    out = np.zeros_like(active)
    for e in range(active.shape[0]):
        alive = np.flatnonzero(active[e])
        order = alive[np.argsort(alpha[e, alive], kind="stable")]
        out[e, order[: (len(alive) + 1) // 2]] = True
    return out


def bnas_likelihood(
    previous: np.ndarray, accuracy: np.ndarray, candidates: np.ndarray, active: np.ndarray
) -> np.ndarray:
    """One edge's new selection likelihood ``1/2 * s + (s_S or s_L)`` (module docstring) from
    its previous one and the mean accuracies ``accuracy`` of its sampled set ``candidates``
    (``-inf`` for abandoned operations)."""
    if not candidates.any() or (candidates & ~active).any():
        raise ValueError("BNAS samples a non-empty subset of the active operations")
    s_small = _softmax(accuracy, candidates)
    s_large = 0.5 * (s_small[candidates].max() + s_small[candidates].mean())
    new = 0.5 * previous + np.where(candidates, s_small, s_large)
    return np.where(active, new, -np.inf)


def cpnas_indicator(
    parent: np.ndarray, child: np.ndarray, active: np.ndarray, beta: float
) -> np.ndarray:
    """CP-NAS' evaluation ``e = softmax(z)`` over the active operations of one edge, with
    ``z = beta * (A_parent - A_child) + A_child`` (``-inf`` for abandoned operations)."""
    if beta < 0.0:  # the paper's ablation goes past 1 (z is then no convex mixture)
        raise ValueError(f"the indicator's beta must be >= 0, got {beta}")
    z = beta * (parent - child) + child
    return np.where(active, _softmax(z, active), -np.inf)


def with_hardware(scores: np.ndarray, costs: np.ndarray, weight: float) -> np.ndarray:
    """``scores * exp(-weight * costs)`` where a score is finite (abandoned operations keep
    ``-inf``); ``scores`` and ``costs`` are (edges, operations), the scores non-negative."""
    if weight < 0:
        raise ValueError(f"the cost weight must be >= 0, got {weight}")
    finite = np.isfinite(scores)
    if np.any(scores[finite] < 0):
        raise ValueError("the hardware factor needs non-negative scores")
    return np.where(finite, scores * np.exp(-weight * costs), scores)


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


def sample_plan(candidates: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The sub-networks of one sampling round: ``(rounds, edges)`` operation indices, where
    ``rounds`` is the most candidates on an edge and each edge uses every one of its
    candidates once in a random order (edges with fewer repeat a fresh permutation)."""
    rounds = int(candidates.sum(axis=1).max())
    plan = np.empty((rounds, candidates.shape[0]), dtype=np.int64)
    for e in range(candidates.shape[0]):
        alive = np.flatnonzero(candidates[e])
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
