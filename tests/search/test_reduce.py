"""The reduction schedule, BNAS' selection likelihood and CP-NAS' evaluation indicator on
hand-computed numbers (the formulas: :mod:`hwbnn.search.reduce`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hwbnn.nn.genotype import OPS, CellKind, Op
from hwbnn.search.bnas import BnasSearch
from hwbnn.search.config import SearchConfig
from hwbnn.search.reduce import (
    ZERO_INDEX,
    abandon,
    abandon_epochs,
    bnas_candidates,
    bnas_likelihood,
    cpnas_indicator,
    credit,
    sample_plan,
    to_abandon,
    with_hardware,
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


def test_bnas_samples_the_less_potential_half():
    alpha = np.array(
        [
            [0.5, -1.0, 0.2, -1.0, 3.0, 0.0, 1.0],  # 7 active: ceil(7/2) = 4 least alpha
            [1.0, -9.0, 1.0, -9.0, 0.0, -9.0, 2.0],  # 4 active: ceil(4/2) = 2
        ]
    )
    active = np.ones_like(alpha, dtype=bool)
    active[1, [1, 3, 5]] = False  # abandoned ones are never sampled, however low their alpha
    chosen = bnas_candidates(alpha, active)
    # edge 0: -1.0 (ops 1, 3), 0.0 (op 5), 0.2 (op 2); edge 1: 0.0 (op 4), then of the two
    # equal 1.0 (ops 0 and 2) the first in OPS order
    assert np.flatnonzero(chosen[0]).tolist() == [1, 2, 3, 5]
    assert np.flatnonzero(chosen[1]).tolist() == [0, 4]


def test_bnas_likelihood_hand_example():
    # four active operations (0..3) of seven; sampled set O_S = {0, 2}, mean accuracies
    # y-bar_0 = 0.8, y-bar_2 = 0.3:
    #   s_S = softmax(0.8, 0.3) = (1 / (1 + e^-0.5), e^-0.5 / (1 + e^-0.5)) = (0.622459, 0.377541)
    #   s_L = (max s_S + mean s_S) / 2 = (0.622459 + 0.5) / 2 = 0.561230 (ops 1 and 3)
    # previous likelihood (0.2, 0.1, 0.4, 0.0) halved and added:
    #   (0.1 + 0.622459, 0.05 + 0.561230, 0.2 + 0.377541, 0.0 + 0.561230)
    #   = (0.722459, 0.611230, 0.577541, 0.561230)
    # so op 3 goes: it was not sampled, but its history is the lowest
    previous = np.array([0.2, 0.1, 0.4, 0.0, 0.0, 0.0, 0.0])
    accuracy = np.array([0.8, 0.0, 0.3, 0.0, 0.0, 0.0, 0.0])
    active = np.array([True, True, True, True, False, False, False])
    sampled = np.array([True, False, True, False, False, False, False])
    s = bnas_likelihood(previous, accuracy, sampled, active)
    assert s[:4] == pytest.approx([0.722459, 0.611230, 0.577541, 0.561230], abs=1e-6)
    assert (s[4:] == -np.inf).all()
    assert to_abandon(s, active) == 3
    # two left, one sampled: s_S = (1), s_L = (1 + 1) / 2 = 1, the history decides
    two = np.array([True, True, False, False, False, False, False])
    s = bnas_likelihood(np.array([0.3, 0.5, 0, 0, 0, 0, 0]), accuracy, sampled & two, two)
    assert s[:2] == pytest.approx([1.15, 1.25]) and to_abandon(s, two) == 0
    with pytest.raises(ValueError):  # the sampled set must lie in the active operations
        bnas_likelihood(previous, accuracy, ~active, active)


def test_bnas_search_carries_the_likelihood_across_reductions():
    cfg = SearchConfig(channels=2, stem_channels=4, steps=1, k=1)
    search = BnasSearch(cfg, 1, 10)
    kind = CellKind.NORMAL
    edges = len(search.arch.active(kind))
    with torch.no_grad():  # alpha rising with the op index: ops 0..3 are the lower half
        search.arch.alpha[kind.value].copy_(torch.arange(7.0).repeat(edges, 1))
    chosen = search.candidates(kind)
    assert (chosen == (np.arange(7) < 4)).all()
    accuracy = np.tile([0.5, 0.5, 0.5, 0.5, 0.0, 0.0, 0.0], (edges, 1))
    s = search.scores(kind, {"child": accuracy})
    # s_S = 1/4 on ops 0..3, s_L = (1/4 + 1/4) / 2 = 1/4 on 4..6: all equal, op 0 is least
    assert s == pytest.approx(np.full((edges, 7), 0.25))
    assert search.likelihood.get(kind).numpy() == pytest.approx(s)
    assert (abandon(s, search.arch.active(kind).numpy())[:, 0] == 0).all()


def test_cpnas_indicator_hand_example():
    # three active operations (conv_3x3, conv_5x5, dil_conv_3x3) of the seven, beta = 0.5:
    #   z = 0.5 * (A_P - A_C) + A_C = (0.7, 0.65, 0.6)
    #   e = softmax(z) = (1, e^-0.05, e^-0.1) / (1 + 0.951229 + 0.904837)
    #     = (0.350132, 0.333056, 0.316812)
    parent = np.array([0.9, 0.6, 0.8, 1.0, 1.0, 1.0, 1.0])
    child = np.array([0.5, 0.7, 0.4, 1.0, 1.0, 1.0, 1.0])
    active = np.array([True, True, True, False, False, False, False])
    e = cpnas_indicator(parent, child, active, 0.5)
    assert e[:3] == pytest.approx([0.350132, 0.333056, 0.316812], abs=1e-6)
    assert (e[3:] == -np.inf).all()
    assert to_abandon(e, active) == 2
    e = cpnas_indicator(parent, child, active, 1.0)  # the parent alone: 0.6 is least
    assert to_abandon(e, active) == 1
    e = cpnas_indicator(parent, child, active, 0.0)  # the child alone: 0.4 is least
    assert to_abandon(e, active) == 2
    # beta = 2: z = 2 (A_P - A_C) + A_C = (1.3, 0.5, 1.2): conv_5x5 (Parent below Child) goes
    assert to_abandon(cpnas_indicator(parent, child, active, 2.0), active) == 1
    with pytest.raises(ValueError):
        cpnas_indicator(parent, child, active, -0.5)


def test_hardware_factor_hand_example():
    # one edge, the CP-NAS evaluations of the example above, e = (0.350132, 0.333056, 0.316812)
    # for conv_3x3, conv_5x5, dil_conv_3x3; costs (LUTs over the dearest) (0, 1.0, 0.2):
    #   w = 0:    the scores unchanged: dil_conv_3x3 (0.316812) goes
    #   w = 0.02: e * exp(-0.02 c) = (0.350132, 0.326461, 0.315547): still dil_conv_3x3
    #   w = 0.1:  (0.350132, 0.301362, 0.310539): now conv_5x5, the dearest, goes
    scores = np.full((1, 7), -np.inf)
    scores[0, :3] = [0.350132, 0.333056, 0.316812]
    costs = np.array([[0.0, 1.0, 0.2, 0.3, 0.3, 0.0, 0.0]])
    active = np.isfinite(scores)
    assert (with_hardware(scores, costs, 0.0) == scores).all()
    assert to_abandon(with_hardware(scores, costs, 0.0)[0], active[0]) == 2
    weighed = with_hardware(scores, costs, 0.02)
    assert weighed[0, :3] == pytest.approx([0.350132, 0.326461, 0.315547], abs=1e-6)
    assert (weighed[0, 3:] == -np.inf).all()
    assert to_abandon(weighed[0], active[0]) == 2
    weighed = with_hardware(scores, costs, 0.1)
    assert weighed[0, :3] == pytest.approx([0.350132, 0.301362, 0.310539], abs=1e-6)
    assert to_abandon(weighed[0], active[0]) == 1
    with pytest.raises(ValueError, match="cost weight"):
        with_hardware(scores, costs, -1.0)
    with pytest.raises(ValueError, match="non-negative"):
        with_hardware(-scores.clip(-1, 1), costs, 0.1)


def test_sampling_tries_every_sampled_op_once_per_round_and_credits_means():
    sampled = np.array([[True, True, True, False], [True, False, True, False]])
    plan = sample_plan(sampled, np.random.default_rng(0))
    assert plan.shape == (3, 2)
    assert sorted(plan[:, 0]) == [0, 1, 2]
    assert set(plan[:, 1]) == {0, 2}  # two ops over three rounds: both used
    # two rounds of T: each op's accuracy is its mean over the rounds, y-bar = (y_1 + y_2) / 2
    m = credit(np.array([[0, 2], [1, 0], [2, 0]]), np.array([0.3, 0.6, 0.9]), 4)
    assert m[0] == pytest.approx([0.3, 0.6, 0.9, 0.0])
    assert m[1] == pytest.approx([0.75, 0.0, 0.3, 0.0])  # op 0 in rounds 2 and 3
