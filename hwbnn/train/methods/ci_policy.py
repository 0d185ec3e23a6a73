"""The edge-proposal agent of CI-BCNN mining (:mod:`hwbnn.train.methods.ci_bcnn`): one tabular
softmax policy per interaction layer, epsilon-greedy actions and a REINFORCE update.

State: logits ``theta[k, i, j]`` for the signed edge ``i -> j`` with sign ``s = +1`` (``k = 0``)
or ``-1`` (``k = 1``), drawn from N(0, 0.01^2) at the start.

- *add* ``n`` edges: ``n`` times, among the candidates (signed pairs that are not an edge, whose
  reverse path does not exist, so the graph stays acyclic by construction, and that were not
  proposed before in this mining phase), take ``argmax theta`` with probability ``1 - epsilon``
  and a uniformly random candidate with probability ``epsilon``; the policy's probability of a
  choice is ``softmax(theta)`` over the candidates;
- *remove* ``n`` edges: the same over the existing edges with ``softmax(-theta)`` (the least
  wanted edge first);
- *update* (REINFORCE, Williams 1992): after a mining phase, per layer and kind of action,
  rewards ``r_1..r_T`` in order give discounted returns ``G_t = sum_{u >= t} gamma^(u-t) r_u``,
  and ``theta += lr * sum_t G_t * grad_theta log pi(a_t)`` with
  ``grad log softmax(+-theta)[a] = +-(onehot(a) - p)`` on the candidates (zero elsewhere; a
  group of ``n`` edges adds its ``n`` terms).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hwbnn.nn.ci_bcnn import reachability

SIGNS = (1, -1)  # sign of logits plane k


def add_candidates(signs: np.ndarray) -> np.ndarray:
    """Boolean (2, C, C): the signed pairs ``i -> j`` that can be added to the DAG ``signs``:
    ``i != j``, no edge between them, and no path from ``j`` to ``i``."""
    channels = len(signs)
    linked = (signs != 0) | (signs.T != 0) | np.eye(channels, dtype=bool)
    allowed = ~linked & ~reachability(signs).T
    return np.stack([allowed, allowed])


def remove_candidates(signs: np.ndarray) -> np.ndarray:
    """Boolean (2, C, C): the existing edges, on the plane of their sign."""
    return np.stack([signs == s for s in SIGNS])


@dataclass
class EdgePolicy:
    """The policy of one layer (see the module docstring)."""

    channels: int
    epsilon: float
    rng: np.random.Generator
    logits: np.ndarray = field(init=False)
    tried: np.ndarray = field(init=False)  # signed pairs proposed in this phase

    def __post_init__(self) -> None:
        shape = (2, self.channels, self.channels)
        self.logits = self.rng.normal(0.0, 0.01, shape)
        self.tried = np.zeros(shape, dtype=bool)

    def probabilities(self, mask: np.ndarray, direction: int) -> np.ndarray:
        """softmax(direction * theta) over ``mask`` (zero elsewhere)."""
        scores = np.where(mask, direction * self.logits, -np.inf)
        p = np.exp(scores - scores[mask].max())
        return p / p.sum()

    def choose(self, mask: np.ndarray, direction: int) -> tuple[tuple[int, int, int], np.ndarray]:
        """One epsilon-greedy action among ``mask``: ((k, i, j), grad of its log-probability)."""
        p = self.probabilities(mask, direction)
        if self.rng.random() < self.epsilon:
            flat = int(self.rng.choice(np.flatnonzero(mask)))
        else:
            flat = int(np.argmax(np.where(mask, self.logits * direction, -np.inf)))
        action = np.unravel_index(flat, mask.shape)
        onehot = np.zeros_like(p)
        onehot[action] = 1.0
        return (int(action[0]), int(action[1]), int(action[2])), direction * (onehot - p)

    def add(self, signs: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray] | None:
        """``signs`` with up to ``count`` new edges, and the summed log-probability gradient;
        None without candidates."""
        return self._act(signs, count, +1)

    def remove(self, signs: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray] | None:
        """``signs`` without up to ``count`` edges, and the gradient; None without edges."""
        return self._act(signs, count, -1)

    def _act(
        self, signs: np.ndarray, count: int, direction: int
    ) -> tuple[np.ndarray, np.ndarray] | None:
        signs, grad, chosen = signs.copy(), np.zeros_like(self.logits), 0
        while chosen < count:
            adding = direction > 0
            mask = add_candidates(signs) & ~self.tried if adding else remove_candidates(signs)
            if not mask.any():
                break
            (k, i, j), g = self.choose(mask, direction)
            if adding:
                self.tried[k, i, j] = True
            signs[i, j] = SIGNS[k] if adding else 0
            grad += g
            chosen += 1
        return (signs, grad) if chosen else None

    def update(self, grads: list[np.ndarray], rewards: list[float], gamma: float, lr: float):
        """REINFORCE with discounted returns over one phase's actions of one kind, in order."""
        for g, ret in zip(grads, discounted_returns(rewards, gamma), strict=True):
            self.logits += lr * ret * g

    def new_phase(self) -> None:
        self.tried[:] = False


def discounted_returns(rewards: list[float], gamma: float) -> list[float]:
    """``G_t = r_t + gamma * G_{t+1}`` (``G_T = r_T``)."""
    returns, running = [], 0.0
    for reward in reversed(rewards):
        running = reward + gamma * running
        returns.append(running)
    return returns[::-1]
