"""Build paths with characters that shells, make and Verilog strings treat specially (issue 17:
"A build path containing `"` breaks `hwbnn sim`"). `hwbnn sim` either simulates such a build
exactly or refuses it with one line naming the path and the character before anything is
written or run:

- Icarus (cocotb): white space and ``$`` work (the memory directory reaches the Verilog top
  relative to the simulation directory); ``"`` is refused (Icarus writes source paths
  unescaped into its .vvp file);
- the fast Verilator harness (``--fast``): ``"``, ``$``, ``#``, ``:``, ``;`` and ``\\`` work
  (every path reaches Verilator's make relative to the harness directory); white space is
  refused (Verilator's make cannot build in such a directory).

The build is a random 16-input MLP written straight from its IR; the commands run through the
CLI's ``main()``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_cli_inputs import assert_refused, run

from hwbnn.codegen import write_build
from hwbnn.ir.folding import choose_folding
from hwbnn.sim.random_nets import random_mlp

FRAMES = 6


def _build(parent: Path) -> tuple[Path, Path]:
    """A build in ``parent`` and frames for it (x.npy, outside ``parent``)."""
    net = random_mlp(np.random.default_rng(41), 16, [8], 4, 16, True)
    build = parent / "build"
    write_build(net, choose_folding(net, 16), build, target="rtl")
    codes = np.random.default_rng(42).integers(0, 16, (FRAMES, 16))
    inputs = parent.parent / f"x-{FRAMES}.npy"
    np.save(inputs, (codes / 15).astype(np.float32))
    return build, inputs


def _sim(build: Path, inputs: Path, capfd: pytest.CaptureFixture[str], *extra: str):  # noqa: ANN202
    return run(["sim", str(build), "--inputs", str(inputs), "--ii-frames", "0", *extra], capfd)


def test_icarus_simulates_a_build_under_a_space_and_a_dollar(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    build, inputs = _build(tmp_path / "my builds $HOME")
    status, out, err = _sim(build, inputs, capfd, "--n", "1000")
    assert status == 0, err
    assert f"L4 (icarus): {FRAMES} frames, 0 mismatching" in out
    # (--n beyond the frames at hand checks all of them and says so)
    assert f"--n 1000, but {inputs} has {FRAMES} frames: checked all of them" in out


@pytest.mark.parametrize(
    ("name", "extra", "bad"),
    [('q"uote', [], '"'), ("a b", ["--fast"], " "), ("tab\tx", ["--fast"], "\t")],
    ids=["icarus-quote", "fast-space", "fast-tab"],
)
def test_a_path_the_simulator_cannot_take_is_refused_before_anything_runs(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], name: str, extra: list[str], bad: str
) -> None:
    build, inputs = _build(tmp_path / name)
    status, _, err = _sim(build, inputs, capfd, *extra)
    line = assert_refused(status, err, str(build), f"containing {bad!r}", "move the build")
    assert "Traceback" not in line
    assert not (build / "sim").exists()  # nothing written, nothing run


@pytest.mark.slow  # the Verilator harness's C++ build: 15-45 s
def test_fast_verilator_simulates_a_build_under_quotes_and_make_syntax(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    build, inputs = _build(tmp_path / 'q"x$y#:;\\z')
    status, out, err = _sim(build, inputs, capfd, "--fast")
    assert status == 0, err
    assert f"L4 (verilator-fast): {FRAMES} frames, 0 mismatching" in out
