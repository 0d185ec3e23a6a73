"""`hwbnn run`, the README's main job, end to end through the command line (small settings)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hwbnn.cli import main


@pytest.mark.slow
def test_hwbnn_run_main_job(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    argv = [
        "run",
        "--out",
        str(out),
        "--hidden",
        "32",
        "--epochs",
        "3",
        "--sim-frames",
        "12",
        "--target-cycles",
        "32",
        "--json",
    ]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["ok"] and summary["ladder"]["ok"] and summary["ladder"]["frames"] == 360
    assert summary["rtl_sim"]["ok"] and summary["rtl_sim"]["frames"] == 12
    assert summary["rtl_sim"]["cycles_per_frame"] <= 32 + 2
    for path in (
        "train/model.pt",
        "model.onnx",
        "build/ir.json",
        "build/rtl/hwbnn_top.v",
        "build/ladder.json",
        "build/rtl_sim.json",
    ):
        assert (out / path).is_file(), path
