"""hwbnn_concat against the reference (run_node): per pixel the channels of s0, then of s1.

pytest draws random elements for both inputs (frames of PIXELS pixels of C0 and C1 channels);
the cocotb test streams them on s0/s1 with independent random gaps and random output
backpressure and compares every output element and tlast (the frame's last beat only)
exactly; without gaps or backpressure the output moves one beat per cycle.
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


def concat_model(a: np.ndarray, b: np.ndarray, pixels: int, bits: int) -> np.ndarray:
    """The golden model (hwbnn.reference.run_node on an IR Concat): a (F, P*C0), b (F, P*C1)
    -> (F, P*(C0+C1)), per pixel the channels of a, then those of b."""
    from hwbnn.ir.edges import EdgeType, ValueKind
    from hwbnn.ir.types import Concat
    from hwbnn.reference import run_node

    edges = [
        EdgeType(x.shape[1], (pixels, 1, x.shape[1] // pixels), ValueKind.INT, 0, (1 << bits) - 1)
        for x in (a, b)
    ]
    return run_node(Concat("dut", inputs=("a", "b")), [a, b], edges)


@cocotb.test()
async def concat_stream(dut):
    """Stream every frame on both inputs; every output element and tlast must match."""
    args = get_tb_args()
    data = np.load(args["data"])
    a, b, expected = data["a"], data["b"], data["expected"]
    simd, bits = param(dut, "SIMD"), param(dut, "ELEM_BITS")
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
    probes = [
        AxisProbe(source0.bus, dut.clk, junk_seed=seeds[3]),
        AxisProbe(source1.bus, dut.clk, junk_seed=seeds[4]),
    ]
    probe = AxisProbe(sink.bus, dut.clk)
    for fa, fb in zip(a, b, strict=True):
        send_words(source0, pack_beats(fa, bits, simd))
        send_words(source1, pack_beats(fb, bits, simd))
    await probe.wait_frames(len(a), timeout_cycles=40 * expected.size)
    await probe.settle(20)
    beats = received(sink, probe)
    for p in (*probes, probe):
        assert not p.protocol_errors, p.protocol_errors[:3]
    beats_per_frame = expected.shape[1] // simd
    assert len(beats) == expected.size // simd, "beat count"
    assert [x.last for x in beats] == ([False] * (beats_per_frame - 1) + [True]) * len(a)
    got = unpack_beats([x.data for x in beats], bits, simd).reshape(expected.shape)
    if not np.array_equal(got, expected):
        frame, element = np.argwhere(got != expected)[0]
        raise AssertionError(f"frame {frame} element {element} differs")
    if gap == 0 and args["backpressure_prob"] == 0:
        cycles = [x.cycle for x in beats]
        assert cycles == list(range(cycles[0], cycles[0] + len(cycles))), "not 1 beat/cycle"


@dataclass(frozen=True)
class Case:
    simd: int
    elem_bits: int
    c0: int
    c1: int
    pixels: int
    frames: int = 6
    gap_prob: float = 0.3
    backpressure_prob: float = 0.4

    @property
    def id(self) -> str:
        return f"simd{self.simd}-b{self.elem_bits}-c{self.c0}+{self.c1}-px{self.pixels}" + (
            "-nostall" if self.gap_prob == self.backpressure_prob == 0 else ""
        )


CASES = [
    Case(4, 1, 8, 4, 6),  # binary feature maps
    Case(1, 5, 2, 3, 4, gap_prob=0.5, backpressure_prob=0.2),  # one element per beat
    Case(3, 4, 3, 9, 1),  # not an image; C0/SIMD = 1
    Case(2, 7, 6, 6, 3, gap_prob=0.0, backpressure_prob=0.0),
]


def run_case(case: Case, tmp_path: Path, simulator: str = "icarus") -> None:
    seed = zlib.crc32(case.id.encode())
    rng = np.random.default_rng(seed)
    top = 1 << case.elem_bits
    a = rng.integers(0, top, (case.frames, case.pixels * case.c0))
    b = rng.integers(0, top, (case.frames, case.pixels * case.c1))
    np.savez(
        tmp_path / "data.npz", a=a, b=b, expected=concat_model(a, b, case.pixels, case.elem_bits)
    )
    run_cocotb(
        sources=rtl_files("hwbnn_concat"),
        toplevel="hwbnn_concat",
        test_module=Path(__file__),
        build_dir=tmp_path / "sim",
        parameters={
            "SIMD": case.simd,
            "ELEM_BITS": case.elem_bits,
            "C0": case.c0,
            "C1": case.c1,
            "PIXELS": case.pixels,
        },
        simulator=simulator,
        tb_args=asdict(case) | {"data": str(tmp_path / "data.npz"), "seed": seed},
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hwbnn_concat(tmp_path: Path, case: Case) -> None:
    run_case(case, tmp_path)
