"""The long commands say how far they are: `hwbnn train`, `hwbnn sim` and `hwbnn csim`.

`hwbnn sim` shows a tqdm bar over the frames (hwbnn.sim.runner.FrameProgress, fed by the
bench's progress file): where stderr is not a terminal (a CI log, as here) it is drawn at
least at the end, with the frames done out of the total and tqdm's elapsed<remaining
estimate. `hwbnn csim` says how many frames it builds and runs before it starts and how many
differ when it ends; it has no bar (the C simulation runs as one process that reports
nothing while it runs; see docs/RELIABILITY.md). Both run here on a small random MLP with
inputs given as a .npy file in the model's format (code k of L levels is k / (L - 1)).
`hwbnn train` shows a tqdm bar over the epochs with the loss, the test accuracy and the
remaining time, here on a tiny digits MLP for two epochs. (`hwbnn sim --fast` shows the same
bar as `hwbnn sim`: tests/hardening/test_hw_long_run.py checks it.)
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from hwbnn.cli import main
from hwbnn.codegen import write_build
from hwbnn.ir.folding import choose_folding
from hwbnn.sim.random_nets import random_mlp

FRAMES = 30
#: tqdm's bar as it ends: "N/N [MM:SS<MM:SS" (frames done of the total, elapsed<remaining)
BAR_END = re.compile(r"(\d+)/(\d+) \[\d+:\d\d<\d+:\d\d")


def _build(tmp_path: Path, target: str) -> tuple[Path, Path]:
    net = random_mlp(np.random.default_rng(41), 16, [8], 4, 16, True)
    build = tmp_path / target
    write_build(net, choose_folding(net, 16), build, target=target)
    codes = np.random.default_rng(42).integers(0, 16, (FRAMES, 16))
    inputs = tmp_path / "x.npy"
    np.save(inputs, (codes / 15).astype(np.float32))
    return build, inputs


def test_sim_prints_frames_and_a_remaining_time_estimate(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    build, inputs = _build(tmp_path, "rtl")
    assert main(["sim", str(build), "--inputs", str(inputs), "--ii-frames", "4"]) == 0
    out, err = capfd.readouterr()
    ends = [(int(a), int(b)) for a, b in BAR_END.findall(err.replace("\r", "\n"))]
    assert (FRAMES + 4, FRAMES + 4) in ends, err[-1000:]
    assert f"{FRAMES} frames, 0 mismatching" in out


@pytest.mark.slow  # a g++ build of the C simulation without a shared prelude: 10-20 s
def test_csim_says_how_many_frames_before_and_after(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    build, inputs = _build(tmp_path, "hls")
    assert main(["csim", str(build), "--inputs", str(inputs)]) == 0
    out, err = capfd.readouterr()
    assert re.search(rf"building and running {FRAMES} frames\n", out + err), out + err
    assert re.search(rf"0 of {FRAMES} frames differ", out + err), out + err
    # a second run estimates the simulation's time from the first one's rate
    assert main(["csim", str(build), "--inputs", str(inputs)]) == 0
    out, err = capfd.readouterr()
    pattern = rf"running {FRAMES} frames \(simulation about [\d.]+ s at the last run's [\d.,]+ fr"
    assert re.search(pattern, out + err), out + err


@pytest.mark.slow  # imports torch and trains: about 10 CPU-seconds
def test_train_shows_epochs_and_a_remaining_time_estimate(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    args = ["train", "--model", "digits-mlp", "--hidden", "8", "--epochs", "2"]
    assert main([*args, "--out", str(tmp_path / "run")]) == 0
    _, err = capfd.readouterr()
    lines = err.replace("\r", "\n")
    # after the first epoch: 1 of 2 done, elapsed<remaining with a real (not "?") estimate
    assert re.search(r"train: +50%.*1/2 \[\d+:\d\d<\d+:\d\d", lines), lines[-1000:]
    assert re.search(r"2/2 \[\d+:\d\d<\d+:\d\d.*test=", lines), lines[-1000:]
    assert (tmp_path / "run" / "model.pt").is_file()
