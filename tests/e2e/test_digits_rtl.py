"""L4: the trained digits MLP as generated RTL, simulated bit-exactly against the reference.

Three foldings (initiation intervals 128, 64 and 8 cycles/frame; widening and narrowing width
converters; one with two layers tied for slowest) on 200 digits test images under random input
gaps and output backpressure on Icarus, one of them through the command line, and one folding
on Verilator. Every frame must come out exactly once with the reference's accumulators, and
the measured cycles per frame must be the slowest layer's within 2 cycles.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hwbnn.cli import main
from hwbnn.data import load_digits
from hwbnn.ir.serialize import load_network
from hwbnn.reference import to_codes
from hwbnn.sim.runner import simulator_available
from hwbnn.sim.top import II_TOLERANCE, SimConfig, verify_rtl

FRAMES = 200
# (input_threshold, MatMul_0 128x64, MatMul_1 128x128, MatMul_2 10x128) as (PE, SIMD)
FOLDINGS = {
    # 4 -> 16 widening, 8 -> 4 and 64 -> 32 narrowing; MatMul_0 and MatMul_1 both 64 cycles
    "ii64": [(1, 4), (8, 16), (64, 4), (5, 32)],
    # 8 -> 64 and 16 -> 64 widening, 32 -> 16 narrowing; 2,080 XNOR lanes
    "ii8": [(1, 8), (16, 64), (32, 64), (10, 16)],
}
LAYERS = ["input_threshold", "MatMul_0", "MatMul_1", "MatMul_2"]


def _compile(tmp_path: Path, onnx: Path, name: str) -> Path:
    rows = [
        {"layer": layer, "pe": pe, "simd": simd}
        for layer, (pe, simd) in zip(LAYERS, FOLDINGS[name], strict=True)
    ]
    folding = tmp_path / f"{name}.json"
    folding.write_text(json.dumps({"layers": rows}))
    build = tmp_path / name
    argv = ["compile", str(onnx), "-o", str(build), "--target", "rtl", "--folding", str(folding)]
    assert main(argv) == 0
    return build


def _digits_codes(build: Path):
    net = load_network(build)
    return to_codes(net.input, load_digits().x_test[:FRAMES])


def _check(report) -> None:
    assert report.ok, report.failure_summary()
    for phase in report.phases:  # nothing lost, nothing duplicated
        assert phase.frames_received == phase.frames
        assert phase.beats_received == phase.frames * report.extra["sizes"]["OUT_BEATS"]
    assert report.frames == FRAMES
    assert report.cycle_spacings, "no steady-state frame spacing measured"
    assert report.ii_within_tolerance, (report.cycle_spacings, report.initiation_interval)
    assert abs(report.cycles_per_frame - report.initiation_interval) <= II_TOLERANCE


@pytest.mark.slow
def test_cli_compile_and_sim_chosen_folding(tmp_path: Path, capsys, digits_binary) -> None:
    """compile --target rtl --target-cycles 128, then hwbnn sim on 200 test images."""
    build = tmp_path / "build"
    argv = ["compile", str(digits_binary.onnx), "-o", str(build), "--target", "rtl"]
    assert main([*argv, "--target-cycles", "128"]) == 0
    capsys.readouterr()
    code = main(
        ["sim", str(build), "--dataset", "digits", "--n", str(FRAMES), "--seed", "7"]
        + ["--backpressure-prob", "0.5", "--json"]
    )
    out = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(out[-1])
    assert code == 0 and summary["ok"], out[-5:]
    assert summary["frames"] == FRAMES and summary["mismatched_frames"] == 0
    stress, throughput = summary["phases"]
    assert stress["frames_received"] == FRAMES and not stress["framing_errors"]
    assert throughput["frames_received"] == throughput["frames"] == 8
    assert summary["initiation_interval"] == 128
    assert all(abs(s - 128) <= II_TOLERANCE for s in summary["cycle_spacings"])
    assert summary["ii_within_tolerance"] is True
    assert (build / "sim" / "icarus").is_dir()  # the simulation builds inside the build dir


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FOLDINGS))
def test_icarus_under_backpressure(tmp_path: Path, digits_binary, name: str) -> None:
    build = _compile(tmp_path, digits_binary.onnx, name)
    cfg = SimConfig(seed=3, gap_prob=0.3, backpressure_prob=0.5)
    report = verify_rtl(build, _digits_codes(build), cfg)
    _check(report)
    assert report.initiation_interval == int(name.removeprefix("ii"))


@pytest.mark.slow
@pytest.mark.verilator
@pytest.mark.skipif(not simulator_available("verilator"), reason="verilator not found")
def test_verilator_under_backpressure(tmp_path: Path, digits_binary) -> None:
    build = _compile(tmp_path, digits_binary.onnx, "ii64")
    cfg = SimConfig(simulator="verilator", seed=5, gap_prob=0.4, backpressure_prob=0.4)
    report = verify_rtl(build, _digits_codes(build), cfg)
    _check(report)
    assert report.simulator == "verilator" and (build / "sim" / "verilator").is_dir()
