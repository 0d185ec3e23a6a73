"""The estimate-based folding chooser: fewer LUTs than the lanes-minimal folding, the board
fit search, and the fit checks of ``hwbnn compile --board`` and ``hwbnn run``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hwbnn.fpga.boards import LFE5U_85F, get_board
from hwbnn.fpga.estimate import estimate, estimate_unit
from hwbnn.fpga.estimate_cost import board_fits, choose_for_board, estimate_cost, unit_of
from hwbnn.fpga.nextpnr import DesignTooLarge
from hwbnn.ir.folding import LayerFolding, choose_folding, initiation_interval, max_cycles
from hwbnn.sim.random_nets import random_mlp


def _lfc():
    return random_mlp(np.random.default_rng(0), 784, (1024, 1024, 1024), 10)


def test_lfc_at_512_cycles_is_cheaper_than_the_lanes_minimum() -> None:
    """LFC-shaped (784-1024-1024-1024-10, binarized input) at 512 cycles/frame: the lanes key
    picks PE 2 x SIMD 1,024 (1,024-input adder trees); the estimate's choice does not, and its
    estimate is lower."""
    net = _lfc()
    lanes = choose_folding(net, 512)
    assert [(f.pe, f.simd) for f in lanes.layers[2:4]] == [(2, 1024), (2, 1024)]
    chosen = choose_folding(net, 512, estimate_cost(net, LFE5U_85F))
    assert initiation_interval(net, chosen) <= 512
    assert all(f != LayerFolding(2, 1024) for f in chosen.layers)
    cheap, wide = estimate(net, chosen, LFE5U_85F), estimate(net, lanes, LFE5U_85F)
    assert cheap.luts < wide.luts


def test_cost_is_the_units_estimate() -> None:
    net = random_mlp(np.random.default_rng(0), 64, (128, 128), 10, 17)
    cost = estimate_cost(net, LFE5U_85F)
    fc1 = net.layers[2]
    unit = unit_of(net, fc1, LayerFolding(2, 64))
    assert unit is not None
    est = estimate_unit(unit, LFE5U_85F)
    assert cost(fc1, LayerFolding(2, 64)) == (est.luts, est.brams)


def test_block_ram_first_order_keeps_the_converters() -> None:
    """choose_for_board's second order (least block RAM first) swaps a node's prices and a
    width converter's alike, so converters stay priced in that order too."""
    net = random_mlp(np.random.default_rng(0), 64, (128, 128), 10, 17)
    cost = estimate_cost(net, LFE5U_85F)
    swapped = cost.brams_first_order()
    fc1 = net.layers[2]
    luts, brams = cost(fc1, LayerFolding(2, 64))
    assert swapped(fc1, LayerFolding(2, 64)) == (brams, luts)
    converter = cost.converter(fc1, 64, 16)
    assert converter[0] > 0
    assert swapped.converter(fc1, 64, 16) == (converter[1], converter[0])
    assert cost(fc1, LayerFolding(2, 64)) == (luts, brams)  # the original order is unchanged


def test_board_choice_names_the_fastest_folding_that_fits() -> None:
    """The digits MLP shape at 64 cycles/frame does not fit an iCE40 UP5K; the chooser names
    the fewest cycles/frame at which it finds a fitting folding."""
    net = random_mlp(np.random.default_rng(0), 64, (128, 128), 10, 17)
    board = get_board("icebreaker")
    choice = choose_for_board(net, 64, board)
    assert not choice.fits and choice.fastest_fitting is not None
    fastest = choice.fastest_fitting
    assert 64 < fastest <= max_cycles(net)
    assert not all(f.fits for f in board_fits(net, choice.folding, board))
    found = choose_for_board(net, fastest, board)
    assert found.fits and initiation_interval(net, found.folding) <= fastest
    assert all(f.fits for f in board_fits(net, found.folding, board))
    assert not choose_for_board(net, fastest - 1, board).fits
    roomy = choose_for_board(net, 64, get_board("ulx3s-85f"))
    assert roomy.fits and initiation_interval(net, roomy.folding) <= 64


def test_nothing_fits_even_fully_folded() -> None:
    net = random_mlp(np.random.default_rng(0), 784, (1024, 1024), 10)
    choice = choose_for_board(net, 1024, get_board("icebreaker"))
    assert not choice.fits and choice.fastest_fitting is None


def _pipeline_ctx(build: Path, bitstream_board: str | None, **extra):
    from hwbnn.pipeline.config import BitstreamOptions, RunConfig
    from hwbnn.pipeline.runner import Context

    cfg = RunConfig(out=build, bitstream=BitstreamOptions(board=bitstream_board))
    return Context(cfg, build, say=lambda line: None, extra=dict(extra))


def test_fit_board_of_compile_and_run(tmp_path: Path) -> None:
    """``hwbnn compile`` checks its --board only; ``hwbnn run`` the bitstream step's board."""
    from dataclasses import replace

    from hwbnn.pipeline.config import CompileOptions
    from hwbnn.pipeline.steps import fit_board

    assert fit_board(_pipeline_ctx(tmp_path, "icebreaker")) == "icebreaker"
    assert fit_board(_pipeline_ctx(tmp_path, None)) is None
    assert fit_board(_pipeline_ctx(tmp_path, "icebreaker", board=None)) is None
    assert fit_board(_pipeline_ctx(tmp_path, None, board="ulx3s-85f")) == "ulx3s-85f"
    ctx = _pipeline_ctx(tmp_path, "icebreaker")
    ctx.cfg = replace(ctx.cfg, compile=CompileOptions(target="hls"))
    assert fit_board(ctx) is None


def test_run_refuses_a_build_that_cannot_fit_before_synthesis(tmp_path: Path) -> None:
    """The bitstream step checks the estimate first: no tool runs, nothing is written."""
    from hwbnn.ir.serialize import save_network
    from hwbnn.pipeline.runner import run_steps
    from hwbnn.pipeline.steps import DEFAULT_FLOW

    net = random_mlp(np.random.default_rng(0), 64, (128, 128), 10, 17)
    build = tmp_path / "b"  # the step reads the IR and the folding before anything else
    build.mkdir()
    save_network(net, build)
    (build / "folding.json").write_text(choose_folding(net, 64).to_json(net))
    ctx = _pipeline_ctx(build, "icebreaker")
    with pytest.raises(DesignTooLarge, match=r"does not fit icebreaker \(iCE40UP5K\)"):
        run_steps(DEFAULT_FLOW, ctx, "bitstream", "bitstream", force=["bitstream"])
    assert not (build / "bitstream").exists()


def test_resolve_folding_with_a_board(tmp_path: Path) -> None:
    """Too fast for the board: one line naming the fewest cycles/frame that fit."""
    from hwbnn.pipeline.compile import resolve_folding
    from hwbnn.pipeline.config import CompileOptions

    net = random_mlp(np.random.default_rng(0), 64, (128, 128), 10, 17)
    lines: list[str] = []
    with pytest.raises(DesignTooLarge) as info:
        resolve_folding(net, CompileOptions(target_cycles=64), "icebreaker", lines.append)
    message = str(info.value)
    fastest = choose_for_board(net, 64, get_board("icebreaker")).fastest_fitting
    assert "\n" not in message and f"a larger --target-cycles: {fastest} fits" in message
    assert lines and lines[0].startswith("  estimate on icebreaker (iCE40UP5K):")
    folding = resolve_folding(net, CompileOptions(target_cycles=fastest), "icebreaker")
    assert initiation_interval(net, folding) <= fastest
    chosen = resolve_folding(net, CompileOptions(target_cycles=64))
    assert chosen == choose_folding(net, 64, estimate_cost(net, LFE5U_85F))
    # no budget: fully folded, with a board too when that fits
    for board in (None, "icebreaker"):
        folded = resolve_folding(net, CompileOptions(), board)
        assert all(f == LayerFolding(1, 1) for f in folded.layers)
