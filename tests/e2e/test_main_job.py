"""`hwbnn run`, the README's main job, end to end through the command line (small settings):
the whole flow with its bitstream; a run killed during simulation and resumed; a second target
compiled into the same build, reusing the trained model and its export."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hwbnn.cli import main
from hwbnn.verify.record import Level, read_results

SMALL = ["--hidden", "16", "--epochs", "2", "--sim-frames", "6", "--target-cycles", "64"]


def _summary(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


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
    summary = _summary(capsys)
    assert summary["ok"]
    assert {name: s["status"] for name, s in summary["steps"].items()} == {
        "train": "ran",
        "export": "ran",
        "compile": "ran",
        "verify": "ran",
        "csim": "not applicable",
        "simulate": "ran",
        "bitstream": "ran",
    }
    results = {r.level: r for r in read_results(out)}
    assert set(results) == {Level.L0, Level.L1, Level.L2, Level.L4}
    assert all(r.mismatches == 0 and r.ok for r in results.values())
    assert results[Level.L2].frames == 360 and results[Level.L4].frames == 12
    assert results[Level.L4].cycles_per_frame is not None
    assert 32 <= results[Level.L4].cycles_per_frame <= 32 + 2
    # the bitstream: a packed ECP5 image for the ULX3S-85F with its report
    bit = out / "bitstream" / "ulx3s-85f" / "hwbnn_board_top.bit"
    assert bit.stat().st_size > 100_000
    report = json.loads((out / "bitstream" / "ulx3s-85f" / "report.json").read_text())
    assert report["device"] == "LFE5U-85F" and report["bitstream"] == bit.name
    assert 0 < report["resources"]["lut"]["used"] < report["resources"]["lut"]["available"]
    assert report["clock"]["achieved_mhz"] > 0 and isinstance(report["clock"]["timing_met"], bool)


def _steps(build: Path) -> dict:
    return json.loads((build / "manifest.json").read_text()).get("steps", {})


@pytest.mark.slow
def test_killed_run_resumes_and_a_second_target_reuses_the_model(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "hwbnn.cli", "run", "--out", str(out), "--board", "none", *SMALL]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 600
    while "verify" not in _steps(out) if (out / "manifest.json").is_file() else True:
        assert proc.poll() is None, "hwbnn run ended before its simulation step"
        assert time.monotonic() < deadline
        time.sleep(0.2)
    time.sleep(1.0)  # into the simulation step
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert "simulate" not in _steps(out)
    checkpoint, onnx = out / "train" / "model.pt", out / "model.onnx"
    stamps = {p: p.stat().st_mtime_ns for p in (checkpoint, onnx)}

    assert main(["run", "--out", str(out), "--board", "none", *SMALL, "--json"]) == 0
    statuses = {name: s["status"] for name, s in _summary(capsys)["steps"].items()}
    assert statuses == {
        "train": "reused",
        "export": "reused",
        "compile": "reused",
        "verify": "reused",
        "csim": "not applicable",
        "simulate": "ran",
        "bitstream": "not applicable",
    }
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps

    argv = [
        "run",
        "--out",
        str(out),
        "--board",
        "none",
        *SMALL,
        "--from",
        "compile",
        "--target",
        "hls",
        "--json",
    ]
    assert main(argv) == 0
    statuses = {name: s["status"] for name, s in _summary(capsys)["steps"].items()}
    assert statuses["csim"] == "ran" and statuses["compile"] == "ran"
    assert statuses["simulate"] == "not applicable"
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # not retrained, not re-exported
    results = {r.level: r for r in read_results(out)}
    assert results[Level.L3].mismatches == 0 and results[Level.L3].frames == 6
    # the IR did not change, so the RTL and its simulation result are still valid and kept
    assert (out / "rtl").is_dir() and results[Level.L4].ok
