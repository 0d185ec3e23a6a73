"""Checkpoints and CIFAR-10 batches are untrusted pickles (issue 17: "Checkpoints load with
weights_only=True only"). hwbnn reads checkpoints with ``torch.load(weights_only=True)`` and
nothing else, so a pickle whose ``__reduce__`` names a Python callable is refused before the
callable runs (a sentinel file it would create stays absent), and damaged checkpoints (junk,
truncated, another format, tensors that do not fit the model their config describes) are one
line on stderr naming the file and a non-zero exit. A CIFAR-10 batch is unpickled with
NumPy's array globals only, so a forged batch is refused the same way. `hwbnn export` is run
as a real subprocess for the forged checkpoint, the commands through the CLI's ``main()`` for
the rest.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from test_cli_inputs import assert_refused, run

import hwbnn
from hwbnn.codegen import write_build
from hwbnn.ir.folding import choose_folding
from hwbnn.nn.zoo import build_model, mlp_config
from hwbnn.sim.random_nets import random_mlp
from hwbnn.train.checkpoint import FORMAT, save_checkpoint

REPO = Path(hwbnn.__file__).resolve().parents[1]
#: `python -c` of what the ``hwbnn`` console script runs
HWBNN = [sys.executable, "-c", "import sys; from hwbnn.cli import main; sys.exit(main())"]


class Forged:
    """Unpickles by calling ``open(SENTINEL, "w")``: proof that the pickle ran."""

    def __init__(self, sentinel: Path) -> None:
        self.sentinel = sentinel

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.sentinel), "w"))


def _model() -> torch.nn.Module:
    return build_model(mlp_config("digits-mlp", (1, 8, 8), 10, 17, 5, "binary", hidden=(8,)))


def _forged_files(directory: Path, sentinel: Path) -> dict[str, Path]:
    """Checkpoints whose unpickling would create ``sentinel``."""
    state = {"format": FORMAT, "model": Forged(sentinel), "state_dict": {}}
    files = {
        "zip": directory / "zip.pt",  # torch.save's format
        "legacy": directory / "legacy.pt",  # torch's pre-1.6 format
        "pickle2": directory / "pickle2.pt",  # a bare pickle
        "pickle5": directory / "pickle5.pt",
    }
    torch.save(state, files["zip"])
    torch.save(state, files["legacy"], _use_new_zipfile_serialization=False)
    files["pickle2"].write_bytes(pickle.dumps(state, protocol=2))
    files["pickle5"].write_bytes(pickle.dumps(state, protocol=5))
    return files


def test_a_forged_pickle_is_refused_without_running_it(tmp_path: Path) -> None:
    sentinel = tmp_path / "sentinel"
    files = _forged_files(tmp_path, sentinel)
    assert not sentinel.exists()
    pickle.loads(files["pickle2"].read_bytes())  # the forgery works on a plain unpickler
    assert sentinel.exists()
    sentinel.unlink()
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    onnx = tmp_path / "model.onnx"
    result = subprocess.run(
        [*HWBNN, "export", str(files["zip"]), "-o", str(onnx)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    line = assert_refused(result.returncode, result.stderr, str(files["zip"]), "refused")
    assert "builtins.open" in line or "io.open" in line, line
    assert not sentinel.exists() and not onnx.exists()


def test_every_forged_format_is_refused_in_process(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    sentinel = tmp_path / "sentinel"
    for name, path in _forged_files(tmp_path, sentinel).items():
        status, _, err = run(["export", str(path), "-o", str(tmp_path / "m.onnx")], capfd)
        assert_refused(status, err, str(path))
        assert not sentinel.exists(), name


def test_damaged_checkpoints_are_one_line_naming_them(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.pt"
    model = _model()
    save_checkpoint(good, model, "digits", {"test_accuracy": 0.5})
    data = good.read_bytes()
    config = model.config.to_dict()
    state = model.state_dict()
    bad: dict[str, tuple[object, str]] = {
        "junk": (b"not a checkpoint", "not a readable checkpoint"),
        "empty": (b"", "not a readable checkpoint"),
        "truncated": (data[: len(data) // 2], "not a readable checkpoint"),
        "tensor": (torch.zeros(3), "not an hwbnn checkpoint"),
        "other-format": ({"format": "hwbnn-checkpoint-0"}, "not an hwbnn checkpoint"),
        "no-state": ({"format": FORMAT, "model": config}, "damaged hwbnn checkpoint"),
        "state-list": (
            {"format": FORMAT, "model": config, "state_dict": [1]},
            "damaged hwbnn checkpoint",
        ),
        "bad-config": (
            {"format": FORMAT, "model": {**config, "hidden": "x"}, "state_dict": state},
            "damaged hwbnn checkpoint",
        ),
        # a config promising a 2**20-wide layer: refused by comparing shapes on the meta
        # device, before a 2**26-element weight is allocated
        "huge-config": (
            {"format": FORMAT, "model": {**config, "hidden": [2**20]}, "state_dict": state},
            "the model's config needs",
        ),
        "wrong-shape": (
            {
                "format": FORMAT,
                "model": config,
                "state_dict": {**state, "classifier.weight": torch.zeros(3, 3)},
            },
            "damaged hwbnn checkpoint",
        ),
    }
    for name, (content, word) in bad.items():
        path = tmp_path / f"{name}.pt"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            torch.save(content, path)
        status, _, err = run(["export", str(path), "-o", str(tmp_path / "m.onnx")], capfd)
        assert_refused(status, err, str(path), word)
        assert not (tmp_path / "m.onnx").exists(), name


def test_a_forged_cifar_batch_is_refused_without_running_it(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    net = random_mlp(np.random.default_rng(5), 3072, [8], 10, 256, True, (3, 32, 32))
    build = tmp_path / "build"
    write_build(net, choose_folding(net, 256), build, target="rtl")
    rng = np.random.default_rng(6)
    data = tmp_path / "cifar"
    data.mkdir()
    for name in ("test_batch", *(f"data_batch_{i}" for i in range(1, 6))):
        batch = {
            b"data": rng.integers(0, 256, (10, 3072), dtype=np.uint8),
            b"labels": [int(v) for v in rng.integers(0, 10, 10)],
        }
        (data / name).write_bytes(pickle.dumps(batch, protocol=2))
    argv = ["eval", str(build), "--dataset", "cifar10", "--data-dir", str(data)]
    status, out, err = run([*argv, "--no-torch", "--no-onnx"], capfd)
    assert status == 0, err  # real batches are dicts of NumPy arrays and lists: they load
    assert "L2 (numpy): 10 frames" in out
    sentinel = tmp_path / "sentinel"
    forged = {b"data": Forged(sentinel), b"labels": [0]}
    (data / "test_batch").write_bytes(pickle.dumps(forged, protocol=2))
    status, _, err = run([*argv, "--no-torch", "--no-onnx"], capfd)
    assert_refused(status, err, str(data / "test_batch"), "refused global")
    assert not sentinel.exists()
