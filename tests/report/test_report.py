"""``hwbnn report``: the page shows the records of verification.json (and "not run" for the
levels without one, the first mismatch of a failing one), what else the build holds, and
writes valid PNG plots."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hwbnn.build import atomic_build, write_manifest
from hwbnn.ir.folding import choose_folding
from hwbnn.ir.serialize import save_network
from hwbnn.report import write_build_report
from hwbnn.sim.random_nets import random_mlp
from hwbnn.verify.record import Level, VerificationRecord, record_result

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


def records(corrupt: bool) -> list[VerificationRecord]:
    """Records as the level runners write them: L0-L2 from a ladder run, and an L4 run that
    passed or (``corrupt``) found one wrong accumulator."""
    ladder = [
        VerificationRecord(level, engine, 360, 0, None, accuracy=0.93, command="hwbnn eval B")
        for level, engine in ((Level.L0, "torch"), (Level.L1, "execute_onnx"), (Level.L2, "numpy"))
    ]
    first = "layer fc1 accumulators, frame 3, channel 2: expected 5, got 6" if corrupt else None
    rtl = VerificationRecord(
        Level.L4,
        "icarus",
        4,
        int(corrupt),
        first,
        cycles_per_frame=4096.0,
        latency_cycles=12345,
        seconds=2.5,
        details={"framing_errors": [], "protocol_errors": []},
    )
    return [*ladder, rtl]


def test_report_of_a_bare_build(build: Path) -> None:
    info = write_build_report(build, sweep_points=4)
    html = Path(info["index"]).read_text()
    assert html.count(">not run<") == len(Level)  # L0-L5 and the driver
    assert "No bitstream built" in html
    for name in ("layer_cycles.png", "sweep.png"):
        data = (build / "report" / name).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5_000
    assert "fc0" in html and "input_threshold" in html


@pytest.mark.parametrize("corrupt", [False, True])
def test_report_with_results(build: Path, corrupt: bool) -> None:
    for record in records(corrupt):
        record_result(build, record)
    # a stale file of the old layout is not read
    (build / "ladder.json").write_text(json.dumps({"frames": 1, "ok": False}))
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
                "frame_rate": {
                    "core": 25e6 / 16384,
                    "link": 115200 / 640,
                    "baud": 115200.0,
                    "clock_mhz": 25.0,
                    "initiation_interval": 16384,
                    "frame_in_bytes": 64,
                    "frame_out_bytes": 20,
                    "user": 115200 / 640,
                    "bottleneck": "UART",
                },
            }
        )
    )
    info = write_build_report(build, sweep_points=4)
    html = Path(info["index"]).read_text()
    row = html[html.index("L2 reference (numpy)") :].split("</tr>")[0]
    assert ">pass<" in row and "360 frames, 0 mismatching, accuracy 0.9300" in row
    assert "`hwbnn eval B`" in row
    assert "1206 / 83640" in html and "143.47" in html and "hwbnn_board_top.bit" in html
    rates = html[html.index("<th>a user gets</th>") :].split("</table>")[0]
    assert "1,526 frames/s at 25.0 MHz" in rates and "180 frames/s at 115,200 baud" in rates
    assert "64 in, 20 out" in rates and "<td>UART</td>" in rates
    row = html[html.index("L4 RTL simulation (icarus)") :].split("</tr>")[0]
    assert "4,096.0 cycles/frame, latency 12,345 cycles" in row
    if corrupt:
        assert ">FAIL<" in row and "1 mismatching" in row
        assert "first: layer fc1 accumulators, frame 3, channel 2: expected 5, got 6" in row
    else:
        assert ">pass<" in row and "0 mismatching" in row and "first:" not in row
    for title in ("L3 C-simulation", "L5 netlist simulation", "host driver round trip"):
        assert f'<tr><td>{title}</td>\n<td class="muted">not run</td>' in html
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
