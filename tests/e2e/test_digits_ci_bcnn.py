"""digits-cnn trained with ``--method ci_bcnn`` (2 epochs on 480 training images, edges mined
before the second, as tests/train/methods/test_method_ci_bcnn.py's slow test), then its three
layers given random dense 3-level graphs on the trained weights (so every interaction unit has
many edges and several levels), exported and compiled: L0, L1 and L2 labels and accumulators
equal on the whole digits test split; the generated RTL bit-exact on 20 test images under
random input gaps and output backpressure, at the analytical interval within 1%; the generated
HLS C-simulated exactly on the whole test split."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from ci_bcnn_checks import interaction_layers, random_dag
from ladder_checks import assert_ladder_exact

from hwbnn.cli import main
from hwbnn.data import load_digits
from hwbnn.export import export_qonnx_model
from hwbnn.frontend.lower import lower
from hwbnn.ir.interaction import Interaction
from hwbnn.ir.serialize import load_network
from hwbnn.nn import model_config
from hwbnn.plan import load_plan
from hwbnn.reference import Reference, to_codes
from hwbnn.sim.top import SimConfig
from hwbnn.train import TrainConfig, save_checkpoint, train
from hwbnn.train.methods import build_methods


@dataclass(frozen=True)
class Trained:
    model: torch.nn.Module
    onnx: Path
    accuracy: float


@pytest.fixture(scope="module")
def ci_cnn(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    data = load_digits()
    assert data.x_train is not None and data.y_train is not None
    part = dataclasses.replace(data, x_train=data.x_train[:480], y_train=data.y_train[:480])
    config = model_config("digits-cnn", data.image_shape, 10, data.levels, data.input_bits)
    args = ["warmup=1", "mining_steps=2", "mining_batch=64", "edges_per_step=2", "tolerance=0"]
    cfg = TrainConfig(epochs=2, seed=0, progress=False, methods=build_methods([("ci_bcnn", args)]))
    result = train(config, part, cfg)
    assert result.history[-1]["ci_edges"] > 0  # mined
    model = result.model
    rng = np.random.default_rng(1)
    for layer in interaction_layers(model):
        random_dag(layer, rng)
    out = tmp_path_factory.mktemp("ci_cnn")
    save_checkpoint(out / "model.pt", model, "digits", {})
    export_qonnx_model(model.eval(), out / "model.onnx")
    return Trained(model, out / "model.onnx", result.test_accuracy)


def test_ladder_exact_on_the_whole_test_split(ci_cnn) -> None:
    from hwbnn.export import load_qonnx

    data = load_digits()
    onnx_model = load_qonnx(ci_cnn.onnx)
    net = lower(onnx_model, source=str(ci_cnn.onnx))
    nodes = [n for n in net.layers if isinstance(n, Interaction)]
    assert len(nodes) == 3 and all(n.depth >= 2 and n.edges >= 10 for n in nodes)
    x, y = data.x_test, data.y_test
    _, _, l2 = assert_ladder_exact(net, x, y, ci_cnn.model, onnx_model, frames=360)
    assert l2.accuracy is not None
    assert l2.accuracy > 0.2  # 2 epochs on 480 images, random extra edges; chance is 0.1


@pytest.mark.slow
def test_rtl_exact_under_backpressure(tmp_path: Path, ci_cnn) -> None:
    build = tmp_path / "build"
    argv = ["compile", str(ci_cnn.onnx), "-o", str(build), "--target", "rtl"]
    assert main([*argv, "--target-cycles", "600"]) == 0
    net = load_network(build)
    codes = to_codes(net.input, load_digits().x_test[:20])
    expected = Reference(net).run_codes(codes)
    assert len(np.unique(expected.accumulators, axis=0)) > 10  # a test that can fail
    from hwbnn.verify.rtl import verify_rtl

    cfg = SimConfig(seed=7, gap_prob=0.3, backpressure_prob=0.5, ii_frames=4)
    record = verify_rtl(build, codes, cfg)
    assert record.ok, record.problem
    assert record.frames == 20
    ii = record.details["initiation_interval"]
    spacings = record.details["cycle_spacings"]
    assert spacings and all(abs(s - ii) <= 0.01 * ii for s in spacings), (spacings, ii)
    estimate = load_plan(build).latency_cycles
    assert abs(estimate - record.latency_cycles) <= 0.05 * record.latency_cycles


@pytest.mark.slow
def test_hls_csim_exact_on_the_whole_test_split(tmp_path: Path, ci_cnn) -> None:
    build = tmp_path / "build"
    argv = ["compile", str(ci_cnn.onnx), "-o", str(build), "--target", "hls"]
    assert main([*argv, "--target-cycles", "600"]) == 0
    net = load_network(build)
    codes = to_codes(net.input, load_digits().x_test)
    from hwbnn.verify.csim import verify_csim

    record = verify_csim(build, codes)
    assert record.ok, record.first_mismatch
    assert record.frames == 360 and record.mismatches == 0
    assert (build / "hls" / "hwbnn_top.cpp").read_text().count("hwbnn::interact<") == 3
