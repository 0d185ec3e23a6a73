"""The reduction schedule, BNAS' score and CP-NAS' indicator on hand-computed numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hwbnn.nn.genotype import OPS, Op
from hwbnn.search.reduce import (
    ZERO_INDEX,
    abandon,
    abandon_epochs,
    bnas_scores,
    cpnas_indicator,
    credit,
    sample_plan,
    to_abandon,
)


def test_abandon_epochs():
    assert abandon_epochs(7, 2, 1) == [2, 3, 4, 5, 6, 7]
    assert abandon_epochs(7, 3, 2) == [3, 5, 7, 9, 11, 13]
    with pytest.raises(ValueError):
        abandon_epochs(7, 0, 1)


def test_schedule_removes_least_score_each_time_until_one_is_left():
    # fixed scores on one edge (OPS order): zero best, then conv_3x3, ..., max_pool worst
    scores = np.array([[0.9, 0.5, 0.4, 0.1, 0.3, 0.2, 0.95]])
    active = np.ones((1, len(OPS)), dtype=bool)
    removed = []
    for _ in abandon_epochs(len(OPS), 2, 1):
        after = abandon(scores, active)
        (gone,) = np.flatnonzero(active[0] & ~after[0])
        removed.append(OPS[gone])
        active = after
    # max_pool (0.1), identity (0.2), avg_pool (0.3), dil_conv (0.4), conv_5x5 (0.5), then
    # zero although it scores best: it never survives alone
    assert removed == [
        Op.MAX_POOL_3X3,
        Op.IDENTITY,
        Op.AVG_POOL_3X3,
        Op.DIL_CONV_3X3,
        Op.CONV_5X5,
        Op.ZERO,
    ]
    assert active.sum() == 1 and active[0, OPS.index(Op.CONV_3X3)]
    assert np.array_equal(abandon(scores, active), active)  # one left: nothing more
    with pytest.raises(ValueError):
        to_abandon(scores[0], active[0])


def test_zero_never_survives_alone():
    active = np.zeros(len(OPS), dtype=bool)
    active[[OPS.index(Op.IDENTITY), ZERO_INDEX]] = True
    scores = np.zeros(len(OPS))
    scores[ZERO_INDEX] = 1.0  # zero scores best, identity worst
    assert to_abandon(scores, active) == ZERO_INDEX
    active[OPS.index(Op.CONV_3X3)] = True  # three left: the least score goes (identity)
    scores[OPS.index(Op.CONV_3X3)] = 0.5
    assert to_abandon(scores, active) == OPS.index(Op.IDENTITY)


def test_bnas_score_hand_example():
    # active ops 0 and 1 with alpha 0 and ln 3: softmax (1/4, 3/4); sampled accuracies
    # 0.8 and 0.2: scores 0.2 and 0.15, so op 1 (higher alpha, worse accuracy) goes
    alpha = np.array([0.0, math.log(3.0), 5.0, 5.0, 5.0, 5.0, 5.0])
    accuracy = np.array([0.8, 0.2, 1.0, 1.0, 1.0, 1.0, 1.0])
    active = np.array([True, True, False, False, False, False, False])
    s = bnas_scores(alpha, accuracy, active)
    assert s[0] == pytest.approx(0.2) and s[1] == pytest.approx(0.15)
    assert (s[2:] == -np.inf).all()
    assert to_abandon(s, active) == 1


def test_cpnas_indicator_hand_example():
    # three active operations (conv_3x3, conv_5x5, dil_conv_3x3) of the seven
    parent = np.array([0.9, 0.6, 0.8, 1.0, 1.0, 1.0, 1.0])
    child = np.array([0.5, 0.7, 0.4, 1.0, 1.0, 1.0, 1.0])
    active = np.array([True, True, True, False, False, False, False])
    z = cpnas_indicator(parent, child, active, 0.5)  # (0.7, 0.65, 0.6)
    assert z[:3] == pytest.approx([0.7, 0.65, 0.6])
    assert (z[3:] == -np.inf).all()
    assert to_abandon(z, active) == 2
    z = cpnas_indicator(parent, child, active, 1.0)  # the parent alone: 0.6 is least
    assert to_abandon(z, active) == 1
    z = cpnas_indicator(parent, child, active, 0.0)  # the child alone: 0.4 is least
    assert to_abandon(z, active) == 2
    with pytest.raises(ValueError):
        cpnas_indicator(parent, child, active, 1.5)


def test_sampling_tries_every_active_op_once_per_round_and_credits_means():
    active = np.array([[True, True, True, False], [True, False, True, False]])
    plan = sample_plan(active, np.random.default_rng(0))
    assert plan.shape == (3, 2)
    assert sorted(plan[:, 0]) == [0, 1, 2]
    assert set(plan[:, 1]) == {0, 2}  # two ops over three rounds: both used
    m = credit(np.array([[0, 2], [1, 0], [2, 0]]), np.array([0.3, 0.6, 0.9]), 4)
    assert m[0] == pytest.approx([0.3, 0.6, 0.9, 0.0])
    assert m[1] == pytest.approx([0.75, 0.0, 0.3, 0.0])  # op 0 in rounds 2 and 3
