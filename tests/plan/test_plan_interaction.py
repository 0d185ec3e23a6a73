"""A CI-BCNN Interaction node through folding, plan, estimate and the generated tops: a random
conv net whose first hidden convolution becomes MVAU (accumulators) -> Interaction ->
Threshold; the plan's unit, its plan.json round trip, the folding check naming the node, the
resource estimate, and the hwbnn_interact instance and hwbnn::interact call of the tops."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from hwbnn.codegen.hls import render_hls
from hwbnn.codegen.interaction import interaction_vectors
from hwbnn.codegen.rtl import render_rtl
from hwbnn.errors import ConfigError
from hwbnn.fpga.boards import BOARDS
from hwbnn.fpga.estimate import estimate_unit
from hwbnn.ir.folding import Folding, LayerFolding, check_folding, choose_folding, max_cycles
from hwbnn.ir.interaction import Interaction
from hwbnn.ir.types import MatrixVector, Network, Threshold
from hwbnn.plan import UnitKind, build_plan, load_plan, write_plan
from hwbnn.reference import Reference
from hwbnn.sim.random_nets import ConvSpec, random_conv_net


def interacted_net() -> tuple[Network, Interaction]:
    rng = np.random.default_rng(7)
    net = random_conv_net(rng, (2, 6, 6), [ConvSpec(8, 3, 1, 1), ConvSpec(8, 3)], [8], 4)
    index = next(
        i for i, n in enumerate(net.layers) if isinstance(n, MatrixVector) and n.pixels > 1
    )
    mvau = net.layers[index]
    assert isinstance(mvau, MatrixVector)
    signs = np.zeros((8, 8), dtype=np.int8)
    signs[0, 3], signs[1, 3], signs[3, 5], signs[2, 6], signs[5, 7] = 1, -1, 1, -1, 1
    node = Interaction(f"{mvau.name}_ci", signs, 2, 3, rng.random(8) < 0.5)
    low, high = node.out_range(*mvau.acc_range)
    t = rng.integers(low, high + 2, (8, 1, 1))
    layers = [
        *net.layers[:index],
        replace(mvau, thresholds=None),
        node,
        Threshold(f"{mvau.name}_t", t),
        *net.layers[index + 1 :],
    ]
    return Network(net.input, tuple(layers)), node


def test_plan_folding_and_estimate(tmp_path: Path) -> None:
    net, node = interacted_net()
    folding = choose_folding(net, max(1, max_cycles(net) // 4))
    plan = build_plan(net, folding)
    unit = next(u for u in plan.units if u.name == node.name)
    assert unit.kind is UnitKind.INTERACTION and plan.is_graph
    assert unit.steps == node.depth == 3 and unit.interaction[:3] == (2, 3, node.edges)
    source = net.edge(net.inputs_of(node.name)[0])
    assert net.edge(node.name).high > source.high and unit.out_bits >= unit.in_bits
    assert unit.cycles == net.edge(node.name).elements // unit.simd
    write_plan(plan, tmp_path)
    assert load_plan(tmp_path) == plan
    device = next(iter(BOARDS.values())).device
    estimate = estimate_unit(unit, device)
    assert estimate.luts > 0 and estimate.ffs >= 8 * (unit.in_bits + 4 * unit.out_bits)
    index = [n.name for n in net.layers].index(node.name)
    bad = list(folding.layers)
    bad[index] = LayerFolding(2, unit.simd)
    with pytest.raises(ConfigError, match=f"layer {node.name}: a CI-BCNN interaction has PE=1"):
        check_folding(net, Folding(tuple(bad)))
    x = np.random.default_rng(0).integers(0, 2, (5, net.input.elements))
    assert Reference(net).run_codes(x).accumulators.shape == (5, 4)


def test_generated_tops_instantiate_the_unit(tmp_path: Path) -> None:
    net, node = interacted_net()
    plan = build_plan(net, choose_folding(net, max(1, max_cycles(net) // 4)))
    unit = next(u for u in plan.units if u.name == node.name)
    render_rtl(plan, net, Path("m.onnx"), tmp_path)
    top = (tmp_path / "rtl" / "hwbnn_top.v").read_text()
    signs, width = interaction_vectors(node)["SIGNS"]
    assert "hwbnn_interact #(" in top and f".SIGNS({width}'h{signs:x})" in top
    assert f".LEVELS({node.depth})" in top and f".OUT_BITS({unit.out_bits})" in top
    render_hls(plan, net, Path("m.onnx"), tmp_path)
    cpp = (tmp_path / "hls" / "hwbnn_top.cpp").read_text()
    assert f"hwbnn::interact<{unit.ident}::C" in cpp
    params = (tmp_path / "hls" / f"params_{unit.ident}.h").read_text()
    assert f"{unit.ident}_signs[{unit.ident}::C][{unit.ident}::C]" in params
