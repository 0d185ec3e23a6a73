"""Folding files given to `hwbnn compile --folding` (issue 17: ``"pe": 2.5`` became 2): PE and
SIMD are whole JSON numbers that divide their layer's sizes; ``2.5``, ``2.0``, ``"2"``,
``true``, ``0``, negative, huge and non-dividing values, unknown keys, layers named twice,
unknown or missing layers are each one line on stderr naming the file and the layer, a
non-zero exit, and no build directory. The same file read back from a build (``hwbnn sim``
reads BUILD/folding.json) is checked the same way. The model is a tiny untrained MLP exported
by hwbnn's own exporter (no training); the commands run through the CLI's ``main()``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from test_cli_inputs import assert_refused, run


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A 16-input MLP (hidden 8, 4 classes) as QONNX, compiled once with its default folding:
    the model's path, the build and the folding rows."""
    import torch

    from hwbnn.export import export_qonnx_model
    from hwbnn.nn.zoo import build_model, mlp_config

    root = tmp_path_factory.mktemp("cli_folding")
    torch.manual_seed(0)
    net = build_model(mlp_config("digits-mlp", (1, 4, 4), 4, 5, 3, "binary", hidden=(8,)))
    onnx = root / "model.onnx"
    export_qonnx_model(net, onnx)
    build = root / "build"
    assert _compile(onnx, build, None) == 0
    rows = json.loads((build / "folding.json").read_text())["layers"]
    return {"onnx": onnx, "build": build, "rows": rows}


def _compile(onnx: Path, build: Path, folding: Path | None) -> int:
    from hwbnn.cli import main

    extra = [] if folding is None else ["--folding", str(folding)]
    return main(["compile", str(onnx), "-o", str(build), "--target", "rtl", *extra])


def _matrix_layer(rows: list[dict]) -> tuple[int, str]:
    """The index and name of the hidden matrix-vector layer (16 -> 8): the second row."""
    assert len(rows) == 3, rows  # input threshold, hidden layer, classifier
    return 1, rows[1]["layer"]


def _cases(rows: list[dict]) -> dict[str, tuple[list[dict], str]]:
    """Bad folding rows and what the error must say besides the layer's name."""
    index, name = _matrix_layer(rows)

    def with_(**fields: object) -> list[dict]:
        changed = [dict(r) for r in rows]
        changed[index].update(fields)
        return changed

    return {
        "pe-2.5": (with_(pe=2.5), "pe must be a whole number, got 2.5"),
        "pe-2.0": (with_(pe=2.0), "pe must be a whole number, got 2.0"),
        "pe-string": (with_(pe="2"), "pe must be a whole number, got '2'"),
        "pe-true": (with_(pe=True), "pe must be a whole number, got True"),
        "pe-null": (with_(pe=None), "pe must be a whole number, got None"),
        "simd-list": (with_(simd=[1]), "simd must be a whole number"),
        "pe-zero": (with_(pe=0), "PE and SIMD must be >= 1"),
        "pe-negative": (with_(pe=-2), "PE and SIMD must be >= 1"),
        "simd-negative": (with_(simd=-1), "PE and SIMD must be >= 1"),
        "pe-huge": (with_(pe=2**70), "does not divide"),
        "pe-not-dividing": (with_(pe=3), "PE=3 does not divide MH=8"),
        "simd-not-dividing": (with_(simd=5), "SIMD=5 does not divide"),
        "weights": (with_(weights="flash"), "weights 'flash' is not one of"),
        "unknown-key": (with_(PE=2), "unknown key 'PE'"),
        "missing-simd": (
            [*rows[:index], {"layer": name, "pe": 1}, *rows[index + 1 :]],
            "'simd' missing",
        ),  # fmt: skip
        "twice": ([*rows, dict(rows[index])], "has two rows"),
        "unknown-layer": ([*rows, {"layer": "fc9", "pe": 1, "simd": 1}], "unknown layer 'fc9'"),
        "missing-layer": ([r for i, r in enumerate(rows) if i != index], "no folding for layer"),
    }


def test_bad_folding_values_are_refused_naming_the_layer(
    model: dict, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    capfd.readouterr()
    rows = model["rows"]
    _, name = _matrix_layer(rows)
    for case, (bad_rows, word) in _cases(rows).items():
        folding = tmp_path / f"{case}.json"
        folding.write_text(json.dumps({"layers": bad_rows}))
        build = tmp_path / f"build-{case}"
        status = _compile(model["onnx"], build, folding)
        line = assert_refused(status, capfd.readouterr().err, str(folding), word)
        if case != "unknown-layer":
            assert repr(name) in line or f"layer {name}:" in line, (case, line)
        assert not build.exists(), case  # no build, not even a half-written one
    # not a folding file at all
    for case, text in {"list": "[1]", "rows": '{"layers": {"pe": 1}}', "junk": "{pe: 2"}.items():
        folding = tmp_path / f"{case}.json"
        folding.write_text(text)
        status = _compile(model["onnx"], tmp_path / f"build-{case}", folding)
        assert_refused(status, capfd.readouterr().err, str(folding), "not a folding file")


def test_a_good_folding_file_compiles_as_written(
    model: dict, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    rows = [dict(r) for r in model["rows"]]
    index, _ = _matrix_layer(rows)
    rows[index]["pe"] = 2
    folding = tmp_path / "f.json"
    folding.write_text(json.dumps({"layers": rows}))
    assert _compile(model["onnx"], tmp_path / "build", folding) == 0
    written = json.loads((tmp_path / "build" / "folding.json").read_text())["layers"]
    assert [(r["pe"], r["simd"]) for r in written] == [(r["pe"], r["simd"]) for r in rows]


def test_a_damaged_folding_json_in_a_build_is_refused_by_sim(
    model: dict, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    build = tmp_path / "build"
    shutil.copytree(model["build"], build)
    rows = [dict(r) for r in model["rows"]]
    index, name = _matrix_layer(rows)
    rows[index]["pe"] = 2.5
    (build / "folding.json").write_text(json.dumps({"layers": rows}))
    capfd.readouterr()
    np.save(tmp_path / "x.npy", np.zeros((2, 1, 4, 4), np.float32))
    status, _, err = run(["sim", str(build), "--inputs", str(tmp_path / "x.npy")], capfd)
    assert_refused(status, err, str(build / "folding.json"), repr(name), "2.5")
    assert not (build / "sim").exists()
