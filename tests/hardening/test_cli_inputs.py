"""Frames and labels a user hands to `hwbnn eval`, `hwbnn sim` and `hwbnn csim` (issue 17,
"Other commands"): NaN, empty, wrong-shape, non-numeric, out-of-range and non-code
``--inputs``, labels of shape (20, 1), ``--n`` and ``hwbnn report --sweep-points`` below 1 are
each refused before anything runs, with one line on stderr naming the file or option and a
non-zero exit; labels of shape (20,) give the accuracy the reference gives. The commands run
through the CLI's ``main()``, the function the ``hwbnn`` script calls, so the exit status and
stderr are the command's own.

The build is a random 16-input MLP written straight from its IR (no training: milliseconds).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hwbnn.cli import main
from hwbnn.codegen import write_build
from hwbnn.ir.folding import choose_folding
from hwbnn.ir.serialize import load_network
from hwbnn.reference import Reference
from hwbnn.sim.random_nets import random_mlp

FRAMES = 20
LEVELS = 16


def run(argv: list[str], capfd: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``hwbnn ARGV``: its exit status, stdout and stderr."""
    status = main(argv)
    out, err = capfd.readouterr()
    return status, out, err


def assert_refused(status: int, err: str, *names: str) -> str:
    """A non-zero exit and exactly one line on stderr, an hwbnn error naming ``names``."""
    assert status == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hwbnn: error: "), err
    assert "Traceback" not in err
    for name in names:
        assert name in lines[0], (name, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The random MLP as an rtl build and as an hls build, and good frames in x.npy."""
    root = tmp_path_factory.mktemp("cli_inputs")
    net = random_mlp(np.random.default_rng(7), 16, [8], 4, LEVELS, True)
    folding = choose_folding(net, 16)
    write_build(net, folding, root / "rtl", target="rtl")
    write_build(net, folding, root / "hls", target="hls")
    codes = np.random.default_rng(8).integers(0, LEVELS, (FRAMES, 16))
    np.save(root / "x.npy", (codes / (LEVELS - 1)).astype(np.float32))
    return {"rtl": root / "rtl", "hls": root / "hls", "x": root / "x.npy"}


def _bad_inputs(directory: Path) -> dict[str, tuple[Path, str]]:
    """Bad --inputs files and a word their error must contain."""
    good = np.random.default_rng(9).integers(0, LEVELS, (FRAMES, 16)) / (LEVELS - 1)
    cases: dict[str, tuple[np.ndarray | bytes, str]] = {
        "nan": (np.where(np.arange(16) == 5, np.nan, good).astype(np.float32), "finite"),
        "inf": (np.where(np.arange(16) == 0, -np.inf, good), "finite"),
        "empty": (np.zeros((0, 16), np.float32), "no input frames"),
        "empty-1d": (np.zeros((0,), np.float32), "shape (0,)"),
        "scalar": (np.float32(0.5), "shape ()"),
        "wrong-shape": (good.reshape(FRAMES, 4, 4), "shape (20, 4, 4)"),
        "wrong-width": (good[:, :15], "shape (20, 15)"),
        "text": (np.array([["a"] * 16]), "dtype <U1"),
        "bool": (good > 0.5, "dtype bool"),
        "pixels": (good * 255, "outside their range [0, 1]"),
        "not-a-code": (np.full((FRAMES, 16), 0.5), "is not one of the model's 16 input codes"),
        "truncated": (b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, ", "npy"),
        "not-npy": (b"x,y\n1,2\n", "not a readable .npy file"),
    }
    files = {}
    for name, (value, word) in cases.items():
        path = directory / f"{name}.npy"
        if isinstance(value, bytes):
            path.write_bytes(value)
        else:
            np.save(path, value)
        files[name] = (path, word)
    return files


@pytest.mark.parametrize("command", ["eval", "sim", "csim"])
def test_bad_inputs_are_refused_before_anything_runs(
    builds: dict[str, Path],
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    command: str,
) -> None:
    build = builds["hls" if command == "csim" else "rtl"]
    for path, word in _bad_inputs(tmp_path).values():
        status, _, err = run([command, str(build), "--inputs", str(path)], capfd)
        assert_refused(status, err, str(path), word)
    missing = tmp_path / "missing.npy"
    status, _, err = run([command, str(build), "--inputs", str(missing)], capfd)
    assert_refused(status, err, str(missing), "not found")
    if command == "eval":  # a value between two codes is taken with --round
        halves = str(tmp_path / "not-a-code.npy")
        argv = [command, str(build), "--inputs", halves, "--round", "--json"]
        status, out, err = run(argv, capfd)
        assert status == 0 and f'"frames": {FRAMES}' in out, err
    # nothing was simulated or built for any of them
    assert not (build / "sim").exists() and not (build / "csim").exists()
    assert not (build / "verification.json").exists()


@pytest.mark.parametrize("command", ["eval", "sim", "csim"])
@pytest.mark.parametrize("n", ["0", "-1"])
def test_n_below_one_is_refused(
    builds: dict[str, Path], capfd: pytest.CaptureFixture[str], command: str, n: str
) -> None:
    build = builds["hls" if command == "csim" else "rtl"]
    for source in (["--inputs", str(builds["x"])], ["--dataset", "digits"]):
        if command == "eval" and source[0] == "--dataset":
            source = ["--dataset", "digits", "--no-torch", "--no-onnx"]
        status, _, err = run([command, str(build), *source, "--n", n], capfd)
        assert_refused(status, err, f"--n must be >= 1, got {n}")


@pytest.mark.parametrize("n", ["0", "-1"])
def test_report_sweep_points_below_one_is_refused(
    builds: dict[str, Path], capfd: pytest.CaptureFixture[str], n: str
) -> None:
    status, _, err = run(["report", str(builds["rtl"]), "--sweep-points", n], capfd)
    assert_refused(status, err, f"--sweep-points must be >= 1, got {n}")
    assert not (builds["rtl"] / "report").exists()


def test_labels_must_be_one_class_index_per_frame(
    builds: dict[str, Path], tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    net = load_network(builds["rtl"])
    x = np.load(builds["x"])
    codes = np.rint(x * (LEVELS - 1)).astype(np.int64)
    predicted = Reference(net).run_codes(codes).labels
    y = predicted.copy()
    y[:5] = (y[:5] + 1) % net.classes  # five wrong: accuracy 15/20
    argv = ["eval", str(builds["rtl"]), "--inputs", str(builds["x"]), "--labels"]
    # (20, 1): broadcasting against (20,) predictions would count a 20 x 20 table
    column = tmp_path / "column.npy"
    np.save(column, y.reshape(FRAMES, 1))
    status, _, err = run([*argv, str(column)], capfd)
    line = assert_refused(status, err, str(column), "shape (20, 1)", "expected (20,)")
    assert "y.ravel()" in line
    bad = {
        "short": (y[:-1], "shape (19,)"),
        "float": (y.astype(np.float64), "dtype float64"),
        "class": (np.where(np.arange(FRAMES) == 3, net.classes, y), f"label {net.classes}"),
        "negative": (np.where(np.arange(FRAMES) == 0, -1, y), "label -1 of frame 0"),
    }
    for name, (labels, word) in bad.items():
        path = tmp_path / f"{name}.npy"
        np.save(path, labels)
        status, _, err = run([*argv, str(path)], capfd)
        assert_refused(status, err, str(path), word)
    # (20,): the accuracy of the reference's labels, exactly
    flat = tmp_path / "flat.npy"
    np.save(flat, y)
    status, out, err = run([*argv, str(flat), "--json"], capfd)
    assert status == 0, err
    assert "accuracy 0.7500 on 20 frames" in out
    # --n takes the first frames and their labels together
    status, out, err = run([*argv, str(flat), "--n", "5"], capfd)
    assert status == 0, err
    assert "accuracy 0.0000 on 5 frames" in out
