"""The hwbnn command: --json summaries, eval on raw tensors, and one-line errors on bad input."""

from __future__ import annotations

import argparse
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
    assert (build / "plan.json").is_file()
    code, out, _ = _run(capsys, "eval", str(build), "--dataset", "digits", "--json")
    assert code == 0
    results = {r["level"]: r for r in _last_json(out)["results"]}
    assert set(results) == {"L0", "L1", "L2"}
    assert all(r["frames"] == 360 and r["mismatches"] == 0 for r in results.values())
    assert results["L2"]["details"]["accumulators_vs_torch_mismatches"] == 0


def test_verification_records_of_every_command_reach_the_report(
    tmp_path: Path, capsys, digits_binary
) -> None:
    """eval, sim and csim each leave one record in verification.json; the report shows them
    passed; `hwbnn sim --n 20` stays short without -v."""
    build = tmp_path / "b"
    onnx_path = str(digits_binary.onnx)
    assert (
        main(["compile", onnx_path, "-o", str(build), "--target", "rtl", "--target-cycles", "64"])
        == 0
    )
    assert main(["eval", str(build), "--dataset", "digits"]) == 0
    capsys.readouterr()
    assert main(["sim", str(build), "--dataset", "digits", "--n", "20"]) == 0
    captured = capsys.readouterr()
    lines = (captured.out + captured.err).splitlines()
    assert len(lines) <= 15, lines
    # a second target in the same build keeps the RTL and its result (same IR and folding)
    assert (
        main(["compile", onnx_path, "-o", str(build), "--target", "hls", "--target-cycles", "64"])
        == 0
    )
    assert main(["csim", str(build), "--dataset", "digits", "--n", "30"]) == 0
    records = json.loads((build / "verification.json").read_text())["records"]
    by_level = {r["level"]: r for r in records}
    assert sorted(by_level) == ["L0", "L1", "L2", "L3", "L4"] and len(records) == 5
    assert all(r["mismatches"] == 0 for r in records)
    assert by_level["L4"]["frames"] == 20 and by_level["L3"]["frames"] == 30
    assert by_level["L4"]["cycles_per_frame"] == 64
    capsys.readouterr()
    assert main(["report", str(build)]) == 0
    assert "5 of 5 verification results passed" in capsys.readouterr().out
    html = (build / "report" / "index.html").read_text()
    assert "L4" in html and "icarus" in html and "not run" in html  # L5 was not run
    # recompiling with another folding replaces what described the old design, and says so
    capsys.readouterr()
    assert (
        main(["compile", onnx_path, "-o", str(build), "--target", "rtl", "--target-cycles", "128"])
        == 0
    )
    out = capsys.readouterr().out
    assert "replaced:" in out and "rtl/" in out and "hls/" in out and "L4 result (icarus)" in out
    assert not (build / "hls").exists()
    assert json.loads((build / "verification.json").read_text())["records"] == []


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


def test_compile_refuses_a_folding_that_cannot_fit_the_board(
    tmp_path: Path, capsys, digits_binary
) -> None:
    """The digits MLP at 64 cycles/frame needs about 6,400 iCE40 logic cells (weight ROMs of
    64 words become logic): refused before anything is written; 256 cycles/frame fits."""
    build, onnx_path = tmp_path / "b", str(digits_binary.onnx)
    args = ["compile", onnx_path, "-o", str(build), "--target", "rtl", "--board", "icebreaker"]
    code, out, err = _run(capsys, *args, "--target-cycles", "64")
    assert code == 1 and err.count("\n") == 1, err
    assert "folding at 64 cycles/frame does not fit icebreaker (iCE40UP5K): logic cells" in err
    assert "available" in err and "a larger --target-cycles" in err
    assert any(line.startswith("  estimate on icebreaker (iCE40UP5K):") for line in out)
    (soft,) = [line for line in out if line.startswith("  memories in logic, not block RAM:")]
    assert "MatMul_1 weights 64 x " in soft  # 64 words: a LUT ROM on iCE40
    assert not build.exists()
    code, out, _ = _run(capsys, *args, "--target-cycles", "256", "--json")
    assert code == 0 and _last_json(out)["initiation_interval"] == 256
    (fit,) = [line for line in out if line.startswith("  estimate on icebreaker")]
    assert "logic cells (LUT4 + FF)" in fit and "/5,280 (" in fit and "block RAM" in fit
    code, _, _ = _run(capsys, *args, "--target-cycles", "64")
    assert code == 1  # the build is left without a finished compile step
    assert "compile" not in json.loads((build / "manifest.json").read_text())["steps"]


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
    assert len(metrics["epochs"]) == 1
    # the recorded accuracy is the saved model's, on the digits test split
    from hwbnn.train import load_checkpoint
    from hwbnn.train.trainer import predict

    data = load_digits()
    model, _ = load_checkpoint(out / "model.pt")
    correct = int(np.sum(predict(model, data.x_test).argmax(axis=1) == data.y_test))
    assert round(metrics["test_accuracy"] * len(data.y_test)) == correct
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
    assert code == 1 and "--epochs (train.epochs) must be >= 1, got 0" in capsys.readouterr().err


def test_cli_target_names_match_the_flow() -> None:
    from hwbnn.catalog import TARGET_NAMES
    from hwbnn.pipeline.config import Target

    assert list(TARGET_NAMES) == [t.value for t in Target]


def test_help_does_not_import_torch() -> None:
    """`hwbnn --help` and argument errors stay fast: no torch import while building the parser."""
    code = "import sys, hwbnn.cli; hwbnn.cli.build_parser(); print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize(
    "command", ["train", "export", "compile", "eval", "csim", "sim", "bitstream", "report", "run"]
)
def test_help_shows_defaults_and_an_example(command: str, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert f"example:\n  hwbnn {command}" in text
    if command in ("sim", "run"):
        assert "(default: icarus)" in text


def test_run_reaches_every_option_of_the_single_commands() -> None:
    """Every option of compile, sim, csim and bitstream is an option of `hwbnn run` too (the
    seeds under their own names there)."""
    from hwbnn.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    run = {o for a in sub.choices["run"]._actions for o in a.option_strings}
    # the seeds have their own names in `hwbnn run`; options naming a command's own inputs
    # (a tensor file, a Vitis export) have no place in the flow
    renamed = {
        "sim": {"--seed": "--sim-seed", "--n": "--sim-frames", "--frames": "--soak-frames"},
        "csim": {"--n": "--sim-frames"},
        "bitstream": {"--seed": "--pnr-seed"},
    }
    own = {"-o", "--output", "--inputs", "--round", "--vitis-rtl", "--vitis-top"}
    for command in ("train", "compile", "sim", "csim", "bitstream"):
        for action in sub.choices[command]._actions:
            for option in set(action.option_strings) - own:
                assert renamed.get(command, {}).get(option, option) in run, (command, option)
