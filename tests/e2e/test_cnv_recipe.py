"""The CIFAR-10 recipe of docs/cifar10.md, command for command, on tiny synthetic CIFAR-10
python batches (there is no CIFAR-10 data on the test machines): train CNV with 8-bit input,
export, compile, and eval with L0 == L1 == L2 on the test batch."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from hwbnn.cli import main


def _write_batches(root: Path, per_batch: int, test: int) -> None:
    """data_batch_1..5 and test_batch in the CIFAR-10 python format: a pickled dict with
    b"data" (n, 3072) uint8 rows (R, G, B planes of 32x32) and b"labels"."""
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        n = test if name == "test_batch" else per_batch
        batch = {
            b"batch_label": name.encode(),
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"labels": rng.integers(0, 10, n).tolist(),
        }
        (root / name).write_bytes(pickle.dumps(batch, protocol=2))


def _run(capsys, *argv: str) -> dict:
    code = main([*argv, "--json"])
    out = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(out[-1])
    assert code == 0 and summary["ok"], summary
    return summary


@pytest.mark.slow
def test_cifar10_recipe_on_synthetic_batches(tmp_path: Path, capsys) -> None:
    data = tmp_path / "cifar-10-batches-py"
    _write_batches(data, per_batch=8, test=6)
    out = tmp_path / "cnv"
    # the commands of docs/cifar10.md, with 1 epoch on 40 images instead of 500 on 50,000
    _run(
        capsys,
        "train",
        "--model",
        "cnv",
        "--dataset",
        "cifar10",
        "--data-dir",
        str(tmp_path),
        "--input-mode",
        "integer",
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--out",
        str(out),
    )
    exported = _run(
        capsys,
        "export",
        str(out / "model.pt"),
        "-o",
        str(out / "cnv.onnx"),
        "--data-dir",
        str(data),
    )
    assert exported["check_frames"] == 6 and exported["check_label_mismatches"] == 0
    compiled = _run(capsys, "compile", str(out / "cnv.onnx"), "-o", str(out / "build"))
    kinds = [layer["kind"] for layer in compiled["layers"]]
    assert kinds.count("sliding_window") == 6 and kinds.count("max_pool") == 2
    report = _run(
        capsys,
        "eval",
        str(out / "build"),
        "--dataset",
        "cifar10",
        "--data-dir",
        str(data),
        "--checkpoint",
        str(out / "model.pt"),
    )
    results = {r["level"]: r for r in report["results"]}
    assert sorted(results) == ["L0", "L1", "L2"]
    assert all(r["frames"] == 6 and r["mismatches"] == 0 for r in results.values())
    assert results["L2"]["details"]["accumulators_vs_torch_mismatches"] == 0
