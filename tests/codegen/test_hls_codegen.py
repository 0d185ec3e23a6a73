"""hwbnn.codegen.hls without a compiler: the file set, memory layouts read back from the
generated headers, the dataflow wiring (dense and convolutional networks), the Vitis HLS
script, and the errors."""

from __future__ import annotations

import re
from dataclasses import replace
from importlib import resources
from pathlib import Path

import jinja2
import numpy as np
import pytest

from hwbnn.codegen import hls
from hwbnn.codegen.hls import generate_hls, read_matrix
from hwbnn.errors import ConfigError
from hwbnn.ir.folding import Folding, LayerFolding
from hwbnn.ir.types import (
    InputFormat,
    InputThreshold,
    MatrixVector,
    MaxPool,
    Network,
    SlidingWindow,
)
from hwbnn.plan import build_plan, identifier
from hwbnn.reference import Reference

TEMPLATES = ("config.h.j2", "params_decl.h.j2", "params.cpp.j2", "top.h.j2", "top.cpp.j2")
TEMPLATES += ("tb.cpp.j2", "run_hls.tcl.j2", "params.h.j2")


def small_network(seed: int = 0, levels: int = 9) -> Network:
    """Input thresholds (12 codes) -> 8 -> 6 -> 4 classes, random weights and thresholds."""
    rng = np.random.default_rng(seed)
    fmt = InputFormat((12,), np.arange(levels, dtype=np.float32) / (levels - 1))
    t_in = rng.integers(0, levels + 1, 12)
    t_in[:2] = (0, levels)
    fc0_t = rng.integers(0, 14, 8)
    fc0_t[:2] = (0, 13)
    return Network(
        fmt,
        (
            InputThreshold("thresh", t_in, levels),
            MatrixVector("fc0", rng.random((8, 12)) < 0.5, 1, 2, thresholds=fc0_t),
            MatrixVector("fc1", rng.random((6, 8)) < 0.5, 1, 2, thresholds=rng.integers(0, 10, 6)),
            MatrixVector(
                "out", rng.random((4, 6)) < 0.5, 1, 2, out_scale=np.ones(4), out_bias=np.zeros(4)
            ),
        ),
    )


FOLDING = Folding((LayerFolding(1, 3), LayerFolding(2, 6), LayerFolding(3, 2), LayerFolding(2, 3)))


@pytest.fixture
def generated(tmp_path: Path) -> tuple[Network, Path, dict]:
    net = small_network()
    summary = generate_hls(net, FOLDING, tmp_path / "model.onnx", tmp_path)
    return net, tmp_path / "hls", summary["hls"]


def test_generated_file_set(generated) -> None:
    _, hls_dir, summary = generated
    names = {p.name for p in hls_dir.iterdir()}
    params = {f"params_{c}.h" for c in ("l0_thresh", "l1_fc0", "l2_fc1", "l3_out")}
    expected = {"hwbnn_config.h", "hwbnn_params.h", "hwbnn_params.cpp", "hwbnn_top.h"}
    expected |= {"hwbnn_top.cpp", "hwbnn_tb.cpp", "run_hls.tcl", "tb_input.txt"}
    expected |= {"tb_expected.txt", "include"} | params
    assert names == expected
    assert sorted((hls_dir / "include" / "hwbnn").iterdir()) != []
    assert (hls_dir / "include" / "hwbnn" / "mvau.hpp").is_file()
    assert set(summary["headers"]) >= params
    assert summary["top"] == "hwbnn_top"
    # input beat: 3 codes of 4 bits; output word: 2 accumulators of clog2(6+1)+1 = 4 bits
    assert (summary["in_width"], summary["out_width"], summary["acc_bits"]) == (12, 8, 4)


def test_templates_are_package_data() -> None:
    directory = resources.files("hwbnn.codegen") / "templates" / "hls"
    for name in TEMPLATES:
        assert (directory / name).is_file(), name


def test_tb_vectors_are_reference_outputs(generated) -> None:
    net, hls_dir, _ = generated
    codes = read_matrix(hls_dir / "tb_input.txt")
    expected = read_matrix(hls_dir / "tb_expected.txt")
    assert codes.shape == (hls.TB_FRAMES, 12) and expected.shape == (hls.TB_FRAMES, 4)
    assert np.array_equal(expected, Reference(net).run_codes(codes).accumulators)


def _array_body(text: str, name: str) -> str:
    match = re.search(rf"\b{name}\[[^=]*= \{{(.*?)\n\}};", text, re.S)
    assert match, f"array {name} not found"
    return match.group(1)


def _rows(body: str) -> list[list[str]]:
    """Top-level brace groups of a 2-D initialiser, as lists of literal strings."""
    return [
        [tok for tok in (t.strip() for t in group.split(",")) if tok]
        for group in re.findall(r"\{([^{}]*)\}", body)
    ]


def _literal(text: str) -> int:
    match = re.fullmatch(r'0x([0-9a-f]+)ULL|ap_uint<\d+>\("0x([0-9a-f]+)", 16\)', text)
    assert match, text
    return int(match.group(1) or match.group(2), 16)


def test_weight_and_threshold_layout(generated) -> None:
    net, hls_dir, _ = generated
    for index, (layer, fold) in enumerate(zip(net.layers, FOLDING.layers, strict=True)):
        cname = identifier(index, layer.name)
        text = (hls_dir / f"params_{cname}.h").read_text()
        if isinstance(layer, InputThreshold):
            table = np.array(_rows(_array_body(text, f"{cname}_thresholds")), dtype=np.int64)
            # [s][f] holds element f*SIMD + s
            assert table.shape == (fold.simd, layer.in_elements // fold.simd)
            assert np.array_equal(table.T.reshape(-1), layer.thresholds)
            continue
        assert isinstance(layer, MatrixVector)
        nf, sf = layer.mh // fold.pe, layer.mw // fold.simd
        words = [[_literal(t) for t in row] for row in _rows(_array_body(text, f"{cname}_weights"))]
        assert len(words) == fold.pe and all(len(row) == nf * sf for row in words)
        rebuilt = np.zeros_like(layer.weights)
        for p in range(fold.pe):
            for n in range(nf):
                for s in range(sf):
                    word = words[p][n * sf + s]
                    assert word >> fold.simd == 0
                    for bit in range(fold.simd):
                        rebuilt[n * fold.pe + p, s * fold.simd + bit] = (word >> bit) & 1
        assert np.array_equal(rebuilt, layer.weights), cname
        if layer.thresholds is not None:
            table = np.array(_rows(_array_body(text, f"{cname}_thresholds")), dtype=np.int64)
            assert table.shape == (fold.pe, nf)  # [p][nf] holds channel nf*PE + p
            assert np.array_equal(table.T.reshape(-1), layer.thresholds)
        else:
            assert f"{cname}_thresholds" not in text


def test_top_function_wiring(generated) -> None:
    _, hls_dir, summary = generated
    top = (hls_dir / "hwbnn_top.cpp").read_text()
    header = (hls_dir / "hwbnn_top.h").read_text()
    assert re.search(
        r"void hwbnn_top\(hls::stream<ap_uint<HWBNN_IN_W>> &in, "
        r"hls::stream<ap_uint<HWBNN_OUT_W>> &out,\s*unsigned reps\);",
        header,
    )
    for pragma in (
        "#pragma HLS DATAFLOW",
        "#pragma HLS INTERFACE axis port=in",
        "#pragma HLS INTERFACE axis port=out",
        "#pragma HLS INTERFACE s_axilite port=reps bundle=control",
        "#pragma HLS INTERFACE s_axilite port=return bundle=control",
    ):
        assert pragma in top
    calls = re.findall(r"hwbnn::(\w+)<([^>]*(?:<[^>]*>)?[^>]*)>\(\s*(\w+), (\w+)", top)
    kinds = [c[0] for c in calls]
    # widths: thresh out 3 -> fc0 in 6, fc0 out 2 -> fc1 in 2 (same), fc1 out 3 -> out in 3
    assert kinds == ["threshold_input", "convert_width", "mvau", "mvau", "mvau"]
    assert summary["width_converters"] == 1
    assert "convert_width<l0_thresh::OUT_W, l1_fc0::IN_W, l0_thresh::OUT_BEATS>" in top
    # the channels chain: each call reads what the previous one wrote
    assert calls[0][2] == "in" and calls[-1][3] == "out"
    for before, after in zip(calls, calls[1:], strict=False):
        assert before[3] == after[2]
        assert re.search(rf"hls::stream<ap_uint<\w+::\w+>> {after[2]}\(", top)
    config = (hls_dir / "hwbnn_config.h").read_text()
    block = config[config.index("struct l1_fc0 {") :]
    block = block[: block.index("};")]
    for name, value in (("MW", 12), ("MH", 8), ("PE", 2), ("SIMD", 6), ("INPUT_BITS", 1)):
        assert f"static constexpr unsigned {name} = {value};" in block
    assert "typedef hwbnn::XnorMul Product;" in block
    assert "#define AP_INT_MAX_W 1024" in config


def _tcl(hls_dir: Path) -> list[list[str]]:
    lines = (hls_dir / "run_hls.tcl").read_text().splitlines()
    return [line.split() for line in lines if line.strip() and not line.startswith("#")]


def test_tcl_script_structure(tmp_path: Path) -> None:
    net = small_network()
    generate_hls(net, FOLDING, tmp_path / "model.onnx", tmp_path, part="xcu50-fsvh2104-2-e")
    hls_dir = tmp_path / "hls"
    commands = _tcl(hls_dir)
    names = [c[0] for c in commands]
    settings = {c[1]: c[2] for c in commands if c[0] == "set"}
    assert settings["part"] == '"xcu50-fsvh2104-2-e"'
    assert ["set_part", "$part"] in commands
    assert float(settings["clock_period"]) == 10.0
    assert ["create_clock", "-period", "$clock_period", "-name", "default"] in commands
    assert ["set_top", "hwbnn_top"] in commands
    added = [c[-3].strip('"') for c in commands if c[0] == "add_files" and "-tb" not in c]
    tb = [c[2].strip('"') for c in commands if c[0] == "add_files" and "-tb" in c]
    here = "$here/"
    assert {a.removeprefix(here) for a in added} >= {"hwbnn_top.cpp", "hwbnn_params.cpp"}
    assert f"{here}hwbnn_tb.cpp" in tb
    for path in added + tb:
        assert (hls_dir / path.removeprefix(here)).is_file(), path
    text = (hls_dir / "run_hls.tcl").read_text()
    assert 'set cflags "-std=c++14 -I$here -I$here/include"' in text
    cpp = [c for c in commands if c[0] == "add_files" and ".cpp" in " ".join(c)]
    assert len(cpp) == 3 and all(c[-2:] == ["-cflags", "$cflags"] for c in cpp)
    steps = ["open_project", "open_solution", "csim_design", "csynth_design", "export_design"]
    positions = [names.index(step) for step in steps]
    assert positions == sorted(positions)
    assert names.index("set_top") < names.index("open_solution") < names.index("set_part")
    assert ["export_design", "-format", "ip_catalog"] in commands
    csim = next(c for c in commands if c[0] == "csim_design")
    assert '$here/tb_expected.txt"' in csim


def test_clock_frequency_sets_period(tmp_path: Path) -> None:
    generate_hls(small_network(), FOLDING, tmp_path / "m.onnx", tmp_path, clock_mhz=250)
    settings = {c[1]: c[2] for c in _tcl(tmp_path / "hls") if c[0] == "set"}
    assert float(settings["clock_period"]) == 4.0
    with pytest.raises(ValueError, match="positive"):
        generate_hls(small_network(), FOLDING, tmp_path / "m.onnx", tmp_path, clock_mhz=0)
    with pytest.raises(ValueError, match="part name"):
        generate_hls(small_network(), FOLDING, tmp_path / "m.onnx", tmp_path, part='x" ; exit')


@pytest.mark.parametrize("template", TEMPLATES)
def test_missing_template_variable_fails(template: str) -> None:
    with pytest.raises(jinja2.UndefinedError):
        hls.render(template)


def test_missing_single_variable_fails(tmp_path: Path) -> None:
    net = small_network()
    plan = build_plan(net, FOLDING)
    stages = list(plan.units)
    calls, channels = hls.chain_calls(plan)
    context = {"source": "m.onnx", "top": "hwbnn_top", "stages": stages, "calls": calls}
    context |= {"channels": channels, "params": [], "first": stages[0], "last": stages[-1]}
    hls.render("top.cpp.j2", **context)  # complete
    del context["channels"]
    with pytest.raises(jinja2.UndefinedError, match="channels"):
        hls.render("top.cpp.j2", **context)


@pytest.mark.parametrize(
    ("fold", "message"),
    [
        (LayerFolding(3, 6), r"layer fc0: PE=3 does not divide MH=8"),
        (LayerFolding(2, 5), r"layer fc0: SIMD=5 does not divide MW=12"),
        (LayerFolding(2, 4), r"layer fc0: SIMD=4 and the output width 3 of "),
    ],
)
def test_folding_that_does_not_fit_is_rejected(tmp_path: Path, fold, message: str) -> None:
    folding = Folding((FOLDING.layers[0], fold, *FOLDING.layers[2:]))
    with pytest.raises(ConfigError, match=message):
        generate_hls(small_network(), folding, tmp_path / "m.onnx", tmp_path)
    assert not (tmp_path / "hls").exists()


def test_out_of_range_threshold_is_refused(tmp_path: Path) -> None:
    net = small_network()
    layer = net.layers[2]
    assert isinstance(layer, MatrixVector) and layer.thresholds is not None
    bad = layer.thresholds.copy()
    bad[1] = layer.mw + 2  # one past "always -1": would wrap in the C++ table
    object.__setattr__(layer, "thresholds", bad)  # bypass the IR's own check
    with pytest.raises(ConfigError, match=r"layer fc1: threshold 10 outside \[0, 9\]"):
        generate_hls(net, FOLDING, tmp_path / "m.onnx", tmp_path)


def test_wide_streams_raise_ap_int_max_w(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    levels = 256
    fmt = InputFormat((160,), np.arange(levels, dtype=np.float32))
    net = Network(
        fmt,
        (
            MatrixVector(
                "wide",
                rng.random((4, 160)) < 0.5,
                8,
                levels,
                out_scale=np.ones(4),
                out_bias=np.zeros(4),
            ),
        ),
    )
    summary = generate_hls(net, Folding((LayerFolding(4, 160),)), tmp_path / "m.onnx", tmp_path)
    assert summary["hls"]["in_width"] == 1280
    assert "#define AP_INT_MAX_W 2048" in (tmp_path / "hls" / "hwbnn_config.h").read_text()
    params = (tmp_path / "hls" / "params_l0_wide.h").read_text()
    assert 'ap_uint<160>("0x' in params  # words wider than 64 bits are written as strings


def test_c_identifiers() -> None:
    assert identifier(3, "MatMul_0") == "l3_MatMul_0"
    assert identifier(0, "fc/0.weight") == "l0_fc_0_weight"


def test_streams_beyond_ap_int_limit_are_rejected(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    levels = 256
    fmt = InputFormat((4100,), np.arange(levels, dtype=np.float32))
    weights = rng.random((2, 4100)) < 0.5
    out = MatrixVector("huge", weights, 8, levels, None, np.ones(2), np.zeros(2))
    net = Network(fmt, (out,))
    with pytest.raises(ConfigError, match=r"layer huge: a 32800-bit stream exceeds"):
        generate_hls(net, Folding((LayerFolding(1, 4100),)), tmp_path / "m.onnx", tmp_path)


def conv_network(seed: int = 1) -> Network:
    """8-bit (3, 6, 6) image -> 3x3 conv (4 channels, pad 1, pad code 0) -> 2x2 OR pool ->
    2x2 conv (6 channels, stride 1, asymmetric padding) -> 3 classes."""
    rng = np.random.default_rng(seed)
    levels = 256
    fmt = InputFormat((3, 6, 6), np.arange(levels, dtype=np.float32) / 255)
    swg0 = SlidingWindow("swg0", (6, 6, 3), 3, 1, (1, 1, 1, 1), levels, 0)
    t0 = rng.integers(-500, 500, 4)
    conv0 = MatrixVector("conv0", rng.random((4, 27)) < 0.5, 8, levels, t0, pixels=36)
    pool = MaxPool("pool", (6, 6, 4), 2, 2)
    swg1 = SlidingWindow("swg1", (3, 3, 4), 2, 1, (0, 1, 1, 0))
    conv1 = MatrixVector("conv1", rng.random((6, 16)) < 0.5, 1, 2, rng.integers(0, 17, 6), pixels=9)
    out = MatrixVector("out", rng.random((3, 54)) < 0.5, 1, 2, None, np.ones(3), np.zeros(3))
    return Network(fmt, (swg0, conv0, pool, swg1, conv1, out))


CONV_FOLDING = Folding(
    (
        LayerFolding(1, 3),  # swg0: one pixel per beat
        LayerFolding(2, 9),  # conv0: widened 3 -> 9
        LayerFolding(1, 4),  # pool: widened 2 -> 4
        LayerFolding(1, 2),  # swg1: narrowed 4 -> 2
        LayerFolding(3, 8),  # conv1: widened 2 -> 8
        LayerFolding(1, 6),  # out: widened 3 -> 6
    )
)


def test_conv_network_wiring(tmp_path: Path) -> None:
    net = conv_network()
    summary = generate_hls(net, CONV_FOLDING, tmp_path / "m.onnx", tmp_path)["hls"]
    hls_dir = tmp_path / "hls"
    # memories only for the matrix-vector units
    params = {p.name for p in hls_dir.glob("params_*.h")}
    assert params == {"params_l1_conv0.h", "params_l4_conv1.h", "params_l5_out.h"}
    assert set(summary["headers"]) >= params
    top = (hls_dir / "hwbnn_top.cpp").read_text()
    calls = re.findall(r"hwbnn::(\w+)<([^(]*)>\(\s*(\w+), (\w+)", top)
    assert [c[0] for c in calls] == [
        "sliding_window",
        "convert_width",
        "mvau",
        "convert_width",
        "sliding_window",  # the pool: windows ...
        "pool_or",  # ... ORed
        "convert_width",
        "sliding_window",
        "convert_width",
        "mvau",
        "convert_width",
        "mvau",
    ]
    assert summary["width_converters"] == 5
    assert calls[0][2] == "in" and calls[-1][3] == "out"
    for before, after in zip(calls, calls[1:], strict=False):
        assert before[3] == after[2]
        assert re.search(rf"hls::stream<ap_uint<\w+::\w+>> {after[2]}\(", top)
    assert calls[4][1].startswith("l2_pool::H, l2_pool::W, l2_pool::C, l2_pool::K, l2_pool::S,")
    # the pool's padding (bit 0 outside the image: pad code 0), bits
    assert calls[4][1].endswith("l2_pool::PAD_RIGHT, l2_pool::WORD_SIMD, 1, 0")
    assert "l2_pool::PAD_TOP, l2_pool::PAD_LEFT, l2_pool::PAD_BOTTOM," in calls[4][1]
    assert (calls[4][3], calls[5][2]) == ("l2_pool_windows", "l2_pool_windows")
    assert calls[2][1].endswith("l1_conv0::Activation, l1_conv0::PIXELS")
    config = (hls_dir / "hwbnn_config.h").read_text()

    def struct(name: str) -> dict[str, int]:
        block = config[config.index(f"struct {name} {{") :]
        block = block[: block.index("};")]
        return {k: int(v) for k, v in re.findall(r"unsigned (\w+) = (\d+);", block)}

    swg0 = struct("l0_swg0")
    assert (swg0["H"], swg0["W"], swg0["C"], swg0["K"], swg0["S"]) == (6, 6, 3, 3, 1)
    assert (swg0["BITS"], swg0["PAD_CODE"], swg0["SIMD"], swg0["PIXELS"]) == (8, 0, 3, 36)
    assert (swg0["IN_W"], swg0["OUT_W"], swg0["OUT_BEATS"]) == (24, 24, 36 * 9)
    swg1 = struct("l3_swg1")
    padding = (swg1["PAD_TOP"], swg1["PAD_LEFT"], swg1["PAD_BOTTOM"], swg1["PAD_RIGHT"])
    assert padding == (0, 1, 1, 0) and swg1["BITS"] == 1 and swg1["PIXELS"] == 9
    pool = struct("l2_pool")
    assert (pool["OH"], pool["OW"], pool["PIXELS"], pool["OUT_BEATS"]) == (3, 3, 9, 9)
    conv0 = struct("l1_conv0")
    assert (conv0["MW"], conv0["MH"], conv0["PIXELS"], conv0["OUT_BEATS"]) == (27, 4, 36, 72)
    assert "typedef hwbnn::IntBinaryProduct<8> Product;" in config
    assert summary["in_width"] == 24 and summary["in_bits"] == 8
    assert f"HWBNN_TB_BATCH = {hls.TB_MAX_BATCH};" in config


def test_conv_weight_layout_is_the_ir_columns(tmp_path: Path) -> None:
    """A convolution's weight words hold the IR's (ky, kx, c) columns unchanged."""
    net = conv_network()
    generate_hls(net, CONV_FOLDING, tmp_path / "m.onnx", tmp_path)
    layer, fold = net.layers[4], CONV_FOLDING.layers[4]
    assert isinstance(layer, MatrixVector)
    text = (tmp_path / "hls" / "params_l4_conv1.h").read_text()
    words = [[_literal(t) for t in row] for row in _rows(_array_body(text, "l4_conv1_weights"))]
    nf, sf = layer.mh // fold.pe, layer.mw // fold.simd
    rebuilt = np.zeros_like(layer.weights)
    for p in range(fold.pe):
        for n in range(nf):
            for s in range(sf):
                for bit in range(fold.simd):
                    rebuilt[n * fold.pe + p, s * fold.simd + bit] = (
                        words[p][n * sf + s] >> bit
                    ) & 1
    assert np.array_equal(rebuilt, layer.weights)


def test_tb_batch_bounds_the_streams() -> None:
    net = conv_network()
    stages = build_plan(net, Folding(tuple(LayerFolding(1, 1) for _ in net.layers))).units
    assert [s.stream_beats for s in stages] == [36 * 27, 36 * 4, 9 * 4 * 4, 9 * 16, 9 * 6, 3]
    assert stages[2].out_beats == 9 * 4  # the pool's output; its windows are 4 times as many
    assert hls.tb_batch(stages, 108) == hls.TB_MAX_BATCH
    big = [replace(stages[0], out_beats=hls.TB_STREAM_BEATS // 3 + 1)]
    assert hls.tb_batch(big, 108) == 2
    assert hls.tb_batch(stages, hls.TB_STREAM_BEATS // 5) == 5  # the input stream counts too
    assert hls.tb_batch([replace(stages[0], out_beats=hls.TB_STREAM_BEATS * 2)], 1) == 1


def test_output_layer_over_pixels_is_rejected(tmp_path: Path) -> None:
    fmt = InputFormat((1, 4, 4), np.array([0.0, 1.0], dtype=np.float32))
    swg = SlidingWindow("swg", (4, 4, 1), 3)
    out = MatrixVector("head", np.ones((2, 9), bool), 1, 2, None, np.ones(2), np.zeros(2), 4)
    net = Network(fmt, (swg, out))
    folding = Folding((LayerFolding(1, 1), LayerFolding(1, 1)))
    with pytest.raises(ConfigError, match=r"layer head: an output layer of 4 pixels"):
        generate_hls(net, folding, tmp_path / "m.onnx", tmp_path)
