"""L3 for hls4ml: ``hwbnn compile --target hls4ml`` projects of the digits MLPs, C-simulated by
hls4ml (compile + predict), give the reference's integer accumulators on the whole test split."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from hwbnn.cli import main
from hwbnn.codegen.cxx import compile_executable
from hwbnn.codegen.hls4ml_backend import check_csim, load_project
from hwbnn.data import load_digits
from hwbnn.ir.serialize import load_network
from hwbnn.plan import load_plan
from hwbnn.reference import Reference
from hwbnn.reference.executor import to_codes

#: Two foldings of the binary-input digits MLP (64 -> 128 -> 128 -> 10). None is the compile
#: default (PE = SIMD = 1 everywhere); the other reads 64 input codes per beat, narrows the
#: thresholded beats to 32, widens 4-bit beats to a 128-bit weight word (string-initialised
#: ap_uint in synthesis) and emits all 10 accumulators in one beat.
FOLDINGS = {
    "default": None,
    "wide": {
        "input_threshold": (1, 64),
        "MatMul_0": (4, 32),
        "MatMul_1": (8, 128),
        "MatMul_2": (10, 8),
    },
}

#: Files of the project that depend only on the model and folding (not on hls4ml's build stamp).
STABLE_FILES = (
    "firmware/parameters.h",
    "firmware/defines.h",
    "firmware/hwbnn_hls4ml.cpp",
    "firmware/nnet_utils/nnet_hwbnn.h",
    "firmware/nnet_utils/mvau.hpp",
)


def _compile(onnx_path: Path, build: Path, folding: dict | None, capsys) -> dict:
    argv = ["compile", str(onnx_path), "-o", str(build), "--target", "hls4ml", "--json"]
    if folding is not None:
        rows = [{"layer": name, "pe": pe, "simd": simd} for name, (pe, simd) in folding.items()]
        path = build.parent / f"{build.name}_folding.json"
        path.write_text(json.dumps({"layers": rows}))
        argv += ["--folding", str(path)]
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def _run_project_testbench(project: Path) -> None:
    """Build the project's own testbench (what Vitis HLS csim runs) with g++ and compare its
    csim_results.log with the reference accumulators hwbnn wrote to tb_data."""
    exe = compile_executable(
        [project / "hwbnn_hls4ml_test.cpp", project / "firmware" / "hwbnn_hls4ml.cpp"],
        project / "tb_build",
        "tb",
        include_dirs=[project],
        system_include_dirs=[project / "firmware" / "ap_types"],
    )
    subprocess.run([str(exe)], cwd=project, check=True, capture_output=True)

    def rows(name: str) -> np.ndarray:
        text = (project / "tb_data" / name).read_text()
        return np.array([[int(v) for v in line.split()] for line in text.splitlines()])

    expected = rows("tb_output_predictions.dat")
    assert len(expected) == 8
    assert np.array_equal(rows("csim_results.log"), expected)


def _check_build(build: Path) -> None:
    data = load_digits()
    net = load_network(build)
    written = {name: (build / "hls4ml" / name).read_text() for name in STABLE_FILES}
    model = load_project(build)
    # the project's hwbnn layers render the build's hardware plan, unit for unit
    units = [n.get_attr("unit") for n in model.get_layers() if n.get_attr("unit") is not None]
    assert units == list(load_plan(build).units)
    model.compile()  # rewrites the project in place, then builds the C-sim library
    for name, text in written.items():
        assert (build / "hls4ml" / name).read_text() == text, f"{name} differs when rebuilt"
    codes = to_codes(net.input, data.x_test)
    check = check_csim(model, net, codes)
    assert check.frames == 360
    assert check.ok, check.mismatch
    expected = Reference(net).run_codes(codes)
    assert np.array_equal(check.accumulators, expected.accumulators)
    out = net.output_layer
    labels = np.argmax(check.accumulators * out.out_scale + out.out_bias, axis=1)
    assert np.array_equal(labels, expected.labels)
    assert np.mean(labels == data.y_test) >= 0.85


@pytest.mark.slow
@pytest.mark.parametrize("folding", sorted(FOLDINGS))
def test_binary_digits_hls4ml_csim_exact(digits_binary, tmp_path: Path, capsys, folding) -> None:
    build = tmp_path / "build"
    summary = _compile(digits_binary.onnx, build, FOLDINGS[folding], capsys)
    assert summary["ok"] and summary["target"] == "hls4ml"
    if FOLDINGS[folding] is not None:
        got = {row["name"]: (row["pe"], row["simd"]) for row in summary["layers"]}
        assert got == FOLDINGS[folding]
    manifest = json.loads((build / "manifest.json").read_text())
    assert manifest["generated"]["hls4ml"]["dir"] == "hls4ml"
    config = (build / "hls4ml" / "hls4ml_config.yml").read_text()
    assert "OutputDir: hls4ml\n" in config and "IOType: io_stream" in config
    if folding == "wide":
        _run_project_testbench(build / "hls4ml")
    _check_build(build)


@pytest.mark.slow
def test_integer_digits_hls4ml_csim_exact(digits_integer, tmp_path: Path, capsys) -> None:
    build = tmp_path / "build"
    folding = {"MatMul_0": (2, 4), "MatMul_1": (4, 2), "MatMul_2": (5, 4)}
    _compile(digits_integer.onnx, build, folding, capsys)
    _check_build(build)
