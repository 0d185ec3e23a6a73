"""hwbnn_fork: every input beat reaches every output exactly once, in order, with its tlast.

The fork's outputs are slices of vector ports (m_axis_tvalid[i], ...); pytest writes a thin
wrapper (``fork_tb``) that names output i ``m<i>_axis_*`` so that each output gets its own
cocotbext-axi sink with its own random backpressure and its own AxisProbe (which checks that
an offered beat stays unchanged until taken). The input gets random gaps. Every output's
beats and tlasts must equal the input's exactly; without gaps or backpressure the fork moves
one beat per cycle with one cycle of latency. A second test holds one consumer's tready at 0:
the fork must stall its input after one beat and lose nothing once the consumer resumes.
"""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import cocotb
import numpy as np
import pytest
from cocotb.triggers import ClockCycles
from cocotbext.axi import AxiStreamBus

from hwbnn.resources import rtl_files
from hwbnn.sim.axis import AxisProbe, axis_sink, axis_source, park, received, send_words
from hwbnn.sim.runner import get_tb_args, run_cocotb, simulator_available
from hwbnn.sim.tb import param, start_clock_and_reset


def wrapper_source(outputs: int) -> str:
    """Verilog of ``fork_tb``: hwbnn_fork with output i on ports ``m<i>_axis_*``."""
    ports = []
    links = []
    for i in range(outputs):
        ports += [
            f"    output wire [WIDTH-1:0] m{i}_axis_tdata,",
            f"    output wire m{i}_axis_tvalid,",
            f"    input  wire m{i}_axis_tready,",
            f"    output wire m{i}_axis_tlast,",
        ]
        links += [
            f"    assign m{i}_axis_tdata = tdata[{i}*WIDTH +: WIDTH];",
            f"    assign m{i}_axis_tvalid = tvalid[{i}];",
            f"    assign tready[{i}] = m{i}_axis_tready;",
            f"    assign m{i}_axis_tlast = tlast[{i}];",
        ]
    return "\n".join(
        [
            "`default_nettype none",
            f"module fork_tb #(parameter WIDTH = 8, parameter OUTPUTS = {outputs}) (",
            "    input  wire clk,",
            "    input  wire rst,",
            "    input  wire [WIDTH-1:0] s_axis_tdata,",
            "    input  wire s_axis_tvalid,",
            "    output wire s_axis_tready,",
            "    input  wire s_axis_tlast,",
            *ports[:-1],
            ports[-1].rstrip(","),
            ");",
            "    wire [OUTPUTS*WIDTH-1:0] tdata;",
            "    wire [OUTPUTS-1:0] tvalid, tready, tlast;",
            *links,
            "    hwbnn_fork #(.WIDTH(WIDTH), .OUTPUTS(OUTPUTS)) dut (",
            "        .clk(clk), .rst(rst),",
            "        .s_axis_tdata(s_axis_tdata), .s_axis_tvalid(s_axis_tvalid),",
            "        .s_axis_tready(s_axis_tready), .s_axis_tlast(s_axis_tlast),",
            "        .m_axis_tdata(tdata), .m_axis_tvalid(tvalid),",
            "        .m_axis_tready(tready), .m_axis_tlast(tlast));",
            "endmodule",
            "`default_nettype wire",
            "",
        ]
    )


async def reset(dut, outputs: int) -> None:
    for i in range(outputs):
        park(dut, "s_axis", f"m{i}_axis")
    await start_clock_and_reset(dut)


def input_frames(args: dict) -> list[list[int]]:
    """Frames of random beat words, of random lengths (1..max_beats)."""
    rng = np.random.default_rng(args["seed"])
    width = args["width"]
    frames = []
    for _ in range(args["frames"]):
        beats = int(rng.integers(1, args["max_beats"] + 1))
        frames.append([int(w) for w in rng.integers(0, 2**width, beats, dtype=np.uint64)])
    frames[0][0] = 2**width - 1  # all ones, then all zeros
    frames[-1][-1] = 0
    return frames


def fork_model(frames: list[list[int]]) -> list[list[int]]:
    """The golden model (hwbnn.reference.run_node on an IR Fork, the identity) of one output:
    the beat words of every frame, each word taken as one element."""
    from hwbnn.ir.types import Fork
    from hwbnn.reference import run_node

    node = Fork("dut", inputs=("x",))
    return [[int(w) for w in run_node(node, [np.array([f], dtype=np.int64)])[0]] for f in frames]


def check_output(probe: AxisProbe, sink, frames: list[list[int]], output: int) -> None:
    beats = received(sink, probe)
    assert not probe.protocol_errors, (output, probe.protocol_errors[:3])
    want = [(w, k == len(f) - 1) for f in fork_model(frames) for k, w in enumerate(f)]
    got = [(b.data, b.last) for b in beats]
    assert len(got) == len(want), f"output {output}: {len(got)} beats, want {len(want)}"
    bad = [k for k, (g, w) in enumerate(zip(got, want, strict=True)) if g != w]
    assert not bad, f"output {output}: beat {bad[0]} is {got[bad[0]]}, want {want[bad[0]]}"


@cocotb.test()
async def fork_stream(dut):
    """Random gaps on the input, independent random backpressure on every output."""
    args = get_tb_args()
    outputs = param(dut, "OUTPUTS")
    frames = input_frames(args)
    await reset(dut, outputs)
    seeds = np.random.default_rng(args["seed"] + 1).integers(0, 2**31, 2 * outputs + 2)
    source = axis_source(dut, dut.clk, gap_prob=args["gap_prob"], seed=int(seeds[0]))
    in_probe = AxisProbe(source.bus, dut.clk, junk_seed=int(seeds[1]))
    sinks = [
        axis_sink(
            dut,
            dut.clk,
            f"m{i}_axis",
            backpressure_prob=args["backpressure_prob"],
            seed=int(seeds[2 + i]),
        )
        for i in range(outputs)
    ]
    probes = [AxisProbe(s.bus, dut.clk) for s in sinks]
    for frame in frames:
        send_words(source, frame)
    beats = sum(len(f) for f in frames)
    for probe in probes:
        await probe.wait_beats(beats, timeout_cycles=40 * beats)
    await ClockCycles(dut.clk, 20)
    assert not in_probe.protocol_errors, in_probe.protocol_errors[:3]
    assert len(in_probe.beats) == beats
    for i, (probe, sink) in enumerate(zip(probes, sinks, strict=True)):
        check_output(probe, sink, frames, i)
    # A beat leaves the input only after every output has taken the one before it.
    for k in range(1, beats):
        taken = max(p.beats[k - 1].cycle for p in probes)
        assert in_probe.beats[k].cycle >= taken, f"input beat {k} entered too early"
    if args["gap_prob"] == 0 and args["backpressure_prob"] == 0:
        cycles = in_probe.accepted
        assert cycles == list(range(cycles[0], cycles[0] + beats)), "input not 1 beat/cycle"
        for probe in probes:
            assert probe.accepted == [c + 1 for c in cycles], "not 1 beat/cycle, latency 1"


@cocotb.test()
async def fork_stalled_consumer(dut):
    """Output 1 never ready: the input stalls after one beat; when output 1 starts taking
    beats (under random backpressure) every output still gets every beat exactly once."""
    args = get_tb_args()
    outputs = param(dut, "OUTPUTS")
    frames = input_frames(args)
    await reset(dut, outputs)
    source = axis_source(dut, dut.clk)
    in_probe = AxisProbe(source.bus, dut.clk, junk_seed=3)
    sinks = {i: axis_sink(dut, dut.clk, f"m{i}_axis") for i in range(outputs) if i != 1}
    probes = [
        AxisProbe(AxiStreamBus.from_prefix(dut, f"m{i}_axis"), dut.clk) for i in range(outputs)
    ]
    for frame in frames:
        send_words(source, frame)
    await ClockCycles(dut.clk, 50)
    assert len(in_probe.beats) == 1, f"{len(in_probe.beats)} input beats entered, want 1"
    assert dut.s_axis_tready.value == 0 and dut.s_axis_tvalid.value == 1
    assert dut.m1_axis_tvalid.value == 1, "output 1 lost its beat"
    for i, probe in enumerate(probes):
        assert len(probe.beats) == (0 if i == 1 else 1), f"output {i}: {len(probe.beats)}"
    sinks[1] = axis_sink(dut, dut.clk, "m1_axis", backpressure_prob=0.5, seed=args["seed"])
    beats = sum(len(f) for f in frames)
    for probe in probes:
        await probe.wait_beats(beats, timeout_cycles=40 * beats)
    await ClockCycles(dut.clk, 20)
    for i, probe in enumerate(probes):
        check_output(probe, sinks[i], frames, i)


@dataclass(frozen=True)
class Case:
    width: int
    outputs: int
    frames: int = 8
    max_beats: int = 12
    gap_prob: float = 0.3
    backpressure_prob: float = 0.5

    @property
    def id(self) -> str:
        return f"w{self.width}-k{self.outputs}" + (
            "-nostall" if self.gap_prob == self.backpressure_prob == 0 else ""
        )


CASES = [
    Case(8, 2),
    Case(1, 3, gap_prob=0.1, backpressure_prob=0.6),
    Case(37, 4, gap_prob=0.5, backpressure_prob=0.3),
    Case(16, 2, frames=4, gap_prob=0.0, backpressure_prob=0.0),
]


def run_case(case: Case, tmp_path: Path, simulator: str = "icarus") -> None:
    wrapper = tmp_path / "fork_tb.v"
    wrapper.write_text(wrapper_source(case.outputs))
    run_cocotb(
        sources=[*rtl_files("hwbnn_fork"), wrapper],
        toplevel="fork_tb",
        test_module=Path(__file__),
        build_dir=tmp_path / "sim",
        parameters={"WIDTH": case.width, "OUTPUTS": case.outputs},
        simulator=simulator,
        tb_args=asdict(case) | {"seed": zlib.crc32(case.id.encode())},
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hwbnn_fork(tmp_path: Path, case: Case) -> None:
    run_case(case, tmp_path)


@pytest.mark.verilator
@pytest.mark.skipif(not simulator_available("verilator"), reason="verilator not found")
def test_hwbnn_fork_verilator(tmp_path: Path) -> None:
    run_case(Case(8, 3, frames=6), tmp_path, simulator="verilator")
