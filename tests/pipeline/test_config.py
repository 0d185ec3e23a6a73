"""The run configuration: TOML files, Enums, validation with the key named."""

from __future__ import annotations

from pathlib import Path

import pytest

from hwbnn.errors import ConfigError
from hwbnn.pipeline.config import (
    RUN_TARGET_CYCLES,
    RunConfig,
    Simulator,
    Target,
    load_config,
    to_dict,
)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.toml"
    path.write_text(text)
    return path


def test_toml_fills_every_section(tmp_path: Path) -> None:
    cfg = load_config(
        _write(
            tmp_path,
            """
out = "b"
[train]
model = "tfc"
hidden = [32, 16]
epochs = 3
lr = 1
methods = [["approxsign", []], ["two_stage", ["lr_factor=3"]]]
[compile]
target = "hls"
target_fps = 1000.0
[verify]
frames = 50
[sim]
frames = 7
simulator = "verilator"
[bitstream]
board = "none"
""",
        )
    )
    assert cfg.out == Path("b") and cfg.train.model == "tfc" and cfg.train.hidden == (32, 16)
    assert cfg.train.lr == 1.0 and isinstance(cfg.train.lr, float)
    assert cfg.train.methods == (("approxsign", ()), ("two_stage", ("lr_factor=3",)))
    # a frame rate replaces the run's default cycle budget
    assert cfg.compile.target is Target.HLS and cfg.compile.target_cycles is None
    assert cfg.compile.cycles_budget == 100_000
    assert cfg.verify.frames == 50 and cfg.sim.frames == 7
    assert cfg.sim.simulator is Simulator.VERILATOR and cfg.bitstream.board is None
    assert to_dict(cfg)["compile"]["target"] == "hls"


def test_defaults_without_a_file() -> None:
    cfg = RunConfig()
    assert cfg.compile.target is Target.RTL and cfg.compile.cycles_budget == RUN_TARGET_CYCLES
    assert cfg.bitstream.board == "ulx3s-85f"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[train]\nepoch = 3", "unknown key 'epoch'"),
        ("[train]\nepochs = 0", "--epochs .* must be >= 1"),
        ("[train]\nmodel = 'resnet'", "unknown value 'resnet'"),
        ("[compile]\ntarget = 'vhdl'", "compile.target: unknown value 'vhdl'"),
        ("[sim]\nsimulator = 'xsim'", "sim.simulator: unknown value 'xsim'"),
        ("[sim]\nframes = 'many'", "sim.frames: expected int"),
        ("[compile]\ntarget_cycles = 64\ntarget_fps = 10.0", "not several"),
        ("[extra]\nx = 1", "unknown key 'extra'"),
        ("train = 3", "expected a \\[train\\] table"),
        ("[train", "not valid TOML"),
    ],
)
def test_bad_files_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")
