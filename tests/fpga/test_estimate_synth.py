"""The estimate against yosys on the small nets (ECP5, synthesis only, no place and route).

Each design is folded as ``hwbnn compile`` folds it (least estimated LUTs on an ECP5-85F),
its ``hwbnn_top`` synthesized once by the project's yosys script, and the estimate must be
within 15% of yosys' LUT4 slots and flip-flops and equal its DP16KD count (small counts: one
off is already a wrong decision of where a memory goes). Random weights of the digits MLP's
and digits-cnn's shapes; benchmarks/estimate_accuracy.py prints the same comparison for more
rows (docs/benchmarks.md). One more design checks the board top (the UART bridge around
``hwbnn_top``) with a wide input beat. About a minute of yosys in all.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hwbnn.fpga.boards import LFE5U_85F, Family
from hwbnn.fpga.estimate import estimate
from hwbnn.fpga.estimate_check import count_cells, synthesize_board_top, synthesize_top
from hwbnn.fpga.estimate_cost import bridge_cost, estimate_cost
from hwbnn.fpga.link import LinkFormat
from hwbnn.fpga.synthetic import write_network_build
from hwbnn.ir.folding import Folding, LayerFolding, choose_folding
from hwbnn.sim.random_nets import ConvSpec, random_conv_net, random_mlp

TOLERANCE = 0.15


def _digits_mlp():
    return random_mlp(np.random.default_rng(0), 64, (128, 128), 10, 17)


def _digits_cnn():
    convs = [ConvSpec(16, 3, 1, 1), ConvSpec(16, 3, 1, 1, pool=2), ConvSpec(32, 3, 1, 0)]
    return random_conv_net(np.random.default_rng(0), (1, 8, 8), convs, (), 10, 17)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("make", "target"),
    [(_digits_mlp, 64), (_digits_mlp, 784), (_digits_cnn, 2304)],
    ids=["digits-mlp-64", "digits-mlp-784", "digits-cnn-2304"],
)
def test_estimate_within_15_percent_of_yosys(make, target: int, tmp_path: Path) -> None:
    net = make()
    folding = choose_folding(net, target, estimate_cost(net, LFE5U_85F))
    build = write_network_build(net, folding, tmp_path / "build")
    est = estimate(net, folding, LFE5U_85F)
    synth = synthesize_top(build, Family.ECP5, tmp_path / "synth")
    assert synth.luts > 0 and synth.ffs > 0
    rows = [("LUT4", est.luts, synth.luts), ("FF", est.ffs, synth.ffs)]
    for what, estimated, real in rows:
        assert abs(estimated - real) <= TOLERANCE * real, (what, estimated, real)
    assert est.brams == synth.brams


@pytest.mark.slow
def test_board_estimate_of_a_wide_input_beat(tmp_path: Path) -> None:
    """The board top's estimate (the net and the UART bridge, as `hwbnn compile --board`
    checks it) within 15% of yosys when a beat is a whole 14x28 frame of 8-bit codes: the
    input packer's 3,136-bit registers load by clock enable and cost flip-flops, not LUTs
    (yosys: 3,055 LUT4, 7,938 FFs; the estimate had a LUT per input bit, 6,249 LUT4 here, and
    for TFC at 1 cycle/frame 88% of the 85F against 75% placed)."""
    net = random_mlp(np.random.default_rng(0), 392, (16,), 10, input_shape=(14, 28))
    folding = Folding((LayerFolding(1, 392), LayerFolding(1, 392), LayerFolding(1, 16)))
    build = write_network_build(net, folding, tmp_path / "build")
    link = LinkFormat.from_build(build)
    assert link.in_width == 392 * 8
    est = estimate(net, folding, LFE5U_85F)
    bridge_luts, bridge_ffs = bridge_cost(link)
    synth = synthesize_board_top(build, Family.ECP5, tmp_path / "synth", 25_000_000)
    rows = [("LUT4", est.luts + bridge_luts, synth.luts), ("FF", est.ffs + bridge_ffs, synth.ffs)]
    for what, estimated, real in rows:
        assert abs(estimated - real) <= TOLERANCE * real, (what, estimated, real)


def test_cells_are_counted_as_the_estimate_counts() -> None:
    cells = {"LUT4": 10, "CCU2C": 3, "TRELLIS_DPR16X4": 2, "PFUMX": 5, "TRELLIS_FF": 7}
    assert count_cells({**cells, "DP16KD": 2}, Family.ECP5) == (10 + 6 + 8, 7, 2)
    ice = {"SB_LUT4": 9, "SB_CARRY": 4, "SB_DFF": 3, "SB_DFFE": 2, "SB_RAM40_4K": 1}
    assert count_cells(ice, Family.ICE40) == (9, 5, 1)
