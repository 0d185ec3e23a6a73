"""The acceptance of the one judge on the trained digits MLP: L0-L2 (eval), L3 (csim, g++ and
hls4ml), L4 (sim) and the driver round trip each leave one record with 0 mismatches in
BUILD/verification.json, and the report shows them passed; a wrong output (a perturbed torch
model, a corrupted memory file) gives mismatches > 0 with a message naming layer, channel and
frame."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from hwbnn.data import load_digits
from hwbnn.export import load_qonnx
from hwbnn.ir.serialize import load_network
from hwbnn.reference import Reference, to_codes
from hwbnn.sim.top import SimConfig
from hwbnn.train import load_checkpoint
from hwbnn.verify.csim import verify_csim
from hwbnn.verify.driver import verify_driver
from hwbnn.verify.ladder import verify_ladder
from hwbnn.verify.record import Level, read_results
from hwbnn.verify.rtl import verify_rtl


def test_ladder_records_and_a_wrong_torch_model(
    digits_binary, compile_digits, tmp_path: Path
) -> None:
    build = compile_digits(digits_binary.onnx, tmp_path / "ir", "ir")
    data = load_digits()
    model, _ = load_checkpoint(digits_binary.checkpoint)
    records = verify_ladder(
        build,
        data.x_test,
        data.y_test,
        torch_model=model,
        onnx_model=load_qonnx(digits_binary.onnx),
        command="hwbnn eval",
    )
    assert [(r.level, r.engine) for r in records] == [
        (Level.L0, "torch"),
        (Level.L1, "execute_onnx"),
        (Level.L2, "numpy"),
    ]
    for record in records:
        assert record.ok and record.frames == 360 and record.mismatches == 0, record.problem
        assert record.accuracy == pytest.approx(digits_binary.test_accuracy, abs=0)
    assert read_results(build) == records
    # negate class 3's weights in a copy of the torch model: its dot products change sign
    wrong = copy.deepcopy(model)
    last = [m for m in wrong.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():
        last.weight[3] = -last.weight[3]
    net = load_network(build)
    expected = Reference(net).run(data.x_test).accumulators
    frame = int(np.flatnonzero(expected[:, 3] != 0)[0])
    _, l2 = verify_ladder(build, data.x_test, None, torch_model=wrong)
    assert not l2.ok and l2.details["accumulators_vs_torch_mismatches"] > 0
    layer = net.output_layer.name
    assert l2.first_mismatch == (
        f"layer {layer} accumulators (vs torch), frame {frame}, channel 3: "
        f"expected {float(expected[frame, 3])}, got {float(-expected[frame, 3])}"
    )
    assert {r.level for r in read_results(build)} == {Level.L0, Level.L1, Level.L2}


@pytest.mark.slow
def test_every_level_recorded_and_reported(digits_binary, digits_rtl_build, tmp_path) -> None:
    """eval, sim, the driver round trip and csim on one build: one passing record each."""
    from hwbnn.codegen.hls import generate_hls
    from hwbnn.ir.folding import load_folding
    from hwbnn.report import write_build_report

    build = tmp_path / "build"
    shutil.copytree(digits_rtl_build, build)
    net = load_network(build)
    # the C++ of the same design beside its Verilog, so that L3 runs in this build too
    generate_hls(net, load_folding(build / "folding.json", net), build / "model.onnx", build)
    data = load_digits()
    model, _ = load_checkpoint(digits_binary.checkpoint)
    verify_ladder(build, data.x_test, data.y_test, torch_model=model)
    codes = to_codes(net.input, data.x_test)
    verify_csim(build, codes)
    verify_rtl(build, codes[:20], SimConfig(seed=2, ii_frames=4))
    verify_driver(build, codes[:6])
    records = read_results(build)
    assert [(r.level, r.engine) for r in records] == [
        (Level.L0, "torch"),
        (Level.L2, "numpy"),
        (Level.L3, "g++"),
        (Level.L4, "icarus"),
        (Level.DRIVER, "uart/icarus"),
    ]
    for record in records:
        assert record.ok and record.mismatches == 0, (record.level, record.problem)
    assert [r.frames for r in records] == [360, 360, 360, 20, 6]
    html = Path(write_build_report(build, sweep_points=2)["index"]).read_text()
    for record in records:
        row = html[html.index(f"{record.level.title} ({record.engine})") :].split("</tr>")[0]
        assert ">pass<" in row and f"{record.frames:,} frames, 0 mismatching" in row
    assert html.count(">not run<") == 2  # L1 (no ONNX given) and L5


@pytest.mark.slow
def test_driver_round_trip_catches_a_corrupted_memory(digits_rtl_build, tmp_path) -> None:
    build = tmp_path / "build"
    shutil.copytree(digits_rtl_build, build)
    net = load_network(build)
    out = len(net.layers) - 1
    (hexfile,) = (build / "rtl").glob(f"l{out}_*_weights.hex")
    lines = hexfile.read_text().splitlines()
    first = next(i for i, line in enumerate(lines) if not line.startswith("//"))
    lines[first] = f"{int(lines[first], 16) ^ 1:0{len(lines[first])}x}"
    hexfile.write_text("\n".join(lines) + "\n")
    codes = to_codes(net.input, load_digits().x_test[:4])
    record = verify_driver(build, codes)
    assert not record.ok and record.mismatches == 4 and record.level is Level.DRIVER
    assert record.first_mismatch is not None
    assert record.first_mismatch.startswith(
        f"layer {net.output_layer.name} accumulators, frame 0, channel 0: expected "
    )


@pytest.mark.slow
def test_hls4ml_csim_is_recorded(
    digits_binary, compile_digits, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`hwbnn csim` on a --target hls4ml build: engine hls4ml, exact, its log in the build;
    a wrong output value is named (hls4ml's trace agrees with the reference on every layer,
    so the output layer is the one named)."""
    build = compile_digits(digits_binary.onnx, tmp_path / "hls4ml", "hls4ml")
    net = load_network(build)
    record = verify_csim(build, to_codes(net.input, load_digits().x_test), command="csim")
    assert (record.level, record.engine) == (Level.L3, "hls4ml")
    assert record.ok and record.frames == 360 and record.mismatches == 0, record.problem
    assert read_results(build) == [record]
    assert Path(record.details["log"]).is_file()
    import hwbnn.codegen.hls4ml_backend as backend

    true_predict = backend.predict_accumulators

    def off_by_one(model, codes):
        acc = true_predict(model, codes)
        acc[5, 7] += 1
        return acc

    monkeypatch.setattr(backend, "predict_accumulators", off_by_one)
    codes = to_codes(net.input, load_digits().x_test[:8])
    expected = Reference(net).run_codes(codes).accumulators
    wrong = verify_csim(build, codes)
    assert not wrong.ok and wrong.mismatches == 1 and wrong.engine == "hls4ml"
    assert wrong.first_mismatch == (
        f"layer {net.output_layer.name} accumulators, frame 5, channel 7: "
        f"expected {expected[5, 7]}, got {expected[5, 7] + 1}"
    )
    assert read_results(build) == [wrong]
