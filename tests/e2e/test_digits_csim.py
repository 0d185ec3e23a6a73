"""L3 on the trained digits MLPs: the generated HLS code, C-simulated with g++, gives the
reference's accumulators exactly on the whole digits test split (the binary-input model at two
foldings, the integer-input one at one)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hwbnn.cli import main
from hwbnn.data import load_digits
from hwbnn.ir.serialize import load_network
from hwbnn.pipeline.compile import compile_onnx
from hwbnn.pipeline.config import CompileOptions
from hwbnn.reference import Reference, to_codes
from hwbnn.sim.csim import run_csim
from hwbnn.verify.csim import verify_csim
from hwbnn.verify.record import Level, read_results

pytestmark = pytest.mark.slow


def _last_json(text: str) -> dict:
    return json.loads(text.strip().splitlines()[-1])


def test_binary_digits_csim_default_folding(tmp_path: Path, capsys, digits_binary) -> None:
    """Default folding (PE = SIMD = 1 everywhere), through `hwbnn compile`, then L3 recorded."""
    build = tmp_path / "build"
    argv = ["compile", str(digits_binary.onnx), "-o", str(build), "--target", "hls", "--json"]
    assert main(argv) == 0
    compiled = _last_json(capsys.readouterr().out)
    assert all(layer["pe"] == layer["simd"] == 1 for layer in compiled["layers"])
    manifest = json.loads((build / "manifest.json").read_text())
    assert manifest["target"] == "hls" and manifest["generated"]["hls"]["top"] == "hwbnn_top"
    codes = to_codes(load_network(build).input, load_digits().x_test)
    record = verify_csim(build, codes)
    assert record.ok and record.frames == 360 and record.mismatches == 0
    assert (record.level, record.engine) == (Level.L3, "g++") and record.details["compiled"]
    # the second run reuses the binary, and replaces the record
    again = verify_csim(build, codes[:20])
    assert again.frames == 20 and again.details["compiled"] is False
    assert read_results(build) == [again]


def test_binary_digits_csim_parallel_folding(tmp_path: Path, digits_binary) -> None:
    """A parallel folding with width converters; the accumulators themselves compared."""
    build = tmp_path / "build"
    info = compile_onnx(digits_binary.onnx, build, CompileOptions(target="hls", target_cycles=64))
    folds = [(layer["pe"], layer["simd"]) for layer in info["layers"]]
    assert any(f != (1, 1) for f in folds)
    assert (
        json.loads((build / "manifest.json").read_text())["generated"]["hls"]["width_converters"]
        >= 1
    )
    net = load_network(build)
    data = load_digits()
    codes = to_codes(net.input, data.x_test)
    run = run_csim(build, codes)
    reference = Reference(net).run_codes(codes)
    assert run.accumulators.shape == (360, 10)
    assert np.array_equal(run.accumulators, reference.accumulators)
    # and the labels it implies are the reference's (argmax of the per-class affine)
    out = net.output_layer
    assert out.out_scale is not None and out.out_bias is not None
    logits = run.accumulators * out.out_scale + out.out_bias
    assert np.array_equal(np.argmax(logits, axis=1), reference.labels)


def test_integer_digits_csim(tmp_path: Path, digits_integer) -> None:
    """Integer pixels (5-bit codes, 17 levels) into the first layer; a parallel folding, so
    input beats carry several codes (the random IR tests in tests/codegen cover more)."""
    build = tmp_path / "build"
    compile_onnx(digits_integer.onnx, build, CompileOptions(target="hls", target_cycles=64))
    net = load_network(build)
    assert net.layers[0].input_bits == 5
    assert json.loads((build / "manifest.json").read_text())["generated"]["hls"]["in_width"] > 5
    record = verify_csim(build, to_codes(net.input, load_digits().x_test))
    assert record.ok and record.frames == 360, record.first_mismatch
