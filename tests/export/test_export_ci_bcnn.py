"""The export of CI-BCNN interactions (hwbnn.export.ci_bcnn): the documented node pattern, its
recogniser giving back the graphs, L1 interacted integers == torch's exactly, a deviating node
named by the recogniser and by `hwbnn compile` in one line."""

from __future__ import annotations

import dataclasses

import numpy as np
import onnx
import pytest
import torch
from ci_bcnn_checks import check_l1_equals_l0, interaction_layers, random_dag

from hwbnn.cli import main
from hwbnn.data import load_digits
from hwbnn.errors import ModelError
from hwbnn.export import export_qonnx_model, load_qonnx
from hwbnn.export.ci_bcnn import STEP_OPS, find_interactions
from hwbnn.frontend.lower import lower
from hwbnn.nn import build_model, model_config


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory):
    """An untrained digits-cnn with random DAGs in all three layers, exported."""
    torch.manual_seed(0)
    base = model_config("digits-cnn", (1, 8, 8), 10, 17, 5)
    model = build_model(dataclasses.replace(base, ci_deadzone=0.25, ci_magnitude=0.125))
    rng = np.random.default_rng(0)
    for layer in interaction_layers(model):
        random_dag(layer, rng)
    out = tmp_path_factory.mktemp("ci_export")
    return model, out / "model.onnx"


def test_pattern_round_trips_and_executes_exactly(exported) -> None:
    model, path = exported
    data = load_digits()
    found = check_l1_equals_l0(model, path, data.x_test[:120])
    assert len(found) == 3
    qmodel = onnx.load(str(path))
    names = {n.name: n.op_type for n in qmodel.graph.node}
    for layer in found:
        assert len(layer.steps) == len(layer.graph.level_matrices()) > 1
        ops = [names[n] for n in layer.nodes]
        assert ops == list(STEP_OPS) * len(layer.steps)
        for step, matrix in zip(layer.steps, layer.graph.level_matrices(), strict=True):
            assert np.array_equal(step, matrix)


def test_a_layer_without_edges_exports_no_node(tmp_path) -> None:
    base = model_config("digits-cnn", (1, 8, 8), 10, 17, 5)
    model = build_model(dataclasses.replace(base, ci_deadzone=0.25, ci_magnitude=0.125))
    qmodel = export_qonnx_model(model, tmp_path / "model.onnx")
    assert find_interactions(qmodel) == []
    assert not {"GreaterOrEqual", "LessOrEqual"} & {n.op_type for n in qmodel.graph.node}


def test_a_deviating_step_is_named(exported) -> None:
    _, path = exported
    qmodel = load_qonnx(path)
    first = find_interactions(qmodel)[0]
    conv = qmodel.get_node_from_name(first.nodes[5])  # the first step's 1x1 Conv
    weight = qmodel.get_initializer(conv.input[1]).copy()
    weight[np.nonzero(weight)[0][0], np.nonzero(weight)[1][0]] *= 2  # one edge of magnitude 2c
    qmodel.set_initializer(conv.input[1], weight)
    with pytest.raises(ModelError, match=r"node GreaterOrEqual_0 \(GreaterOrEqual\): .* \+-c"):
        find_interactions(qmodel)
    ge = next(n for n in qmodel.graph.node if n.op_type == "GreaterOrEqual")
    qmodel.set_initializer(ge.input[1], np.float32(2.5))
    with pytest.raises(ModelError, match="not m and -m for an integer m >= 1"):
        find_interactions(qmodel)


def test_compile_names_a_deviating_step(exported, tmp_path, capsys) -> None:
    """Lowering recognises the pattern (tests/frontend/test_lower_interaction.py lowers it);
    a comparison that deviates from it stops `hwbnn compile` in one line naming the node."""
    _, path = exported
    qmodel = load_qonnx(path)
    ge = next(n for n in qmodel.graph.node if n.op_type == "GreaterOrEqual")
    qmodel.set_initializer(ge.input[1], np.float32(2.5))
    qmodel.save(str(tmp_path / "bad.onnx"))
    build = tmp_path / "build"
    code = main(["compile", str(tmp_path / "bad.onnx"), "-o", str(build)])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and not build.exists()
    assert "node GreaterOrEqual_0 (GreaterOrEqual): not a CI-BCNN interaction step" in err
    with pytest.raises(ModelError, match="not m and -m for an integer m >= 1"):
        lower(qmodel)
