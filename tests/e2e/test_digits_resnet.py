"""digits-resnet end to end: trained 10 epochs, lowered to a graph (forks, side-input
thresholds), L0, L1 (qonnx execute_onnx) and L2 labels equal on the whole digits test split and
the L2 accumulators equal to torch's dot products, and the generated RTL bit-exact under random
input gaps and output backpressure at the analytical interval (Icarus on 20 test images,
Verilator on the whole split), and the generated HLS C-simulated exactly on the whole test split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from ladder_checks import assert_ladder_exact

from hwbnn.cli import main
from hwbnn.data import load_digits
from hwbnn.export import load_qonnx
from hwbnn.ir.folding import choose_folding
from hwbnn.ir.serialize import load_network
from hwbnn.ir.types import Fork, Threshold
from hwbnn.plan import load_plan
from hwbnn.reference import Reference, to_codes
from hwbnn.sim.top import SimConfig
from hwbnn.train import load_checkpoint


def test_lowered_graph_has_two_residual_joins(digits_resnet) -> None:
    net = digits_resnet.net
    assert not net.is_chain
    forks = [n for n in net.layers if isinstance(n, Fork)]
    joins = [n for n in net.layers if isinstance(n, Threshold) and n.has_side]
    assert len(forks) == 2 and len(joins) == 2
    for join in joins:
        acc, side = net.inputs_of(join.name)
        assert net.edge(acc).kind.value == "int" and net.edge(side).kind.value == "bits"


def test_ladder_exact_on_the_whole_test_split(digits_resnet) -> None:
    data = load_digits()
    model, _ = load_checkpoint(digits_resnet.checkpoint)
    onnx_model = load_qonnx(digits_resnet.onnx)
    net, accuracy = digits_resnet.net, digits_resnet.test_accuracy
    assert_ladder_exact(
        net, data.x_test, data.y_test, model, onnx_model, frames=360, accuracy=accuracy
    )


#: test images per simulator: the cocotb bench on Icarus checks the protocol on a few frames,
#: the compiled Verilator model runs the whole test split (CI time)
FRAMES = {"icarus": 20, "verilator": 360}


@pytest.mark.slow
@pytest.mark.parametrize(
    "simulator", ["icarus", pytest.param("verilator", marks=pytest.mark.verilator)]
)
def test_rtl_exact_at_the_interval(tmp_path: Path, digits_resnet, simulator: str) -> None:
    folding = choose_folding(digits_resnet.net, 600)
    folding_file = tmp_path / "folding.json"
    folding_file.write_text(folding.to_json(digits_resnet.net))
    build = tmp_path / "build"
    argv = ["compile", str(digits_resnet.onnx), "-o", str(build), "--target", "rtl"]
    assert main([*argv, "--folding", str(folding_file)]) == 0
    net = load_network(build)
    frames = FRAMES[simulator]
    codes = to_codes(net.input, load_digits().x_test[:frames])
    expected = Reference(net).run_codes(codes)
    assert len(np.unique(expected.accumulators, axis=0)) > frames // 2  # a test that can fail
    from hwbnn.verify.rtl import verify_rtl

    cfg = SimConfig(seed=5, gap_prob=0.3, backpressure_prob=0.5, simulator=simulator)
    record = verify_rtl(build, codes, cfg)
    assert record.ok, record.problem
    assert record.frames == frames
    ii = record.details["initiation_interval"]
    spacings = record.details["cycle_spacings"]
    assert spacings and all(abs(s - ii) <= 0.01 * ii for s in spacings), (spacings, ii)
    estimate = load_plan(build).latency_cycles  # hwbnn.plan.latency, over the longest path
    assert abs(estimate - record.latency_cycles) <= 0.05 * record.latency_cycles


@pytest.mark.slow
def test_hls_csim_exact_on_the_whole_test_split(tmp_path: Path, digits_resnet) -> None:
    build = tmp_path / "build"
    argv = ["compile", str(digits_resnet.onnx), "-o", str(build), "--target", "hls"]
    assert main([*argv, "--target-cycles", "600"]) == 0
    net = load_network(build)
    codes = to_codes(net.input, load_digits().x_test)
    from hwbnn.verify.csim import verify_csim

    record = verify_csim(build, codes)
    assert record.ok, record.first_mismatch
    assert record.frames == 360 and record.mismatches == 0
    top = (build / "hls" / "hwbnn_top.cpp").read_text()
    assert top.count("hwbnn::fork<") == 2 and top.count("hwbnn::threshold<") == 2
