"""hwbnn.plan: the widths of the plan are the generated Verilog's and the HLS config's (checked
by g++ through the config's static_asserts), and bad networks or foldings are refused by name."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from hwbnn.codegen import generate
from hwbnn.codegen.cxx import CompileError, ap_types_dir, compile_executable
from hwbnn.codegen.hls import render_hls
from hwbnn.errors import ConfigError
from hwbnn.ir.folding import Folding, LayerFolding, WeightStorage, choose_folding, max_cycles
from hwbnn.ir.types import InputFormat, MatrixVector, Network, SlidingWindow
from hwbnn.plan import (
    PLAN_FILE,
    Plan,
    PlanError,
    UnitKind,
    build_plan,
    clog2,
    identifier,
    load_plan,
    write_plan,
)
from hwbnn.plan.packing import memory_words, pack_beats, unpack_beats, value_lanes
from hwbnn.sim.random_nets import ConvSpec, random_conv_net, random_mlp


def dense_net() -> Network:
    return random_mlp(np.random.default_rng(1), 64, [32, 16], 10)


def conv_net() -> Network:
    specs = [ConvSpec(8, 3, 1, 1, 2), ConvSpec(16, 3)]
    return random_conv_net(np.random.default_rng(4), (3, 10, 10), specs, [16], 10)


def integer_net() -> Network:
    return random_mlp(np.random.default_rng(2), 36, [24], 6, input_levels=13, binarize_input=False)


NETS = {"dense": dense_net, "conv": conv_net, "integer": integer_net}


def folded(name: str) -> tuple[Network, Folding]:
    net = NETS[name]()
    return net, choose_folding(net, max(1, max_cycles(net) // 4))


def _localparams(text: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r"localparam\s+(\w+)\s*=\s*(\d+)\s*;", text)}


def _instances(text: str) -> dict[str, dict[str, str]]:
    """Instance name -> {parameter: value text} of the generated top."""
    found = {}
    for params, inst in re.findall(r"hwbnn_\w+ #\((.*?)\) (u_\w+) \(", text, re.S):
        found[inst] = dict(re.findall(r"\.(\w+)\((.*?)\),?\n", params + "\n"))
    return found


@pytest.mark.parametrize("name", ["dense", "conv", "integer"])
def test_plan_widths_are_the_verilog_top(tmp_path: Path, name: str) -> None:
    net, folding = folded(name)
    generate("rtl", net, folding, Path("m.onnx"), tmp_path)
    plan = load_plan(tmp_path)
    assert plan == build_plan(net, folding)
    text = (tmp_path / "rtl" / "hwbnn_top.v").read_text()
    assert _localparams(text) == plan.top_localparams()
    io = plan.io
    assert f"input  wire [{io.in_width - 1}:0] s_axis_tdata" in text
    assert f"output wire [{io.out_width - 1}:0] m_axis_tdata" in text
    instances = _instances(text)
    for u in plan.units:
        if u.kind is UnitKind.MVAU:
            params = instances[f"u_{u.ident}"]
            got = {k: int(params[k]) for k in ("MW", "MH", "PE", "SIMD", "INPUT_BITS", "VECTORS")}
            assert got == {
                "MW": u.mw,
                "MH": u.mh,
                "PE": u.pe,
                "SIMD": u.simd,
                "INPUT_BITS": u.in_bits,
                "VECTORS": u.pixels,
            }
            assert int(params["OUTPUT_MODE"]) == int(u.is_output)
            weights = (tmp_path / "rtl" / f"{u.ident}_weights.hex").read_text().split("\n")
            words = [w for w in weights if w and not w.startswith("//")]
            assert u.weights is not None and len(words) == u.weights.depth
            assert {len(w) for w in words} == {-(-u.weights.word_bits // 4)}
            if u.thresholds is not None:
                head = (tmp_path / "rtl" / f"{u.ident}_thresholds.hex").read_text()
                assert f"THRESH_WIDTH={u.thresholds.lane_bits}" in head
        elif u.kind is UnitKind.INPUT_THRESHOLD:
            params = instances[f"u_{u.ident}"]
            assert (int(params["N"]), int(params["SIMD"])) == (u.mw, u.simd)
            assert int(params["INPUT_BITS"]) == u.in_bits == u.threshold_bits - 1
        else:
            window = instances[f"u_{u.ident}" + ("_window" if u.is_pool else "")]
            assert int(window["ELEM_BITS"]) == u.in_bits and int(window["SIMD"]) == u.simd
        if u.index < len(plan.units) - 1:
            # the unit's output link carries its output beat
            assert f"wire [{u.out_width - 1}:0] {u.ident}_out_tdata;" in text
            if u.fifo_depth:
                assert int(instances[f"u_{u.ident}_fifo"]["DEPTH"]) == u.fifo_depth
    converters = {
        (int(p["IN_WIDTH"]), int(p["OUT_WIDTH"]))
        for i, p in instances.items()
        if i.endswith("_width")
    }
    assert converters == {(c.in_width, c.out_width) for c in plan.converters}
    assert len([i for i in instances if i.endswith("_width")]) == len(plan.converters)


def _constants(text: str) -> dict[str, dict[str, int]]:
    """struct name -> its ``static constexpr unsigned`` constants, plus the HWBNN_* ones."""
    structs = {
        name: {k: int(v) for k, v in re.findall(r"constexpr unsigned (\w+) = (\d+);", body)}
        for name, body in re.findall(r"struct (\w+) \{(.*?)\n\};", text, re.S)
    }
    top = re.findall(r"^constexpr unsigned (HWBNN_\w+) = (\d+);", text, re.M)
    structs["HWBNN"] = {k: int(v) for k, v in top}
    return structs


def _compile_config(hls_dir: Path) -> None:
    """Compile a translation unit including hwbnn_config.h (its static_asserts) with g++."""
    main = hls_dir / "check_config.cpp"
    main.write_text('#include "hwbnn_config.h"\nint main() { return 0; }\n')
    compile_executable(
        [main],
        hls_dir / "check",
        include_dirs=[hls_dir, hls_dir / "include"],
        system_include_dirs=[ap_types_dir()],
        flags=("-std=c++14", "-fsyntax-only"),
    )


@pytest.mark.parametrize("name", ["dense", "conv"])
def test_plan_widths_are_the_hls_config(tmp_path: Path, name: str) -> None:
    net, folding = folded(name)
    generate("hls", net, folding, Path("m.onnx"), tmp_path)
    plan = load_plan(tmp_path)
    text = (tmp_path / "hls" / "hwbnn_config.h").read_text()
    consts = _constants(text)
    for u in plan.units:
        c = consts[u.ident]
        assert (c["PE"], c["SIMD"], c["IN_W"], c["OUT_W"]) == (
            u.pe,
            u.simd,
            u.in_width,
            u.out_width,
        )
        assert c["OUT_BEATS"] == u.out_beats
        assert f"static_assert(unsigned({u.ident}::Types::" in text
        if u.kind is UnitKind.MVAU:
            assert (c["MW"], c["MH"], c["OUT_BITS"]) == (u.mw, u.mh, u.out_bits)
            assert c["THRESHOLD_BITS"] == u.threshold_bits and c["WMEM"] == u.weights.depth
            assert f"static_assert({u.ident}::Types::OUT_BITS == {u.ident}::OUT_BITS" in text
    top = consts["HWBNN"]
    io = plan.io
    assert (top["HWBNN_IN_W"], top["HWBNN_IN_BITS"], top["HWBNN_IN_SIMD"]) == (
        io.in_width,
        io.in_bits,
        io.in_simd,
    )
    assert (top["HWBNN_OUT_W"], top["HWBNN_ACC_BITS"], top["HWBNN_OUT_PE"]) == (
        io.out_width,
        io.acc_width,
        io.out_pe,
    )
    _compile_config(tmp_path / "hls")  # the library agrees with every width of the plan


def _widen(plan: Plan, index: int, **changes: int) -> Plan:
    units = list(plan.units)
    units[index] = replace(units[index], **changes)
    return replace(plan, units=tuple(units))


@pytest.mark.parametrize("what", ["accumulator", "threshold"])
def test_a_wrong_plan_width_fails_the_hls_compile(tmp_path: Path, what: str) -> None:
    net, folding = folded("dense")
    plan = build_plan(net, folding)
    last = plan.units[-1]
    if what == "accumulator":
        bits = last.out_bits + 1
        bad = _widen(plan, last.index, out_bits=bits, out_width=last.pe * bits)
        bad = replace(bad, io=replace(plan.io, acc_width=bits, out_width=last.pe * bits))
        message = "output field width differs from the library's"
    else:
        hidden = plan.units[1]
        assert hidden.kind is UnitKind.MVAU and not hidden.is_output
        bad = _widen(plan, 1, threshold_bits=hidden.threshold_bits + 1)
        message = "threshold width differs from the library's"
    render_hls(bad, net, Path("m.onnx"), tmp_path)
    with pytest.raises(CompileError, match=message):
        _compile_config(tmp_path / "hls")


def test_plan_json_round_trip(tmp_path: Path) -> None:
    for name in NETS:
        plan = build_plan(*folded(name))
        write_plan(plan, tmp_path)
        assert load_plan(tmp_path) == plan
        doc = json.loads((tmp_path / PLAN_FILE).read_text())
        assert doc["units"][0]["kind"] == plan.units[0].kind.value


def test_generate_writes_the_plan_for_every_target(tmp_path: Path) -> None:
    net, folding = folded("dense")
    assert generate("ir", net, folding, Path("m.onnx"), tmp_path) == {}
    assert load_plan(tmp_path) == build_plan(net, folding)
    with pytest.raises(ConfigError, match="unknown target 'vhdl'"):
        generate("vhdl", net, folding, Path("m.onnx"), tmp_path)


def test_load_plan_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no plan.json and no folding.json"):
        load_plan(tmp_path)
    (tmp_path / PLAN_FILE).write_text('{"format": 99}')
    with pytest.raises(ConfigError, match="not a hardware plan"):
        load_plan(tmp_path)


def _fold(*pairs: tuple[int, int]) -> Folding:
    return Folding(tuple(LayerFolding(pe, simd) for pe, simd in pairs))


def test_validation_names_the_layer() -> None:
    net = dense_net()  # input_threshold 64, fc0 32x64, fc1 16x32, fc2 10x16
    names = [layer.name for layer in net.layers]
    with pytest.raises(PlanError, match=f"layer {names[1]}: PE=3 does not divide MH=32"):
        build_plan(net, _fold((1, 4), (3, 4), (1, 1), (1, 1)))
    with pytest.raises(PlanError, match=f"layer {names[2]}: SIMD=5 does not divide MW=32"):
        build_plan(net, _fold((1, 4), (1, 4), (1, 5), (1, 1)))
    with pytest.raises(PlanError, match="FIFO depth must be 0"):
        build_plan(net, _fold((1, 4), (1, 4), (1, 1), (1, 1)), fifo_depth=1)
    layer = net.layers[2]
    assert isinstance(layer, MatrixVector) and layer.thresholds is not None
    bad = layer.thresholds.copy()
    bad[3] = layer.mw + 2
    object.__setattr__(layer, "thresholds", bad)  # past the IR's own check
    with pytest.raises(PlanError, match=rf"layer {names[2]}: threshold 34 outside \[0, 33\]"):
        build_plan(net, _fold((1, 4), (1, 4), (1, 1), (1, 1)))


def test_validation_of_units() -> None:
    fmt = InputFormat((1, 4, 4), np.array([0.0, 1.0], dtype=np.float32))
    swg = SlidingWindow("swg", (4, 4, 1), 3)
    out = MatrixVector("head", np.ones((2, 9), bool), 1, 2, None, np.ones(2), np.zeros(2), 4)
    net = Network(fmt, (swg, out))
    with pytest.raises(PlanError, match="layer head: an output layer of 4 pixels"):
        build_plan(net, _fold((1, 1), (1, 1)))
    fmt = InputFormat((6,), np.arange(5, dtype=np.float32))  # 3-bit codes
    wide = MatrixVector("fc", np.ones((2, 6), bool), 4, 5, None, np.ones(2), np.zeros(2))
    with pytest.raises(PlanError, match="layer fc: reads 4-bit codes, the input format has 3"):
        build_plan(Network(fmt, (wide,)), _fold((1, 1)))


def test_widths_and_identifiers() -> None:
    assert [clog2(n) for n in (0, 1, 2, 3, 4, 5, 785)] == [0, 0, 1, 2, 2, 3, 10]
    assert identifier(3, "MatMul_0") == "l3_MatMul_0"
    assert identifier(0, "/fc.0/weight ") == "l0_fc_0_weight"
    plan = build_plan(*folded("integer"))
    first = plan.units[0]
    # 13 levels -> 4-bit codes; |acc| <= 36 * 15 = 540: 11 bits; thresholds signed 11 bits
    assert (first.in_bits, first.acc_bits, first.threshold_bits) == (4, 11, 11)
    assert first.threshold_signed and first.thresholds is not None
    assert first.thresholds.lanes == first.pe and first.thresholds.depth == 24 // first.pe


def test_packing() -> None:
    codes = np.array([[1, 2, 3, 0], [3, 3, 0, 1]])
    beats = pack_beats(codes, 2, 2)
    assert beats == [0b1001, 0b0011, 0b1111, 0b0100]
    assert np.array_equal(unpack_beats(beats, 2, 2).reshape(2, 4), codes)
    assert np.array_equal(unpack_beats([0b1110], 2, 2, signed=True), [[-2, -1]])
    t = np.array([-1, 2, 3, -4])
    # lane p of word nf is channel nf*2 + p, two's complement in 3 bits
    assert memory_words(value_lanes(t, 2).tolist(), 3) == [0b010111, 0b100011]


def test_weight_storage_is_chosen_recorded_and_overridable(tmp_path: Path) -> None:
    """At most two weight words per lane: constants (in the top as WEIGHTS, no weight file);
    else a ROM; a folding's choice wins, and constants on more than two words are refused."""
    net = dense_net()  # input_threshold 64, fc0 32x64, fc1 16x32, fc2 10x16
    folding = _fold((1, 64), (32, 64), (8, 32), (1, 1))  # fc0 one word, fc1 two, fc2 160
    plan = build_plan(net, folding)
    storage = [u.weights.storage for u in plan.units if u.weights is not None]
    assert storage == [WeightStorage.CONSTANT, WeightStorage.CONSTANT, WeightStorage.ROM]
    write_plan(plan, tmp_path)
    assert load_plan(tmp_path) == plan
    doc = json.loads((tmp_path / PLAN_FILE).read_text())
    assert doc["units"][3]["weights"]["storage"] == "rom"
    del doc["units"][1]["weights"]["storage"]  # a plan.json written before storage existed
    assert Plan.from_dict(doc).units[1].weights.storage is WeightStorage.ROM
    (tmp_path / "b").mkdir()
    generate("rtl", net, folding, Path("m.onnx"), tmp_path / "b")
    top = (tmp_path / "b" / "rtl" / "hwbnn_top.v").read_text()
    params = _instances(top)
    fc0, fc2 = (params[f"u_l{i}_{name}"] for i, name in ((1, "fc0"), (3, "fc2")))
    assert fc0["WEIGHT_STORAGE"] == "3" and fc0["WEIGHTS"].startswith("2048'h")
    assert "WEIGHT_FILE" not in fc0 and not (tmp_path / "b/rtl/l1_fc0_weights.hex").exists()
    assert fc2["WEIGHT_STORAGE"] == "0" and "l3_fc2_weights.hex" in fc2["WEIGHT_FILE"]
    override = Folding((*folding.layers[:3], LayerFolding(1, 1, WeightStorage.LUT_ROM)))
    assert build_plan(net, override).units[3].weights.storage is WeightStorage.LUT_ROM
    bad = Folding((*folding.layers[:3], LayerFolding(1, 1, WeightStorage.CONSTANT)))
    with pytest.raises(PlanError, match="layer fc2: constant weights need at most 2 words"):
        build_plan(net, bad)
