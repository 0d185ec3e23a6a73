"""Lowering of CI-BCNN interaction layers (CollapseInteractions, LowerInteraction) and the IR
node's reference: a hand-computed 4-channel example, the lowered layers' structure, the
interacted integers of L2 equal to L1's (execute_onnx) and L0, L1, L2 labels equal on the
whole digits test split, a channel with a decreasing BatchNorm negated by the interaction,
and the ir.json/ir.npz round trip."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from ci_bcnn_checks import interaction_layers, random_dag

from hwbnn.data import load_digits
from hwbnn.export import export_qonnx_model
from hwbnn.export.ci_bcnn import find_interactions, interacted_values
from hwbnn.frontend.lower import lower
from hwbnn.ir.interaction import Interaction
from hwbnn.ir.serialize import load_network, save_network
from hwbnn.ir.types import MatrixVector, Threshold
from hwbnn.nn import build_model, model_config
from hwbnn.reference import Reference, run_node, to_codes
from hwbnn.verify.ladder import run_ladder


def test_interaction_rule_on_four_channels() -> None:
    """Edges 0 -> 2 (+1), 1 -> 2 (-1), 2 -> 3 (+1), m = 2, c = 3, by hand: Y = (2, -5, 1, 0)
    gives t0 = +1, t1 = -1, Y'2 = 1 + 3 + 3 = 7, then t2 = +1 and Y'3 = 0 + 3 = 3."""
    signs = np.zeros((4, 4), dtype=np.int8)
    signs[0, 2], signs[1, 2], signs[2, 3] = 1, -1, 1
    node = Interaction("ci", signs, 2, 3)
    assert node.levels.tolist() == [0, 0, 1, 2] and node.depth == 2
    y = np.array([[2, -5, 1, 0, 1, 1, 1, -1]])  # two pixels; the second: t = (0, 0, 0)
    assert run_node(node, [y]).tolist() == [[2, -5, 7, 3, 1, 1, 1, -1]]
    negated = Interaction("ci", signs, 2, 3, np.array([False, False, False, True]))
    assert run_node(negated, [y]).tolist() == [[2, -5, 7, -3, 1, 1, 1, 1]]
    assert node.out_range(-9, 9) == (-15, 15)  # in-degree 2 times c
    cycle = signs.copy()
    cycle[3, 0] = 1
    with pytest.raises(ValueError, match="cycle"):
        Interaction("ci", cycle, 2, 3)


def _model(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    base = model_config("digits-cnn", (1, 8, 8), 10, 17, 5)
    model = build_model(dataclasses.replace(base, ci_deadzone=0.25, ci_magnitude=0.125))
    rng = np.random.default_rng(seed)
    for layer in interaction_layers(model):
        random_dag(layer, rng)
    return model


@pytest.fixture(scope="module")
def lowered(tmp_path_factory: pytest.TempPathFactory):
    """An untrained digits-cnn with random DAGs in all three layers; the BatchNorm after the
    first interaction decreases in channel 1 (a negative weight)."""
    model = _model(3)
    bn = next(m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    with torch.no_grad():
        bn.weight[1] = -1.0
        bn.running_mean.uniform_(-3, 3)
    qmodel = export_qonnx_model(model, tmp_path_factory.mktemp("ci_lower") / "model.onnx")
    return model, qmodel, lower(qmodel)


def test_each_interaction_becomes_mvau_interaction_threshold(lowered) -> None:
    _, qmodel, net = lowered
    found = find_interactions(qmodel)
    nodes = [n for n in net.layers if isinstance(n, Interaction)]
    assert [n.signs.tolist() for n in nodes] == [f.graph.signs().tolist() for f in found]
    for node, layer in zip(nodes, found, strict=True):
        (source,) = net.inputs_of(node.name)
        mvau = next(n for n in net.layers if n.name == source)
        assert isinstance(mvau, MatrixVector) and mvau.emits_acc and not mvau.is_output
        (reader,) = net.consumers_of(node.name)
        assert isinstance(net.layers[[n.name for n in net.layers].index(reader)], Threshold)
        assert (node.deadzone, node.magnitude) == (layer.graph.deadzone, layer.graph.magnitude)
        low, high = net.edge(node.name).value_range
        assert high > mvau.acc_range[1] and low == -high  # |Y'| can exceed |Y|
    assert nodes[0].negate is not None and bool(nodes[0].negate[1])


def test_l2_interacted_integers_equal_l1(lowered) -> None:
    _, qmodel, net = lowered
    x = load_digits().x_test[:60]
    kept = Reference(net).run_codes(to_codes(net.input, x), keep_layers=True)
    index = {n.name: k for k, n in enumerate(net.layers)}
    nodes = [n for n in net.layers if isinstance(n, Interaction)]
    for node, y_onnx in zip(nodes, interacted_values(qmodel, x), strict=True):
        got = kept.layer_outputs[index[node.name]].reshape(len(x), -1, node.channels)
        got = np.where(np.asarray(node.negate)[None, None, :], -got, got)  # undo the negation
        expected = y_onnx.transpose(0, 2, 3, 1).reshape(got.shape)  # (C, H, W) -> stream order
        assert np.array_equal(got, expected.astype(np.int64))


def test_ladder_labels_equal_on_the_whole_test_split(lowered) -> None:
    model, qmodel, net = lowered
    data = load_digits()
    records = run_ladder(net, data.x_test, data.y_test, model, qmodel)
    l1, l2 = records[1], records[2]
    assert l1.ok and l1.frames == 360 and l1.mismatches == 0, l1.first_mismatch
    assert l2.details["label_mismatches"] == 0, l2.first_mismatch
    assert l2.details["accumulators_vs_torch_mismatches"] == 0, l2.first_mismatch


def test_ir_round_trip(lowered, tmp_path) -> None:
    _, _, net = lowered
    save_network(net, tmp_path)
    loaded = load_network(tmp_path)
    for a, b in zip(net.layers, loaded.layers, strict=True):
        if isinstance(a, Interaction):
            assert isinstance(b, Interaction)
            assert np.array_equal(a.signs, b.signs) and np.array_equal(a.negate, b.negate)
            assert (a.deadzone, a.magnitude) == (b.deadzone, b.magnitude)
            assert net.inputs_of(a.name) == loaded.inputs_of(b.name)
    x = load_digits().x_test[:40]
    assert np.array_equal(Reference(net).run(x).accumulators, Reference(loaded).run(x).accumulators)
