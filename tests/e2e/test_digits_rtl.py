"""L4: the trained digits MLP as generated RTL, simulated bit-exactly against the reference.

Three foldings (initiation intervals 128, 64 and 8 cycles/frame; widening and narrowing width
converters; one with two layers tied for slowest) on 200 digits test images under random input
gaps and output backpressure on Icarus, and one folding on Verilator, each judged and recorded
by hwbnn.verify.rtl. Every frame must come out exactly once with the reference's accumulators,
and the measured cycles per frame must be the slowest layer's within 2 cycles.
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
from hwbnn.sim.top import II_TOLERANCE, SimConfig
from hwbnn.verify.record import VerificationRecord, read_results
from hwbnn.verify.rtl import verify_rtl

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


def _check(record: VerificationRecord, build: Path) -> None:
    assert record.ok, record.problem
    for phase in record.details["phases"]:  # nothing lost, nothing duplicated
        assert phase["frames_received"] == phase["frames"] and phase["mismatches"] == 0
    stress, throughput = record.details["phases"]
    assert stress["frames"] == FRAMES and record.frames == FRAMES  # throughput resends some
    details = record.details
    assert details["cycle_spacings"], "no steady-state frame spacing measured"
    assert details["ii_within_tolerance"], (
        details["cycle_spacings"],
        details["initiation_interval"],
    )
    assert record.cycles_per_frame is not None
    assert abs(record.cycles_per_frame - details["initiation_interval"]) <= II_TOLERANCE
    assert read_results(build) == [record]


@pytest.mark.slow
def test_compile_and_sim_chosen_folding(tmp_path: Path, capsys, digits_binary) -> None:
    """compile --target rtl --target-cycles 128, then L4 on 200 test images."""
    build = tmp_path / "build"
    argv = ["compile", str(digits_binary.onnx), "-o", str(build), "--target", "rtl"]
    assert main([*argv, "--target-cycles", "128"]) == 0
    cfg = SimConfig(seed=7, backpressure_prob=0.5)
    record = verify_rtl(build, _digits_codes(build), cfg)
    _check(record, build)
    assert record.details["phases"][1]["frames"] == 8
    assert record.details["initiation_interval"] == 128
    assert Path(record.details["sim_dir"]) == build / "sim" / "icarus"


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FOLDINGS))
def test_icarus_under_backpressure(tmp_path: Path, digits_binary, name: str) -> None:
    build = _compile(tmp_path, digits_binary.onnx, name)
    cfg = SimConfig(seed=3, gap_prob=0.3, backpressure_prob=0.5)
    record = verify_rtl(build, _digits_codes(build), cfg)
    _check(record, build)
    assert record.details["initiation_interval"] == int(name.removeprefix("ii"))


@pytest.mark.slow
@pytest.mark.verilator
@pytest.mark.skipif(not simulator_available("verilator"), reason="verilator not found")
def test_verilator_under_backpressure(tmp_path: Path, digits_binary) -> None:
    build = _compile(tmp_path, digits_binary.onnx, "ii64")
    cfg = SimConfig(simulator="verilator", seed=5, gap_prob=0.4, backpressure_prob=0.4)
    record = verify_rtl(build, _digits_codes(build), cfg)
    _check(record, build)
    assert record.engine == "verilator" and (build / "sim" / "verilator").is_dir()
