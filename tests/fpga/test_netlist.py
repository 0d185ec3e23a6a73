"""Post-synthesis netlist simulation (L5): the digits MLP's hwbnn_top synthesized for iCE40
and simulated with yosys' cell models on 100 test images, exactly as hwbnn.reference; and the
judge that decides it, on made-up output beats."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hwbnn.fpga.link import LinkFormat
from hwbnn.fpga.netlist import NETLIST, judge
from hwbnn.sim.packing import pack_beats

LINK = LinkFormat(16, 5, 4, 10, 2, 9)


def beats_for(acc: np.ndarray) -> list[list[int]]:
    words = pack_beats(acc.reshape(-1, LINK.out_pe) & 0x1FF, LINK.acc_width, LINK.out_pe)
    lasts = ([0] * (LINK.out_beats - 1) + [1]) * len(acc)
    return [[w, last] for w, last in zip(words, lasts, strict=True)]


def test_judge_exact_and_framing() -> None:
    expected = np.random.default_rng(0).integers(-200, 200, (3, 10))
    good = judge({"beats": beats_for(expected)}, expected, LINK, {}, 0, 0, "")
    assert good.ok and good.mismatched_frames == 0
    wrong = expected.copy()
    wrong[2, 7] += 1
    bad = judge({"beats": beats_for(wrong)}, expected, LINK, {}, 0, 0, "")
    assert not bad.ok and bad.first_mismatch == {
        "frame": 2,
        "class": 7,
        "got": int(wrong[2, 7]),
        "expected": int(expected[2, 7]),
    }
    beats = beats_for(expected)
    beats[3][1] = 1  # tlast in the middle of frame 0
    assert judge({"beats": beats}, expected, LINK, {}, 0, 0, "").framing_errors == 1
    short = judge({"beats": beats_for(expected)[:-1]}, expected, LINK, {}, 0, 0, "")
    assert not short.ok and short.mismatched_frames == 1


@pytest.mark.slow
def test_netlist_simulation_digits(digits_binary, tmp_path: Path) -> None:
    from hwbnn.data import load_dataset
    from hwbnn.fpga.netlist import verify_netlist
    from hwbnn.ir.serialize import load_network
    from hwbnn.pipeline.steps import CompileConfig, compile_onnx
    from hwbnn.reference import to_codes

    build = tmp_path / "build"
    compile_onnx(digits_binary.onnx, build, CompileConfig(target="rtl", target_cycles=1024))
    net = load_network(build)
    codes = to_codes(net.input, load_dataset("digits", None).x_test[:100])
    report = verify_netlist(build, codes, seed=3, gap_prob=0.1, backpressure_prob=0.2)
    assert report.ok and report.frames == 100
    assert report.cells.get("SB_LUT4", 0) > 100 and report.cells.get("SB_RAM40_4K", 0) >= 1
    netlist = (build / "netlist" / "ice40" / NETLIST).read_text()
    assert "SB_LUT4" in netlist and "module hwbnn_top" in netlist
    saved = json.loads((build / "netlist" / "ice40" / "netlist_report.json").read_text())
    assert saved["ok"] and saved["frames"] == 100
