"""Deterministic Binary Filter networks end to end (hwbnn.nn.dbf -> hwbnn.ir.dbf -> rtl/hwbnn_dbf.v
and hls/hwbnn/dbf.hpp): digits-mlp and digits-cnn trained with ``--method dbf``, exported,
compiled; L0, L1 and L2 labels equal and the accumulators exact on the whole digits test
split; the generated RTL exact on 20 test images under random gaps and backpressure in the
fast Verilator engine, at the analytical cycles per frame; the generated HLS C-simulated
exactly on the whole split.

The MLP (64-128-128-10, M = 32 bases, 4-bit alpha, binarized input) trains 5 epochs; the conv
net (M = 8) 2 epochs: enough for exactness, not for accuracy.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ladder_checks import assert_ladder_exact

from hwbnn.data import load_digits
from hwbnn.export import load_qonnx
from hwbnn.frontend.lower import lower
from hwbnn.ir.serialize import load_network
from hwbnn.ir.types import DBFMatrixVector, Network, SlidingWindow
from hwbnn.pipeline.compile import compile_onnx
from hwbnn.pipeline.config import CompileOptions, TrainOptions
from hwbnn.pipeline.steps import export_checkpoint, train_to_dir
from hwbnn.reference import to_codes
from hwbnn.sim.runner import simulator_available
from hwbnn.sim.top import SimConfig
from hwbnn.train import load_checkpoint
from hwbnn.verify.csim import verify_csim
from hwbnn.verify.rtl import verify_rtl

pytestmark = pytest.mark.slow

#: (model, epochs, DBF arguments, target cycles per frame of the RTL/HLS builds)
MODELS = {
    "mlp": ("digits-mlp", 5, (), 64),
    "cnn": ("digits-cnn", 2, ("bases=8",), 1024),
}
RTL_FRAMES = 20


@pytest.fixture(scope="module", params=sorted(MODELS))
def trained(request, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, Network]:
    name = request.param
    model, epochs, args, _ = MODELS[name]
    out = tmp_path_factory.mktemp(f"dbf_{name}")
    opts = TrainOptions(model=model, epochs=epochs, methods=(("dbf", args),))
    train_to_dir(out, opts, progress=False)
    export_checkpoint(out / "model.pt", out / "model.onnx", None)
    return name, out, lower(load_qonnx(out / "model.onnx"), source=str(out / "model.onnx"))


def test_ladder_exact(trained) -> None:
    name, out, net = trained
    dbf = [layer for layer in net.layers if isinstance(layer, DBFMatrixVector)]
    assert dbf and net.layers[-1] is dbf[-1]  # every product is a DBF unit, the last too
    if name == "cnn":
        assert any(layer.pixels > 1 for layer in dbf)
        assert any(isinstance(layer, SlidingWindow) for layer in net.layers)
    data = load_digits()
    model, _ = load_checkpoint(out / "model.pt")
    # L2's accumulators are the integer y_c: torch's last-layer sums without the power-of-two
    # alpha scales s_c
    onnx_model = load_qonnx(out / "model.onnx")
    x, y = data.x_test, data.y_test
    _, _, l2 = assert_ladder_exact(net, x, y, model, onnx_model, frames=360)
    assert l2.accuracy is not None and l2.accuracy > (0.7 if name == "mlp" else 0.2)


def _build(out: Path, name: str, target: str) -> Path:
    build = out / f"build_{target}"
    if not build.exists():
        cycles = MODELS[name][3]
        compile_onnx(out / "model.onnx", build, CompileOptions(target=target, target_cycles=cycles))
    return build


@pytest.mark.verilator
@pytest.mark.skipif(not simulator_available("verilator"), reason="verilator not found")
def test_rtl_exact_under_backpressure(trained) -> None:
    name, out, _ = trained
    build = _build(out, name, "rtl")
    net = load_network(build)
    codes = to_codes(net.input, load_digits().x_test[:RTL_FRAMES])
    cfg = SimConfig(seed=7, gap_prob=0.3, backpressure_prob=0.4, ii_frames=8, fast=True)
    record = verify_rtl(build, codes, cfg)
    assert record.ok, record.problem
    assert record.engine == "verilator-fast" and record.frames == RTL_FRAMES
    assert record.details["initiation_interval"] == MODELS[name][3]
    assert record.details["ii_within_tolerance"], record.details


def test_hls_csim_exact(trained) -> None:
    name, out, _ = trained
    build = _build(out, name, "hls")
    codes = to_codes(load_network(build).input, load_digits().x_test)
    record = verify_csim(build, codes)
    assert record.ok and record.frames == len(codes) and record.mismatches == 0
