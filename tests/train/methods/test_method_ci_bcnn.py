"""CI-BCNN mining (hwbnn.train.methods.ci_bcnn, ci_policy): arguments, candidates by hand,
acyclicity under random proposals, policy-gradient steps on a toy reward, discounted returns,
and a short digits-cnn run whose export gives execute_onnx labels == torch labels."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from ci_bcnn_checks import check_l1_equals_l0, random_dag

from hwbnn.data import load_digits
from hwbnn.errors import ConfigError
from hwbnn.nn import model_config
from hwbnn.nn.ci_bcnn import ChannelInteraction, InteractionGraph, channel_levels, reachability
from hwbnn.train import TrainConfig, load_checkpoint, save_checkpoint, train
from hwbnn.train.methods import build_method, build_methods
from hwbnn.train.methods.ci_policy import (
    EdgePolicy,
    add_candidates,
    discounted_returns,
    remove_candidates,
)


def test_arguments() -> None:
    method = build_method("ci_bcnn", ["deadzone=0.5", "edges_per_step=2", "seed=3"])
    assert (method.args.deadzone, method.args.edges_per_step, method.args.seed) == (0.5, 2, 3)
    for item, message in [
        ("deadzone=0", r"deadzone must be in \(0, 1\]"),
        ("magnitude=1.5", r"magnitude must be in \(0, 1\]"),
        ("edges_per_step=0", "edges_per_step must be >= 1"),
        ("mining_batch=1", "mining_batch must be >= 2"),
        ("epsilon=2", r"epsilon, gamma in \[0, 1\]"),
        ("warmup=-1", "warmup must be >= 0"),
        ("policy_lr=0", "policy_lr > 0"),
    ]:
        with pytest.raises(ConfigError, match=message):
            build_method("ci_bcnn", [item])
    mlp = model_config("digits-mlp", (1, 8, 8), 10, 17, 5)
    with pytest.raises(ConfigError, match="convolutional nets"):
        build_method("ci_bcnn").configure(mlp)
    cnn = model_config("digits-cnn", (1, 8, 8), 10, 17, 5)
    with pytest.raises(ConfigError, match="integer dot products"):
        build_method("ci_bcnn").configure(dataclasses.replace(cnn, dbf_bases=8))
    configured = build_method("ci_bcnn").configure(cnn)
    assert (configured.ci_deadzone, configured.ci_magnitude) == (0.25, 0.125)


def test_candidates_by_hand() -> None:
    signs = np.zeros((3, 3), dtype=np.int8)
    signs[0, 1], signs[1, 2] = 1, -1  # 0 -> 1 -> 2
    add = add_candidates(signs)
    # only 0 -> 2 neither exists nor closes a cycle (2 -> 0, 2 -> 1 and 1 -> 0 would)
    assert [tuple(map(int, p)) for p in np.argwhere(add)] == [(0, 0, 2), (1, 0, 2)]
    remove = remove_candidates(signs)
    assert [tuple(map(int, p)) for p in np.argwhere(remove)] == [(0, 0, 1), (1, 1, 2)]


@pytest.mark.parametrize("epsilon", [0.0, 0.5, 1.0])
def test_random_proposals_keep_the_graph_acyclic(epsilon: float) -> None:
    rng = np.random.default_rng(1)
    policy = EdgePolicy(8, epsilon, rng)
    signs = np.zeros((8, 8), dtype=np.int8)
    for step in range(300):
        if step % 40 == 0:
            policy.new_phase()  # the proposals of a phase are distinct; a new one forgets them
        kind = policy.add if rng.random() < 0.7 else policy.remove
        proposal = kind(signs, int(rng.integers(1, 4)))
        if proposal is None:
            continue
        signs = proposal[0]
        assert not np.diag(reachability(signs)).any()
        channel_levels(signs)  # raises on a cycle
        policy.logits += rng.normal(0, 1, policy.logits.shape)  # any policy, not just this one
    assert np.count_nonzero(signs) > 8


def test_one_policy_gradient_step_follows_the_reward() -> None:
    signs = np.zeros((3, 3), dtype=np.int8)
    for reward in (1.0, -1.0):
        policy = EdgePolicy(3, 0.0, np.random.default_rng(0))
        mask = add_candidates(signs)
        new_signs, grad = policy.add(signs, 1) or (None, None)
        (k, i, j) = np.argwhere(grad > 0)[0]  # the action: the one positive entry
        assert new_signs[i, j] == (1, -1)[k]
        before = policy.probabilities(mask, +1)[k, i, j]
        policy.update([grad], [reward], gamma=0.99, lr=0.5)
        after = policy.probabilities(mask, +1)[k, i, j]
        assert (after > before) if reward > 0 else (after < before)


def test_the_policy_learns_a_rewarded_edge() -> None:
    # toy reward: +1 for adding 2 -> 0 with sign -1, -1 for any other edge; one action a phase
    target = (1, 2, 0)
    policy = EdgePolicy(3, 0.0, np.random.default_rng(0))
    empty = np.zeros((3, 3), dtype=np.int8)
    chosen = []
    for _ in range(20):
        policy.new_phase()
        signs, grad = policy.add(empty, 1) or (None, None)
        action = tuple(int(v) for v in np.argwhere(grad > 0)[0])
        chosen.append(action)
        policy.update([grad], [1.0 if action == target else -1.0], gamma=0.99, lr=0.5)
    first = chosen.index(target)
    assert first < 12 and set(chosen[first:]) == {target}  # 12 signed pairs; then it stays


def test_discounted_returns() -> None:
    # G_t = r_t + gamma G_{t+1}: (1 + 0.5 * 0 + 0.25 * -1, 0 + 0.5 * -1, -1)
    assert discounted_returns([1.0, 0.0, -1.0], 0.5) == [0.75, -0.5, -1.0]
    assert discounted_returns([], 0.9) == []


def test_xnorpp_scales_between_conv_and_interaction_are_refused() -> None:
    data = load_digits()
    assert data.x_train is not None and data.y_train is not None
    tiny = dataclasses.replace(data, x_train=data.x_train[:8], y_train=data.y_train[:8])
    config = model_config("digits-cnn", data.image_shape, 10, data.levels, data.input_bits)
    methods = build_methods([("ci_bcnn", []), ("xnorpp", [])])
    with pytest.raises(ConfigError, match="does not read a binary convolution's integer output"):
        train(config, tiny, TrainConfig(epochs=1, progress=False, methods=methods))


@pytest.mark.slow
def test_digits_cnn_mines_trains_and_exports_exactly(tmp_path) -> None:
    data = load_digits()
    assert data.x_train is not None and data.y_train is not None
    part = dataclasses.replace(data, x_train=data.x_train[:480], y_train=data.y_train[:480])
    config = model_config("digits-cnn", data.image_shape, 10, data.levels, data.input_bits)
    args = ["warmup=1", "mining_steps=2", "mining_batch=64", "edges_per_step=2", "tolerance=0"]
    cfg = TrainConfig(epochs=2, seed=0, progress=False, methods=build_methods([("ci_bcnn", args)]))
    result = train(config, part, cfg)
    edges = [h["ci_edges"] for h in result.history]
    assert edges[0] == 0 and edges[1] > 0  # mined before epoch 2 only (6 edges with seed 0)
    assert result.test_accuracy > 0.2  # 2 epochs on 480 images; chance is 0.1
    save_checkpoint(tmp_path / "model.pt", result.model, "digits", {})
    model, _ = load_checkpoint(tmp_path / "model.pt")
    graphs = [m.graph() for m in model.modules() if isinstance(m, ChannelInteraction)]
    trained = [m.graph() for m in result.model.modules() if isinstance(m, ChannelInteraction)]
    assert graphs == trained and all(isinstance(g, InteractionGraph) for g in graphs)
    check_l1_equals_l0(model, tmp_path / "mined.onnx", data.x_test)  # whole test split
    rng = np.random.default_rng(0)
    for layer in (m for m in model.modules() if isinstance(m, ChannelInteraction)):
        random_dag(layer, rng)  # many edges, three levels, on the trained weights
    with torch.no_grad():
        assert len(check_l1_equals_l0(model, tmp_path / "dense.onnx", data.x_test[:120])) == 3
