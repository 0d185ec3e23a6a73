"""hwbnn_add_join against the reference (run_node): out_s = a_s + b_s, a bit counting -1/+1.

pytest draws two's complement operands over their whole ranges (both ends included) or
bipolar bits; the cocotb test streams them on s0/s1 with independent random gaps and random
output backpressure, and compares every output element and tlast exactly. It also checks that
the two inputs are consumed in the same cycles, and one beat per cycle with one cycle of
latency when nothing stalls.
"""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import cocotb
import numpy as np
import pytest

from hwbnn.resources import rtl_files
from hwbnn.sim.axis import AxisProbe, axis_sink, axis_source, park, received, send_words
from hwbnn.sim.packing import pack_beats, unpack_beats
from hwbnn.sim.runner import get_tb_args, run_cocotb
from hwbnn.sim.tb import param, start_clock_and_reset


def add_join_model(
    a: np.ndarray, a_bits: int, a_bipolar: bool, b: np.ndarray, b_bits: int, b_bipolar: bool
) -> np.ndarray:
    """The golden model (hwbnn.reference.run_node on an IR AddJoin): element sums, a bipolar
    bit 1/0 counting +1/-1, an integer input of ``bits`` bits as itself."""
    from hwbnn.ir.edges import EdgeType, ValueKind, bits_edge
    from hwbnn.ir.types import AddJoin
    from hwbnn.reference import run_node

    def edge(bits: int, bipolar: bool) -> EdgeType:
        if bipolar:
            return bits_edge(a.shape[1], None)
        return EdgeType(a.shape[1], None, ValueKind.INT, -(1 << (bits - 1)), (1 << (bits - 1)) - 1)

    node = AddJoin("dut", inputs=("a", "b"))
    return run_node(node, [a, b], [edge(a_bits, a_bipolar), edge(b_bits, b_bipolar)])


@cocotb.test()
async def add_join_stream(dut):
    """Stream every frame on both inputs; every output element and tlast must match."""
    args = get_tb_args()
    data = np.load(args["data"])
    a, b, expected = data["a"], data["b"], data["expected"]
    simd = param(dut, "SIMD")
    a_bits, b_bits, out_bits = param(dut, "A_BITS"), param(dut, "B_BITS"), param(dut, "OUT_BITS")
    assert param(dut, "MIN_OUT_BITS") <= out_bits
    park(dut, "s0_axis", "m_axis")
    park(dut, "s1_axis", "m_axis")
    await start_clock_and_reset(dut)
    seeds = [int(s) for s in np.random.default_rng(args["seed"]).integers(0, 2**31, 5)]
    gap = args["gap_prob"]
    source0 = axis_source(dut, dut.clk, "s0_axis", gap_prob=gap, seed=seeds[0])
    source1 = axis_source(dut, dut.clk, "s1_axis", gap_prob=gap, seed=seeds[1])
    sink = axis_sink(
        dut, dut.clk, "m_axis", backpressure_prob=args["backpressure_prob"], seed=seeds[2]
    )
    probe0 = AxisProbe(source0.bus, dut.clk, junk_seed=seeds[3])
    probe1 = AxisProbe(source1.bus, dut.clk, junk_seed=seeds[4])
    probe = AxisProbe(sink.bus, dut.clk)
    for fa, fb in zip(a, b, strict=True):
        send_words(source0, pack_beats(fa & ((1 << a_bits) - 1), a_bits, simd))
        send_words(source1, pack_beats(fb & ((1 << b_bits) - 1), b_bits, simd))
    await probe.wait_frames(len(a), timeout_cycles=40 * a.size)
    await probe.settle(20)
    beats = received(sink, probe)
    for p in (probe0, probe1, probe):
        assert not p.protocol_errors, p.protocol_errors[:3]
    assert probe0.accepted == probe1.accepted, "s0 and s1 beats not consumed together"
    beats_per_frame = a.shape[1] // simd
    assert len(beats) == a.size // simd, "beat count"
    assert [x.last for x in beats] == ([False] * (beats_per_frame - 1) + [True]) * len(a)
    got = unpack_beats([x.data for x in beats], out_bits, simd, signed=True)
    got = got.reshape(expected.shape)
    if not np.array_equal(got, expected):
        frame, element = np.argwhere(got != expected)[0]
        raise AssertionError(
            f"frame {frame} element {element}: {got[frame, element]} != {expected[frame, element]}"
        )
    if gap == 0 and args["backpressure_prob"] == 0:
        cycles = [x.cycle for x in beats]
        assert cycles == [c + 1 for c in probe0.accepted], "not 1 beat/cycle, latency 1"
        assert cycles == list(range(cycles[0], cycles[0] + len(cycles))), "not 1 beat/cycle"


@dataclass(frozen=True)
class Case:
    simd: int
    a_bits: int
    a_bipolar: int
    b_bits: int
    b_bipolar: int
    out_bits: int
    elements: int = 24
    frames: int = 8
    gap_prob: float = 0.3
    backpressure_prob: float = 0.4

    @property
    def id(self) -> str:
        a = "bip" if self.a_bipolar else f"i{self.a_bits}"
        b = "bip" if self.b_bipolar else f"i{self.b_bits}"
        return f"simd{self.simd}-{a}-{b}-out{self.out_bits}-e{self.elements}" + (
            "-nostall" if self.gap_prob == self.backpressure_prob == 0 else ""
        )


def operands(rng: np.random.Generator, case: Case, bits: int, bipolar: int) -> np.ndarray:
    shape = (case.frames, case.elements)
    if bipolar:
        return rng.integers(0, 2, shape)
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    x = rng.integers(lo, hi + 1, shape)
    x[0], x[1] = lo, hi  # both ends, so the sums reach both ends of the output range
    return x


CASES = [
    # Bi-Real residual: accumulators plus a binary shortcut.
    Case(4, 6, 0, 1, 1, 7),
    # Two integer branches of different widths, one lane per beat.
    Case(1, 3, 0, 5, 0, 6, elements=10),
    # Two binary branches, all elements in one beat.
    Case(8, 1, 1, 1, 1, 3, elements=16),
    # Binary plus integer, output wider than needed.
    Case(3, 1, 1, 4, 0, 8, elements=18, gap_prob=0.5, backpressure_prob=0.2),
    Case(6, 7, 0, 7, 0, 8, elements=12, frames=10, gap_prob=0.0, backpressure_prob=0.0),
]


def run_case(case: Case, tmp_path: Path, simulator: str = "icarus") -> None:
    seed = zlib.crc32(case.id.encode())
    rng = np.random.default_rng(seed)
    a = operands(rng, case, case.a_bits, case.a_bipolar)
    b = operands(rng, case, case.b_bits, case.b_bipolar)
    expected = add_join_model(
        a, case.a_bits, bool(case.a_bipolar), b, case.b_bits, bool(case.b_bipolar)
    )
    np.savez(tmp_path / "data.npz", a=a, b=b, expected=expected)
    run_cocotb(
        sources=rtl_files("hwbnn_add_join"),
        toplevel="hwbnn_add_join",
        test_module=Path(__file__),
        build_dir=tmp_path / "sim",
        parameters={
            "SIMD": case.simd,
            "A_BITS": case.a_bits,
            "A_BIPOLAR": case.a_bipolar,
            "B_BITS": case.b_bits,
            "B_BIPOLAR": case.b_bipolar,
            "OUT_BITS": case.out_bits,
        },
        simulator=simulator,
        tb_args=asdict(case) | {"data": str(tmp_path / "data.npz"), "seed": seed},
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hwbnn_add_join(tmp_path: Path, case: Case) -> None:
    run_case(case, tmp_path)
