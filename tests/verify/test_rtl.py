"""L4 through hwbnn.verify.rtl: a generated top on Icarus writes one exact record to
verification.json, quietly (the simulator's output in BUILD/sim/icarus/*.log, a progress bar on
stderr only when asked); a corrupted weight memory gives mismatches naming layer, channel and
frame, and does not raise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hwbnn.codegen import write_build
from hwbnn.ir.folding import Folding, LayerFolding
from hwbnn.ir.types import Network
from hwbnn.reference import Reference
from hwbnn.sim.random_nets import random_mlp
from hwbnn.sim.top import SimConfig
from hwbnn.verify.record import Level, read_results
from hwbnn.verify.rtl import verify_rtl


def _fixed_build(tmp_path: Path) -> tuple[Network, Path]:
    """input_threshold 8 -> fc0 8x6 -> fc1 6x4, folded so that width converters are needed."""
    net = random_mlp(np.random.default_rng(3), 8, [6], 4, 16, True)
    folding = Folding((LayerFolding(1, 2), LayerFolding(3, 4), LayerFolding(2, 3)))
    build = tmp_path / "build"
    write_build(net, folding, build)
    return net, build


def _codes(net: Network, frames: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, net.input.levels, (frames, net.input.elements))


def test_exact_record_quiet_output_and_progress(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    net, build = _fixed_build(tmp_path)
    record = verify_rtl(build, _codes(net, 8), SimConfig(ii_frames=4), command="t", progress=True)
    out, err = capfd.readouterr()
    assert out == ""  # nothing from iverilog, vvp or cocotb on the terminal
    assert "12/12" in err  # the bar over both phases' frames, completed
    assert record.ok and (record.level, record.engine) == (Level.L4, "icarus")
    assert record.frames == 8 and record.mismatches == 0 and record.first_mismatch is None
    assert record.cycles_per_frame == 4.0 and record.details["initiation_interval"] == 4
    assert record.latency_cycles is not None and record.latency_cycles > 0
    assert read_results(build) == [record]
    sim_dir = build / "sim" / "icarus"
    assert Path(record.details["log"]) == sim_dir / "sim.log"
    assert "top_stream passed" in (sim_dir / "sim.log").read_text()  # cocotb's log
    assert (sim_dir / "build.log").is_file()
    # verbose: the simulator talks on the terminal, no log file is written
    (sim_dir / "sim.log").unlink()
    verify_rtl(build, _codes(net, 2), SimConfig(ii_frames=0, waves=True), verbose=True)
    out, err = capfd.readouterr()
    assert "top_stream passed" in out + err and not (sim_dir / "sim.log").exists()
    (waves,) = [r.details["waves"] for r in read_results(build)]
    assert waves is not None and Path(waves).is_file()


def test_corrupted_weight_memory_is_a_mismatch(tmp_path: Path) -> None:
    net, build = _fixed_build(tmp_path)
    codes = _codes(net, 8)
    expected = Reference(net).run_codes(codes).accumulators
    # flip the weight of class 0, column 0 of the output layer: every accumulator of class 0
    # moves by 2 (binary input), so frame 0, channel 0 is the first difference
    hexfile = build / "rtl" / "l2_fc1_weights.hex"
    lines = hexfile.read_text().splitlines()
    first = next(i for i, line in enumerate(lines) if not line.startswith("//"))
    lines[first] = f"{int(lines[first], 16) ^ 1:0{len(lines[first])}x}"
    hexfile.write_text("\n".join(lines) + "\n")
    record = verify_rtl(build, codes, SimConfig(ii_frames=0))
    assert not record.ok and record.frames == 8 and record.mismatches == 8
    prefix = "layer fc1 accumulators (stress phase), frame 0, channel 0: "
    prefix += f"expected {expected[0, 0]}, got "
    assert record.first_mismatch is not None and record.first_mismatch.startswith(prefix)
    assert abs(int(record.first_mismatch[len(prefix) :]) - expected[0, 0]) == 2
    assert read_results(build) == [record]
