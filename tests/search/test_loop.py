"""The search loop end to end on a tiny supernet: both methods, the CLI, the checkpoint, and a
search killed mid-epoch that resumes to the genotype of an uninterrupted one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from hwbnn.cli import main
from hwbnn.errors import ConfigError
from hwbnn.nn.genotype import CellKind, Genotype, load_genotype
from hwbnn.search.config import SearchConfig
from hwbnn.search.loop import STATE_FILE, run_search

#: 6 epochs, one reduction after each from the first, two nodes of 2 channels per cell
TINY = SearchConfig(
    epochs=6,
    warmup=1,
    every=1,
    channels=2,
    stem_channels=4,
    steps=1,
    k=1,
    batch_size=256,
    cycles=4096,
    layout=(CellKind.NORMAL, CellKind.REDUCE),
)
TINY_ARGS = [
    "--epochs", "6", "--warmup", "1", "--every", "1", "--channels", "2", "--stem-channels", "4",
    "--steps", "1", "--partial-channels", "1", "--batch-size", "256", "--cycles", "4096",
]  # fmt: skip

KILLED = """
import os, signal, sys
from pathlib import Path
from hwbnn.search.bnas import BnasSearch
from hwbnn.search.loop import run_search
from tests.search.test_loop import TINY

done = []
original = BnasSearch.after_weight_step

def step(self):
    original(self)
    if done and done[-1] == 2:  # in epoch 3, after its first weight step
        os.kill(os.getpid(), signal.SIGKILL)

BnasSearch.after_weight_step = step
run_search(TINY, Path(sys.argv[1]), progress=False, on_epoch=done.append)
"""


def _cells(path: Path) -> dict:
    data = json.loads(path.read_text())
    return {k: data[k] for k in ("normal", "reduce", "layout", "channels", "stem_channels")}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Genotype]:
    """A whole tiny BNAS search (shared by the tests: each costs seconds)."""
    whole = tmp_path_factory.mktemp("search") / "whole"
    return whole, run_search(TINY, whole, progress=False)


def test_resume_after_kill_gives_the_uninterrupted_genotype(
    tmp_path: Path, uninterrupted: tuple[Path, Genotype]
):
    whole, genotype = uninterrupted
    assert genotype.search["estimated_cell_luts"] > 0
    assert len(genotype.search["reductions"]) == 6

    killed = tmp_path / "killed"
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.run(
        [sys.executable, "-c", KILLED, str(killed)], env=env, cwd=root, capture_output=True
    )
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    assert not (killed / "genotype.json").exists()
    import torch

    state = torch.load(killed / STATE_FILE, weights_only=True)
    assert state["epoch"] == 2  # the checkpoint of the last whole epoch
    resumed = run_search(TINY, killed, progress=False)
    assert _cells(killed / "genotype.json") == _cells(whole / "genotype.json")
    assert resumed.search["reductions"] == genotype.search["reductions"]

    with pytest.raises(ConfigError, match="seed 0 -> 1"):
        run_search(replace(TINY, seed=1), killed, progress=False)


def test_cli_cpnas(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    out = tmp_path / "cp"
    status = main(["search", "--method", "cpnas", "--out", str(out), "--json", *TINY_ARGS])
    assert status == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["ok"] and summary["method"] == "cpnas" and not summary["resumed"]
    g = load_genotype(out / "genotype.json")
    assert g.search["method"] == "cpnas" and g.search["estimated_cell_luts"] > 0
    assert g.channels == 2 and g.normal.steps == 1
    assert (out / "cells.png").read_bytes()[:4] == b"\x89PNG"  # the picture of the cells
    # a rerun finds the finished checkpoint and writes the same genotype
    assert main(["search", "--method", "cpnas", "--out", str(out), "--json", *TINY_ARGS]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["resumed"]
    assert load_genotype(out / "genotype.json") == g


def test_cost_term_finds_a_cheaper_cell(tmp_path: Path, uninterrupted: tuple[Path, Genotype]):
    cheap = run_search(replace(TINY, cost_weight=50.0), tmp_path / "cheap", progress=False)
    assert cheap.search["estimated_cell_luts"] < uninterrupted[1].search["estimated_cell_luts"]


def test_cli_defaults_are_the_config_defaults():
    from hwbnn.cli import build_parser
    from hwbnn.cli.search import FIELDS

    args = build_parser().parse_args(["search", "--out", "s"])
    assert SearchConfig(**{f: getattr(args, d) for d, f in FIELDS.items()}) == SearchConfig()


def test_bad_options_are_one_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["search", "--out", str(tmp_path / "s"), "--channels", "3"]) == 1
    assert "multiple of the partial-channel divisor" in capsys.readouterr().err
    assert main(["search", "--out", str(tmp_path / "s"), "--epochs", "4"]) == 1
    assert "ends before the last reduction" in capsys.readouterr().err
