"""``hwbnn report``: the page shows what the build holds and "not run" for what it does not,
judges stored RTL simulation results against the reference, and writes valid PNG plots."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hwbnn.build import atomic_build, write_manifest
from hwbnn.cli import main
from hwbnn.fpga.link import LinkFormat
from hwbnn.ir.folding import choose_folding
from hwbnn.ir.serialize import save_network
from hwbnn.reference import Reference
from hwbnn.sim.packing import pack_beats
from hwbnn.sim.random_nets import random_mlp

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def build(tmp_path: Path) -> Path:
    net = random_mlp(np.random.default_rng(0), 64, (32,), 10, input_levels=16)
    folding = choose_folding(net, 256)
    target = tmp_path / "build"
    with atomic_build(target) as tmp:
        save_network(net, tmp)
        (tmp / "folding.json").write_text(folding.to_json(net))
        write_manifest(tmp, source="random", target="ir", steps=["compile"])
    return target


def sim_results(build: Path, corrupt: bool) -> None:
    """Stored results of an RTL simulation as hwbnn.sim writes them (stress phase)."""
    from hwbnn.ir.serialize import load_network

    net = load_network(build)
    link = LinkFormat.from_build(build)
    codes = np.random.default_rng(1).integers(0, net.input.levels, (4, net.input.elements))
    acc = Reference(net).run_codes(codes).accumulators
    if corrupt:
        acc[3, 2] += 1
    mask = (1 << link.acc_width) - 1
    words = pack_beats(acc.reshape(-1, link.out_pe) & mask, link.acc_width, link.out_pe)
    lasts = ([0] * (link.out_beats - 1) + [1]) * len(codes)
    sim = build / "sim" / "icarus"
    sim.mkdir(parents=True)
    np.savez(sim / "inputs.npz", stress=codes, throughput=codes)
    beats = [[w, last, i] for i, (w, last) in enumerate(zip(words, lasts, strict=True))]
    (sim / "hwbnn_sim_results.json").write_text(json.dumps({"phases": [{"beats": beats}]}))


def test_report_of_a_bare_build(build: Path, capsys) -> None:
    assert main(["report", str(build)]) == 0
    assert "wrote" in capsys.readouterr().out
    html = (build / "report" / "index.html").read_text()
    assert html.count("not run") >= 3  # ladder, L4, L5
    assert "No bitstream built" in html
    for name in ("layer_cycles.png", "sweep.png"):
        data = (build / "report" / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5_000
    assert "fc0" in html and "input_threshold" in html


@pytest.mark.parametrize("corrupt", [False, True])
def test_report_with_results(build: Path, corrupt: bool) -> None:
    (build / "ladder.json").write_text(
        json.dumps(
            {
                "frames": 360,
                "accuracy": {"L0": 0.93, "L1": 0.93, "L2": 0.93},
                "label_mismatches": {"L0/L1": 0, "L0/L2": 0},
                "ok": True,
            }
        )
    )
    sim_results(build, corrupt)
    board = build / "bitstream" / "ulx3s-85f"
    board.mkdir(parents=True)
    (board / "report.json").write_text(
        json.dumps(
            {
                "board": "ulx3s-85f",
                "device": "LFE5U-85F",
                "resources": {
                    "lut": {"used": 1206, "available": 83640},
                    "ff": {"used": 338, "available": 83640},
                    "bram": {"used": 2, "available": 208},
                },
                "estimate": {"luts": 456, "ffs": 209, "brams": 2},
                "clock": {"requested_mhz": 25, "achieved_mhz": 143.47, "timing_met": True},
                "bitstream": "hwbnn_board_top.bit",
                "frames_per_second_at_fmax": 8756.9,
            }
        )
    )
    info = __import__("hwbnn.report", fromlist=["write_build_report"]).write_build_report(
        build, sweep_points=4
    )
    html = Path(info["index"]).read_text()
    assert "L2 accuracy 0.9300" in html
    assert "1206 / 83640" in html and "143.47" in html and "hwbnn_board_top.bit" in html
    row = html[html.index("L4 RTL simulation (icarus)") :].split("</tr>")[0]
    if corrupt:
        assert ">FAIL<" in row and "1 mismatching" in row
    else:
        assert ">pass<" in row and "0 mismatching" in row
    assert html.count('<tr><td class="num">') >= 2  # sweep rows


def test_conv_layers_are_described() -> None:
    """Window generators, pools and per-pixel units get their own kind and image shapes."""
    from hwbnn.report.build_report import layer_rows
    from hwbnn.sim.random_nets import ConvSpec, random_conv_net

    convs = [ConvSpec(4, 3, 1, 1, pool=2)]
    net = random_conv_net(np.random.default_rng(0), (2, 6, 6), convs, (), 3, 16, True)
    rows = {row["name"]: row for row in layer_rows(net, choose_folding(net, 10_000))}
    assert rows["swg0"]["kind"] == "sliding window 3x3 stride 1 pad 1/1/1/1"
    assert rows["swg0"]["shape"] == "6x6x2 -> 6x6 windows of 18"
    assert rows["conv0"]["kind"] == "matrix-vector per pixel"
    assert rows["conv0"]["shape"] == "36 x (18 -> 4)"
    assert rows["pool0"] == rows["pool0"] | {"kind": "max pool (OR) 2x2 stride 2"}
    assert rows["pool0"]["shape"] == "6x6x4 -> 3x3x4"
    assert rows["fc0"]["kind"] == "matrix-vector" and rows["fc0"]["shape"] == "36 -> 3"
