"""The hwbnn command: --json summaries, eval on raw tensors, and one-line errors on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from hwbnn.cli import main
from hwbnn.data import load_digits


def _run(capsys, *argv: str) -> tuple[int, list[str], str]:
    code = main([*argv])
    captured = capsys.readouterr()
    return code, captured.out.strip().splitlines(), captured.err


def _last_json(lines: list[str]) -> dict:
    return json.loads(lines[-1])


def test_compile_and_eval_json(tmp_path: Path, capsys, digits_binary) -> None:
    build = tmp_path / "build"
    code, out, _ = _run(capsys, "compile", str(digits_binary.onnx), "-o", str(build), "--json")
    assert code == 0
    summary = _last_json(out)
    assert summary["ok"] and [layer["kind"] for layer in summary["layers"]][0] == "input_threshold"
    assert (build / "ir.json").is_file() and (build / "manifest.json").is_file()
    code, out, _ = _run(capsys, "eval", str(build), "--dataset", "digits", "--json")
    assert code == 0
    report = _last_json(out)
    assert report["frames"] == 360 and report["label_mismatches"] == {"L2_vs_L0": 0, "L1_vs_L0": 0}
    assert report["accumulator_mismatches"] == 0


def test_eval_raw_inputs_and_save(tmp_path: Path, capsys, digits_binary) -> None:
    build = tmp_path / "build"
    assert main(["compile", str(digits_binary.onnx), "-o", str(build)]) == 0
    data = load_digits()
    np.save(tmp_path / "x.npy", data.x_test[:50])
    np.save(tmp_path / "y.npy", data.y_test[:50])
    code, out, _ = _run(
        capsys,
        "eval",
        str(build),
        "--inputs",
        str(tmp_path / "x.npy"),
        "--labels",
        str(tmp_path / "y.npy"),
        "--save",
        str(tmp_path / "out.npz"),
        "--json",
    )
    assert code == 0 and _last_json(out)["frames"] == 50
    saved = np.load(tmp_path / "out.npz")
    assert saved["accumulators"].shape == (50, 10) and saved["labels"].shape == (50,)
    # a value that is not an input code is an error unless --round is given
    np.save(tmp_path / "bad.npy", data.x_test[:5] + np.float32(0.01))
    code, _, err = _run(capsys, "eval", str(build), "--inputs", str(tmp_path / "bad.npy"))
    assert code == 1 and "is not one of the model's 17 input codes" in err
    code, _, _ = _run(capsys, "eval", str(build), "--inputs", str(tmp_path / "bad.npy"), "--round")
    assert code == 0


def _write(model: onnx.ModelProto, path: Path) -> Path:
    onnx.save(model, str(path))
    return path


def _float_weight_model(op: str = "MatMul") -> onnx.ModelProto:
    w = numpy_helper.from_array(
        np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32), "w"
    )
    s = numpy_helper.from_array(np.asarray(1.0, dtype=np.float32), "s")
    nodes = [
        helper.make_node(
            "BipolarQuant", ["x", "s"], ["xq"], domain="qonnx.custom_op.general", name="InQuant"
        ),
        helper.make_node(op, ["xq", "w"], ["y"], name=f"{op}_0"),
    ]
    if op == "Relu":
        nodes[1] = helper.make_node("Relu", ["xq"], ["y"], name="Relu_0")
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3 if op != "Relu" else 4])],
        initializer=[w, s],
    )
    return helper.make_model(
        graph,
        opset_imports=[
            helper.make_opsetid("", 13),
            helper.make_opsetid("qonnx.custom_op.general", 1),
        ],
    )


def test_non_binary_weights_error(tmp_path: Path, capsys) -> None:
    path = _write(_float_weight_model(), tmp_path / "float.onnx")
    code, _, err = _run(capsys, "compile", str(path), "-o", str(tmp_path / "b"))
    assert code == 1
    assert err.count("\n") == 1 and "node MatMul_0 (MatMul): weights are not binary" in err
    assert not (tmp_path / "b").exists()
    assert not list(tmp_path.glob(".b.tmp-*"))


def test_unsupported_op_error(tmp_path: Path, capsys) -> None:
    path = _write(_float_weight_model("Relu"), tmp_path / "relu.onnx")
    code, out, err = _run(capsys, "compile", str(path), "-o", str(tmp_path / "b"), "--json")
    assert code == 1 and "node Relu_0 (Relu): unsupported op" in err
    assert _last_json(out) == {"ok": False, "error": err.strip().removeprefix("hwbnn: error: ")}
    assert not (tmp_path / "b").exists()


def test_truncated_onnx_error(tmp_path: Path, capsys, digits_binary) -> None:
    data = digits_binary.onnx.read_bytes()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[: len(data) // 2])
    code, _, err = _run(capsys, "compile", str(path), "-o", str(tmp_path / "b"))
    assert code == 1 and f"{path}:" in err and err.count("\n") == 1
    assert not (tmp_path / "b").exists()


def test_failed_compile_keeps_previous_build(tmp_path: Path, capsys, digits_binary) -> None:
    build = tmp_path / "b"
    assert main(["compile", str(digits_binary.onnx), "-o", str(build)]) == 0
    before = (build / "ir.json").read_text()
    path = _write(_float_weight_model(), tmp_path / "float.onnx")
    assert main(["compile", str(path), "-o", str(build)]) == 1
    assert (build / "ir.json").read_text() == before
    capsys.readouterr()


def test_missing_data_directory(tmp_path: Path, capsys) -> None:
    code, _, err = _run(
        capsys,
        "train",
        "--dataset",
        "mnist",
        "--data-dir",
        str(tmp_path / "nowhere"),
        "--out",
        str(tmp_path / "t"),
    )
    assert code == 1 and "nowhere: data directory for 'mnist' does not exist" in err


def test_wrong_idx_magic_from_cli(tmp_path: Path, capsys) -> None:
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x02" + b"\x00" * 12)
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01" + b"\x00" * 4)
    code, _, err = _run(
        capsys,
        "train",
        "--dataset",
        "mnist",
        "--data-dir",
        str(tmp_path),
        "--out",
        str(tmp_path / "t"),
    )
    assert code == 1 and "t10k-images-idx3-ubyte: wrong IDX magic number 0x00000802" in err


def test_console_script_train_export(tmp_path: Path) -> None:
    """The installed `hwbnn` entry point, as a user runs it."""
    out = tmp_path / "t"
    cmd = [
        sys.executable,
        "-m",
        "hwbnn.cli",
        "train",
        "--hidden",
        "16",
        "--epochs",
        "1",
        "--out",
        str(out),
        "--json",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["ok"]
    assert (out / "metrics.json").is_file() and (out / "learning_curve.png").is_file()
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= metrics["test_accuracy"] <= 1.0 and len(metrics["epochs"]) == 1
    cmd = [
        sys.executable,
        "-m",
        "hwbnn.cli",
        "export",
        str(out / "model.pt"),
        "-o",
        str(tmp_path / "m.onnx"),
        "--json",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["check_label_mismatches"] == 0


@pytest.mark.parametrize("argv", [["train", "--epochs", "0", "--out", "x"]])
def test_bad_options(argv, capsys, tmp_path: Path) -> None:
    code = main([*argv[:-1], str(tmp_path / argv[-1])])
    assert code == 1 and "--epochs must be >= 1" in capsys.readouterr().err


def test_cli_target_names_match_the_flow() -> None:
    from hwbnn.catalog import TARGET_NAMES
    from hwbnn.pipeline.steps import TARGETS

    assert sorted(TARGET_NAMES) == sorted(TARGETS)


def test_help_does_not_import_torch() -> None:
    """`hwbnn --help` and argument errors stay fast: no torch import while building the parser."""
    code = "import sys, hwbnn.cli; hwbnn.cli.build_parser(); print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
