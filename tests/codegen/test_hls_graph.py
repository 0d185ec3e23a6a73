"""The HLS top of a graph (hwbnn.codegen.hls.graph_calls): one stream per planned edge with the
plan's FIFO depth, forks of three consumers as chained two-output forks, three-input add-joins
and concatenations as chains of two-input units, width converters on edges, and the C
simulation equal to the reference and to the RTL simulation of the same network."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from hwbnn.codegen import generate, write_build
from hwbnn.errors import ConfigError
from hwbnn.ir.folding import choose_folding, max_cycles
from hwbnn.ir.types import (
    AddJoin,
    Concat,
    Fork,
    InputFormat,
    InputThreshold,
    MatrixVector,
    Network,
    Threshold,
)
from hwbnn.plan import build_plan
from hwbnn.reference import Reference
from hwbnn.sim.random_graphs import random_graph_net
from hwbnn.sim.top import SimConfig
from hwbnn.verify.csim import verify_csim
from hwbnn.verify.rtl import verify_rtl

pytestmark = pytest.mark.slow  # a g++ build and an Icarus run


def three_way_net(seed: int = 3) -> Network:
    """12 codes -> 16 bits -> fork to 3: two accumulator branches and the bits themselves,
    summed (add-join of 3), 3-step thresholds onto [-1, 2], back to bits -> fork to 3 dense
    units of 8 bits, concatenated (24) -> 5 classes."""
    rng = np.random.default_rng(seed)
    levels = 9
    fmt = InputFormat((12,), np.arange(levels, dtype=np.float32) / (levels - 1))

    def dense(name: str, mh: int, mw: int, src: str, acc: bool = False) -> MatrixVector:
        weights = rng.random((mh, mw)) < 0.5
        t = None if acc else mw // 2 + rng.integers(-2, 3, mh)
        return MatrixVector(name, weights, 1, 2, thresholds=t, inputs=(src,))

    steps = np.sort(rng.integers(-6, 7, (16, 1, 3)), axis=2)
    layers = (
        InputThreshold("in", rng.integers(1, levels, 12), levels),
        dense("fc0", 16, 12, "in"),
        Fork("f0", ("fc0",)),
        dense("a", 16, 16, "f0", acc=True),
        dense("b", 16, 16, "f0", acc=True),
        AddJoin("sum", ("a", "b", "f0")),
        Threshold("grid", steps, ("sum",), out_base=-1),
        Threshold("sign", rng.integers(-1, 2, (16, 1, 1)), ("grid",)),
        Fork("f1", ("sign",)),
        dense("c", 8, 16, "f1"),
        dense("d", 8, 16, "f1"),
        dense("e", 8, 16, "f1"),
        Concat("cat", ("c", "d", "e")),
        MatrixVector(
            "out",
            rng.random((5, 24)) < 0.5,
            1,
            2,
            out_scale=np.ones(5),
            out_bias=np.zeros(5),
            inputs=("cat",),
        ),
    )
    return Network(fmt, layers, source="three_way")


def _calls(top: str) -> list[tuple[str, list[str]]]:
    """(function, stream and memory arguments) of every hwbnn:: call of a generated top."""
    found = re.findall(r"hwbnn::(\w+)<.*>\((.*)\);", top)
    return [(name, [a.strip() for a in args.split(",")]) for name, args in found]


def test_three_way_forks_and_joins_are_chains(tmp_path: Path) -> None:
    net = three_way_net()
    folding = choose_folding(net, max_cycles(net) // 4)
    plan = build_plan(net, folding)
    write_build(net, folding, tmp_path / "b", target="hls")
    top = (tmp_path / "b" / "hls" / "hwbnn_top.cpp").read_text()
    calls = _calls(top)
    names = [name for name, _ in calls]
    assert names.count("fork") == 4  # two forks of three consumers
    assert names.count("add_join") == 2 and names.count("concat") == 2
    # every stream has one writer and one reader, and is declared with the plan's depth
    declared = dict(re.findall(r"#pragma HLS STREAM variable=(\w+) depth=(\d+)", top))
    for name in declared:
        uses = [args for _, args in calls if name in args]
        assert len(uses) == 2, name
    for e in plan.edges:
        if e.src >= 0:
            assert int(declared[plan.edge_name(e)]) == (e.fifo_depth + 1 if e.fifo_depth else 2)
    # the chained add-join: bits (bipolar) enter the second sum, the partial sum is signed
    second = re.findall(r"hwbnn::add_join<([^>]*)>", top)[1].split(", ")
    join = plan.units[5]
    a_bits, out_bits = str(join.chain_bits[0]), str(join.out_bits)
    assert second[2:] == [a_bits, "false", "1", "true", out_bits]  # A: partial sum; B: bits


def test_three_way_graph_csim_and_rtl_agree_with_the_reference(tmp_path: Path) -> None:
    net = three_way_net()
    codes = np.random.default_rng(4).integers(0, net.input.levels, (24, net.input.elements))
    expected = Reference(net).run_codes(codes).accumulators
    assert len(np.unique(expected, axis=0)) > 12  # a test that can fail
    for speedup in (1, 4):
        folding = choose_folding(net, max_cycles(net) // speedup)
        hls_build = tmp_path / f"hls{speedup}"
        write_build(net, folding, hls_build, target="hls")
        record = verify_csim(hls_build, codes)
        assert record.ok and record.frames == 24, record.first_mismatch
        rtl_build = tmp_path / f"rtl{speedup}"
        write_build(net, folding, rtl_build)
        sim = verify_rtl(rtl_build, codes, SimConfig(seed=speedup, gap_prob=0.3))
        assert sim.ok, sim.problem


def test_darts_edges_in_a_graph_csim_equals_the_reference(tmp_path: Path) -> None:
    """A fork into a dilated 3x3 conv (D = 2) and a padded 3x3 max pool, concatenated
    (random_graphs' "darts" block, after a residual block): the HLS graph top's C simulation
    equals the reference at two foldings, the second with SIMD = 3*C (three window positions
    per beat of the dilated window and of the pool's window), also simulated in RTL."""
    net = random_graph_net(np.random.default_rng(3), (2, 8, 8), 4, ("identity", "darts"), 3)
    codes = np.random.default_rng(5).integers(0, net.input.levels, (16, net.input.elements))
    expected = Reference(net).run_codes(codes).accumulators
    assert len(np.unique(expected, axis=0)) > 8  # a test that can fail
    for speedup in (1, 36):
        folding = choose_folding(net, max_cycles(net) // speedup)
        hls_build = tmp_path / f"hls{speedup}"
        write_build(net, folding, hls_build, target="hls")
        config = (hls_build / "hls" / "hwbnn_config.h").read_text()
        assert "static constexpr unsigned D = 2;" in config
        if speedup > 1:
            assert config.count("typedef hwbnn::SwgMmvTypes<") >= 3
        record = verify_csim(hls_build, codes)
        assert record.ok and record.frames == 16, record.first_mismatch
    rtl_build = tmp_path / "rtl"
    write_build(net, folding, rtl_build)
    sim = verify_rtl(rtl_build, codes, SimConfig(seed=2, gap_prob=0.3, backpressure_prob=0.3))
    assert sim.ok, sim.problem


def test_hls4ml_refuses_a_graph_in_one_line(tmp_path: Path) -> None:
    net = random_graph_net(np.random.default_rng(0), (1, 6, 6), 4, ("identity",), 3)
    folding = choose_folding(net, max_cycles(net))
    with pytest.raises(ConfigError) as caught:
        generate("hls4ml", net, folding, tmp_path / "m.onnx", tmp_path / "b")
    message = str(caught.value)
    assert "\n" not in message
    assert "branching network (fork, threshold)" in message and "--target hls" in message
    assert not (tmp_path / "b").exists()
