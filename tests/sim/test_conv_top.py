"""Generated tops of random conv nets simulated on Icarus (hwbnn.sim.top) against the reference.

Random conv IRs (hwbnn.sim.random_nets.random_conv_net: padding with -1, stride 2, OR pools,
majority pools, dilated convolutions, padded pools, a binarized or an integer first layer) at a
few foldings each (width converters between the window generators, per-pixel units and pools in
both directions, FIFOs or none) are generated with hwbnn.codegen.rtl and simulated under random
input gaps and output backpressure: every accumulator must equal hwbnn.reference exactly, and
with frames back to back the measured cycles per frame must be the slowest layer's
(hwbnn.ir.folding.initiation_interval) within 1%. A corrupted weight of a convolution must be
caught.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest

from hwbnn.codegen import write_build
from hwbnn.ir.folding import Folding, LayerFolding, check_folding, choose_folding, layer_cycles
from hwbnn.ir.types import MatrixVector, MaxPool, Network
from hwbnn.plan import load_plan
from hwbnn.reference import Reference
from hwbnn.sim.random_nets import ConvSpec, random_conv_net
from hwbnn.sim.runner import simulator_available
from hwbnn.sim.top import SimConfig
from hwbnn.verify.rtl import verify_rtl


@dataclass(frozen=True)
class Case:
    name: str
    image: tuple[int, int, int]  # (C, H, W)
    convs: tuple[ConvSpec, ...]
    hidden: tuple[int, ...]
    classes: int
    levels: int
    binarize: bool
    target_cycles: int  # folding: the cheapest meeting it (choose_folding)
    fifo_depth: int = 0
    frames: int = 6
    sparse_pools: bool = False  # units feeding a 3x3 pool give +1 rarely (ORs of 9 bits vary)


CASES = [
    # padded 3x3 convs, a stride-2 conv and a pool, binarized input
    Case(
        "pad-stride-pool",
        (2, 7, 7),
        (ConvSpec(8, 3, 1, 1), ConvSpec(8, 3, 2, 1, pool=2)),
        (),
        4,
        16,
        True,
        500,
    ),
    # integer first layer (8-bit codes, padded with code 0), a 2x2 pool, FIFOs
    Case(
        "integer-first",
        (3, 8, 8),
        (ConvSpec(8, 3, 1, 1, pool=2), ConvSpec(8, 2, 1, 0)),
        (),
        3,
        256,
        False,
        600,
        fifo_depth=4,
    ),
    # no padding, a 3x3 pool with stride 3, the first window generator the slowest layer
    Case(
        "unpadded",
        (2, 9, 9),
        (ConvSpec(8, 3, 1, 0, pool=3), ConvSpec(6, 1, 1, 0)),
        (),
        5,
        4,
        True,
        441,
    ),
    # 3x3 majority pools (the binary avg_pool_3x3): stride 1 and stride 2, padded with -1
    Case(
        "majority",
        (2, 7, 7),
        (ConvSpec(4, 3, 1, 1, majority=1), ConvSpec(8, 3, 1, 1, majority=2)),
        (),
        4,
        16,
        True,
        400,
    ),
    # a dilated 3x3 conv (D = 2, pad 2: same size), DARTS' padded 3x3 max pool (stride 1),
    # a 3x3 stride-2 pad-1 pool and a 1x1 stride-2 pool (every second pixel)
    Case(
        "dilated-padded-pools",
        (2, 8, 8),
        (
            ConvSpec(8, 3, 1, 2, pool=3, dilation=2, pool_stride=1, pool_padding=1),
            ConvSpec(8, 3, 1, 1, pool=3, dilation=1, pool_stride=2, pool_padding=1),
            ConvSpec(8, 1, 1, 0, pool=1, pool_stride=2),
        ),
        (),
        4,
        16,
        True,
        600,
        fifo_depth=16,  # six units at 576 cycles per frame: bursts need the slack
        sparse_pools=True,
    ),
]


def _sparse_before_pools(net: Network) -> Network:
    """Raise the thresholds of the units feeding a 3x3 pool by about 1.3 standard deviations
    of a random popcount (mw/2 +- sqrt(mw)/2), so that about one bit in ten is +1: an OR of 9
    such bits is -1 often enough for the frames to differ."""
    layers = list(net.layers)
    for i, layer in enumerate(layers[1:], 1):
        unit = layers[i - 1]
        if isinstance(layer, MaxPool) and layer.kernel == 3 and isinstance(unit, MatrixVector):
            assert unit.thresholds is not None and unit.binary_input
            high = unit.mw // 2 + max(1, round(0.65 * np.sqrt(unit.mw)))
            layers[i - 1] = replace(unit, thresholds=np.full(unit.mh, high))
    return Network(net.input, tuple(layers), source=net.source)


def _build(case: Case, tmp_path: Path) -> tuple[Network, Folding, Path]:
    rng = np.random.default_rng(sum(map(ord, case.name)))
    net = random_conv_net(
        rng, case.image, case.convs, case.hidden, case.classes, case.levels, case.binarize
    )
    if case.sparse_pools:
        net = _sparse_before_pools(net)
    folding = choose_folding(net, case.target_cycles)
    build = tmp_path / "build"
    write_build(net, folding, build, fifo_depth=case.fifo_depth)
    return net, folding, build


def _codes(net: Network, frames: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, net.input.levels, (frames, net.input.elements))
    codes[0], codes[1] = 0, net.input.levels - 1
    return codes


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_random_conv_net_matches_reference(tmp_path: Path, case: Case) -> None:
    net, folding, build = _build(case, tmp_path)
    codes = _codes(net, case.frames, 2)
    # the net is not degenerate: nearly every frame gives other accumulators
    assert len(np.unique(Reference(net).run_codes(codes).accumulators, axis=0)) >= case.frames - 1
    cfg = SimConfig(seed=1, gap_prob=0.3, backpressure_prob=0.5, ii_frames=7)
    record = verify_rtl(build, codes, cfg)
    assert record.ok, record.problem
    stress, throughput = record.details["phases"]
    assert stress["frames_received"] == stress["frames"] == case.frames
    assert throughput["frames_received"] == throughput["frames"] == 7
    ii = record.details["initiation_interval"]
    spacings = record.details["cycle_spacings"]
    assert spacings, "no steady-state spacing"
    assert all(abs(s - ii) <= 0.01 * ii for s in spacings), (
        spacings,
        ii,
        [layer_cycles(la, f) for la, f in zip(net.layers, folding.layers, strict=True)],
    )
    # the plan's latency estimate (hwbnn.plan.latency): within 5% (or 8 cycles) of the measured
    estimate = load_plan(build).latency_cycles
    assert abs(estimate - record.latency_cycles) <= max(0.05 * record.latency_cycles, 8), (
        estimate,
        record.latency_cycles,
    )


def test_corrupted_convolution_weights_are_caught(tmp_path: Path) -> None:
    """Negating the first convolution's weights (its hidden channels flip) is reported."""
    net, folding, build = _build(CASES[0], tmp_path)
    conv = next(i for i, layer in enumerate(net.layers) if layer.name == "conv0")
    fold = folding.layers[conv]
    mask = (1 << (fold.pe * fold.simd)) - 1
    hexfile = build / "rtl" / f"l{conv}_conv0_weights.hex"
    lines = [
        line if line.startswith("//") else f"{int(line, 16) ^ mask:0{len(line)}x}"
        for line in hexfile.read_text().splitlines()
    ]
    hexfile.write_text("\n".join(lines) + "\n")
    record = verify_rtl(build, _codes(net, 4, 0), SimConfig(ii_frames=0))
    assert not record.ok and record.mismatches > 0
    assert record.first_mismatch is not None
    assert record.first_mismatch.startswith(f"layer {net.output_layer.name} accumulators")


def test_folding_with_converters_both_ways(tmp_path: Path) -> None:
    """A hand-made folding: widening and narrowing converters around windows and pools."""
    rng = np.random.default_rng(5)
    net = random_conv_net(
        rng, (2, 6, 6), (ConvSpec(4, 3, 1, 1, pool=2),), (), 3, 16, binarize_input=True
    )
    # input_threshold, swg0, conv0 (4 x 18, 36 pixels), pool0, fc0 (3 x 36)
    folds = [(1, 2), (1, 1), (2, 6), (1, 4), (3, 4)]
    folding = Folding(tuple(LayerFolding(pe, simd) for pe, simd in folds))
    check_folding(net, folding)
    build = tmp_path / "build"
    write_build(net, folding, build)
    record = verify_rtl(build, _codes(net, 5, 3), SimConfig(seed=4, ii_frames=6))
    assert record.ok, record.problem


@pytest.mark.verilator
@pytest.mark.slow
@pytest.mark.skipif(not simulator_available("verilator"), reason="verilator not found")
def test_majority_pools_on_the_fast_engine(tmp_path: Path) -> None:
    """The majority case on the compiled Verilator harness (most of its ~35 s is the harness
    build): 200 frames under backpressure."""
    case = next(c for c in CASES if c.name == "majority")
    net, _, build = _build(case, tmp_path)
    cfg = SimConfig(seed=3, gap_prob=0.4, backpressure_prob=0.6, ii_frames=6, fast=True)
    record = verify_rtl(build, _codes(net, 200, 5), cfg)
    assert record.ok, record.problem
    assert record.engine == "verilator-fast" and record.frames == 200
