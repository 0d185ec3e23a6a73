"""L3 on the trained digits conv net (digits-cnn: input thresholds, 3x3 convolutions with -1
padding, an OR max pool, a dense classifier): the generated HLS code, C-simulated with g++,
gives the reference's accumulators exactly on the first 100 digits test images, at the default
folding (through the CLI) and at a parallel one; the integer-input variant at one folding."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hwbnn.cli import main
from hwbnn.data import load_digits
from hwbnn.ir.serialize import load_network
from hwbnn.ir.types import MatrixVector, MaxPool, SlidingWindow
from hwbnn.pipeline.compile import compile_onnx
from hwbnn.pipeline.config import CompileOptions
from hwbnn.reference import Reference, to_codes
from hwbnn.sim.csim import run_csim
from hwbnn.verify.csim import verify_csim

pytestmark = pytest.mark.slow

FRAMES = 100


def _last_json(text: str) -> dict:
    return json.loads(text.strip().splitlines()[-1])


def _test_codes(build: Path) -> np.ndarray:
    net = load_network(build)
    return to_codes(net.input, load_digits().x_test[:FRAMES])


def test_digits_cnn_csim_default_folding(tmp_path: Path, capsys, digits_cnn) -> None:
    """Default folding (PE = SIMD = 1 everywhere), `hwbnn compile` then L3."""
    kinds = {type(layer) for layer in digits_cnn.net.layers}
    assert {SlidingWindow, MaxPool, MatrixVector} <= kinds
    build = tmp_path / "build"
    argv = ["compile", str(digits_cnn.onnx), "-o", str(build), "--target", "hls", "--json"]
    assert main(argv) == 0
    compiled = _last_json(capsys.readouterr().out)
    assert all(layer["pe"] == layer["simd"] == 1 for layer in compiled["layers"])
    record = verify_csim(build, _test_codes(build))
    assert record.ok and record.frames == FRAMES and record.mismatches == 0
    assert record.details["compiled"] is True


def test_digits_cnn_csim_parallel_folding(tmp_path: Path, digits_cnn) -> None:
    """A parallel folding (SIMD > 1 in the windows and pools, PE > 1, width converters); the
    accumulators themselves compared, and the labels they imply."""
    build = tmp_path / "build"
    info = compile_onnx(digits_cnn.onnx, build, CompileOptions(target="hls", target_cycles=576))
    folds = [(layer["pe"], layer["simd"]) for layer in info["layers"]]
    assert any(pe > 1 for pe, _ in folds) and any(simd > 1 for _, simd in folds)
    manifest = json.loads((build / "manifest.json").read_text())
    assert manifest["generated"]["hls"]["width_converters"] >= 1
    net = load_network(build)
    codes = _test_codes(build)
    run = run_csim(build, codes)
    reference = Reference(net).run_codes(codes)
    assert run.accumulators.shape == (FRAMES, 10)
    assert np.array_equal(run.accumulators, reference.accumulators)
    out = net.output_layer
    assert out.out_scale is not None and out.out_bias is not None
    logits = run.accumulators * out.out_scale + out.out_bias
    assert np.array_equal(np.argmax(logits, axis=1), reference.labels)


def test_digits_cnn_integer_input_csim(tmp_path: Path, digits_cnn_integer) -> None:
    """5-bit integer pixels into the first sliding window and convolution."""
    build = tmp_path / "build"
    config = CompileOptions(target="hls", target_cycles=4096)
    compile_onnx(digits_cnn_integer.onnx, build, config)
    net = load_network(build)
    first = net.layers[0]
    assert isinstance(first, SlidingWindow) and first.input_levels > 2
    record = verify_csim(build, _test_codes(build))
    assert record.ok and record.frames == FRAMES, record.first_mismatch
