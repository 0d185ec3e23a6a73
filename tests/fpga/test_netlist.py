"""Post-synthesis netlist simulation (L5): the digits MLP's hwbnn_top synthesized for iCE40
and simulated with yosys' cell models on 100 test images, exactly as hwbnn.reference; and the
decoding and judging of its output, on made-up output beats."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hwbnn.fpga.link import LinkFormat
from hwbnn.fpga.netlist import NETLIST, NetlistRun
from hwbnn.sim.packing import pack_beats
from hwbnn.sim.top import decode_frames
from hwbnn.verify.netlist import judge_netlist_run
from hwbnn.verify.record import Level

LINK = LinkFormat(16, 5, 4, 10, 2, 9)


def beats_for(acc: np.ndarray) -> list[list[int]]:
    words = pack_beats(acc.reshape(-1, LINK.out_pe) & 0x1FF, LINK.acc_width, LINK.out_pe)
    lasts = ([0] * (LINK.out_beats - 1) + [1]) * len(acc)
    return [[w, last] for w, last in zip(words, lasts, strict=True)]


def record_of(beats: list[list[int]], expected: np.ndarray):
    got, framing = decode_frames(
        beats, len(expected), LINK.out_beats, LINK.acc_width, LINK.out_pe, LINK.classes
    )
    run = NetlistRun(
        "netlist-ice40/icarus", "fc2", got, len(expected), framing, [], {}, 0.0, 0.0,
        Path("n.v"), None,
    )  # fmt: skip
    return judge_netlist_run(run, expected)


def test_judge_exact_and_framing() -> None:
    expected = np.random.default_rng(0).integers(-200, 200, (3, 10))
    good = record_of(beats_for(expected), expected)
    assert good.ok and good.mismatches == 0 and good.level is Level.L5
    wrong = expected.copy()
    wrong[2, 7] += 1
    bad = record_of(beats_for(wrong), expected)
    assert not bad.ok and bad.mismatches == 1
    assert bad.first_mismatch == (
        f"layer fc2 accumulators, frame 2, channel 7: expected {expected[2, 7]}, got {wrong[2, 7]}"
    )
    beats = beats_for(expected)
    beats[3][1] = 1  # tlast in the middle of frame 0
    framed = record_of(beats, expected)
    assert not framed.ok and framed.mismatches == 0
    assert framed.details["framing_errors"][0].startswith("tlast set on output beat 3")
    short = record_of(beats_for(expected)[:-1], expected)
    assert not short.ok and short.mismatches == 1
    assert (
        short.first_mismatch == "layer fc2 accumulators, frame 2: missing (2 of 3 frames received)"
    )


@pytest.mark.slow
def test_netlist_simulation_digits(digits_binary, tmp_path: Path) -> None:
    from hwbnn.data import load_dataset
    from hwbnn.ir.serialize import load_network
    from hwbnn.pipeline.compile import compile_onnx
    from hwbnn.pipeline.config import CompileOptions
    from hwbnn.reference import to_codes
    from hwbnn.verify.netlist import verify_netlist
    from hwbnn.verify.record import read_results

    build = tmp_path / "build"
    compile_onnx(digits_binary.onnx, build, CompileOptions(target="rtl", target_cycles=1024))
    net = load_network(build)
    codes = to_codes(net.input, load_dataset("digits", None).x_test[:100])
    record = verify_netlist(build, codes, seed=3, gap_prob=0.1, backpressure_prob=0.2)
    assert record.ok and record.frames == 100, record.problem
    cells = record.details["cells"]
    assert cells.get("SB_LUT4", 0) > 100 and cells.get("SB_RAM40_4K", 0) >= 1
    netlist = (build / "netlist" / "ice40" / NETLIST).read_text()
    assert "SB_LUT4" in netlist and "module hwbnn_top" in netlist
    assert read_results(build) == [record]
    assert Path(record.details["log"]).is_file()
