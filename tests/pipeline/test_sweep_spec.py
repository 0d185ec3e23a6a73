"""Sweep specs (hwbnn.pipeline.sweep_spec): the grid's points and the one-line errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hwbnn.errors import ConfigError
from hwbnn.pipeline.sweep_spec import load_spec, parse_methods

SPEC = """
out = "sw"
[grid]
methods = ["baseline", "approxsign+two_stage(lr_factor=3)"]
seeds = [0, 1]
foldings = [16, "fold.json"]
boards = ["none", "icebreaker"]
[train]
epochs = 1
[compile]
target = "ir"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.toml"
    path.write_text(text)
    return path


def test_points_share_trainings(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path, SPEC))
    assert spec.out == (tmp_path / "sw").absolute()
    assert len(spec.points) == 2 * 2 * 2 * 2
    assert len({p.train_key for p in spec.points}) == 4  # methods x seeds
    assert len({p.key for p in spec.points}) == 16 == len({p.name for p in spec.points})
    first = spec.points[0]
    assert (first.model, first.methods, first.seed, first.folding, first.board) == (
        "digits-mlp",
        "baseline",
        0,
        "16",
        "none",
    )
    assert first.cfg.compile.target_cycles == 16 and first.cfg.bitstream.board is None
    file_point = next(p for p in spec.points if p.folding == "fold.json")
    assert file_point.cfg.compile.folding == tmp_path / "fold.json"
    assert file_point.cfg.compile.target_cycles is None
    assert spec.points[-1].cfg.bitstream.board == "icebreaker"
    assert load_spec(_write(tmp_path, SPEC)).points == spec.points  # keys are stable


def test_method_lists() -> None:
    assert parse_methods("baseline", "m") == ()
    assert parse_methods("approxsign + two_stage(lr_factor=3, patience=2)", "m") == (
        ("approxsign", ()),
        ("two_stage", ("lr_factor=3", "patience=2")),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[grid]\nseeds = [0]\n[trian]\n", "unknown key 'trian'"),
        ("[grid]\nseed = [0]\n", "grid: unknown key 'seed'"),
        ("[grid]\nseeds = []\n", "grid.seeds: expected a non-empty list"),
        ("[grid]\nseeds = [0, 0]\n", "names a value twice"),
        ("[grid]\nseeds = ['a']\n", "grid.seeds: expected int items"),
        ("[grid]\nmodels = ['vgg']\n", "unknown model 'vgg'"),
        ("[grid]\nmethods = ['nosuch']\n", "grid.methods 'nosuch'"),
        (
            "[grid]\nmethods = ['approxsign(lam=1)']\n",
            "grid.methods 'approxsign(lam=1)': method 'approxsign' takes no arguments",
        ),
        ("[grid]\nboards = ['de10']\n", "unknown board 'de10'"),
        ("[grid]\nfoldings = [0]\n", "cycles/frame must be >= 1"),
        ("clock_mhz = -5\n", "clock_mhz: expected a positive number"),
        ("[train]\nepochs = 0\n", "epochs"),
        ("[grid\n", "not valid TOML"),
    ],
)
def test_spec_errors(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        load_spec(path)
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)


def test_missing_spec(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="sweep spec not found"):
        load_spec(tmp_path / "none.toml")


def test_without_grid_foldings_the_compile_section_folds(tmp_path: Path) -> None:
    (point,) = load_spec(_write(tmp_path, "[compile]\ntarget_cycles = 256\n")).points
    assert point.folding == "c256" and point.cfg.compile.target_cycles == 256
    assert point.board == "none" and point.cfg.bitstream.board is None
