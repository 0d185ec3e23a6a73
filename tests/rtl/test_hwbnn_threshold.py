"""hwbnn_threshold against the graph contract: out = base + #{j : x >= T[c][side][j]}.

pytest draws nondecreasing thresholds (C, S, N) over the whole input range and one past it
(some channels always reach every step, some never reach any), two's complement inputs
(including values equal to thresholds and both ends of the range) and, with SIDE = 1, side
bits; the expected outputs come from hwbnn.reference.run_node on an IR Threshold. It writes
the threshold file with hwbnn.codegen.memfiles.write_threshold_memfile and the
data to an .npz file. The cocotb tests stream the frames through the DUT under random input
gaps (independent on data and side) and output backpressure, and compare every output beat
and tlast exactly; a second test cuts a frame short with tlast and checks that the next frame
starts again at channel 0.
"""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import cocotb
import numpy as np
import pytest

from hwbnn.codegen.memfiles import threshold_width, write_threshold_memfile
from hwbnn.resources import rtl_files
from hwbnn.sim.axis import AxisProbe, axis_sink, axis_source, park, received, send_words, wait_sent
from hwbnn.sim.packing import pack_beats, unpack_beats
from hwbnn.sim.runner import get_tb_args, run_cocotb, simulator_available
from hwbnn.sim.tb import param, start_clock_and_reset


def threshold_model(
    x: np.ndarray, side: np.ndarray | None, t: np.ndarray, out_base: int
) -> np.ndarray:
    """The golden model (hwbnn.reference.run_node on an IR Threshold): x (F, E) ints, side
    (F, E) bits or None, t (C, S, N) -> (F, E) outputs, element e of channel e % C."""
    from hwbnn.ir.types import Threshold
    from hwbnn.reference import run_node

    inputs = ("x",) if side is None else ("x", "side")
    node = Threshold("dut", t, inputs=inputs, out_base=out_base)
    return run_node(node, [x] if side is None else [x, side])


def as_codes(values: np.ndarray, bits: int) -> np.ndarray:
    """Two's complement integers as unsigned ``bits``-bit codes (for pack_beats)."""
    return np.asarray(values, dtype=np.int64) & ((1 << bits) - 1)


def unpack_output(dut, beats: list[int]) -> np.ndarray:
    simd, out_bits = param(dut, "SIMD"), param(dut, "OUT_BITS")
    binary = out_bits == 1 and param(dut, "OUT_BASE") == 0 and param(dut, "STEPS") == 1
    return unpack_beats(beats, out_bits, simd, signed=not binary).reshape(-1)


def side_streams(dut, args: dict, seed: int):
    """Data source, side source (or None), output sink, and their probes."""
    rng = np.random.default_rng(seed)
    seeds = [int(s) for s in rng.integers(0, 2**31, 6)]
    source = axis_source(dut, dut.clk, "s_axis", gap_prob=args["gap_prob"], seed=seeds[0])
    side = None
    if param(dut, "SIDE"):
        side = axis_source(dut, dut.clk, "s1_axis", gap_prob=args["gap_prob"], seed=seeds[1])
    sink = axis_sink(
        dut, dut.clk, "m_axis", backpressure_prob=args["backpressure_prob"], seed=seeds[2]
    )
    in_probe = AxisProbe(source.bus, dut.clk, junk_seed=seeds[3])
    side_probe = None if side is None else AxisProbe(side.bus, dut.clk, junk_seed=seeds[4])
    return source, side, sink, in_probe, side_probe, AxisProbe(sink.bus, dut.clk)


async def reset(dut) -> None:
    park(dut, "s1_axis", "m_axis")
    await start_clock_and_reset(dut)


@cocotb.test()
async def threshold_stream(dut):
    """Stream every frame; every output element, the beat count and tlast must match."""
    args = get_tb_args()
    data = np.load(args["data"])
    x, expected = data["inputs"], data["expected"]
    simd, in_bits = param(dut, "SIMD"), param(dut, "IN_BITS")
    await reset(dut)
    source, side, sink, in_probe, side_probe, probe = side_streams(dut, args, args["seed"])
    for k, frame in enumerate(x):
        send_words(source, pack_beats(as_codes(frame, in_bits), in_bits, simd))
        if side is not None:
            send_words(side, pack_beats(data["side"][k], 1, simd))
    beats_per_frame = x.shape[1] // simd
    await probe.wait_frames(len(x), timeout_cycles=40 * x.size)
    await probe.settle(20)
    beats = received(sink, probe)
    for p in (in_probe, side_probe, probe):
        assert p is None or not p.protocol_errors, p.protocol_errors[:3]
    if side_probe is not None:  # data and side beats are consumed together
        assert side_probe.accepted == in_probe.accepted, "side and data beats not paired"
    assert len(beats) == x.size // simd, "beat count"
    assert [b.last for b in beats] == ([False] * (beats_per_frame - 1) + [True]) * len(x)
    got = unpack_output(dut, [b.data for b in beats]).reshape(expected.shape)
    if not np.array_equal(got, expected):
        frame, element = np.argwhere(got != expected)[0]
        raise AssertionError(
            f"frame {frame} element {element}: {got[frame, element]} != {expected[frame, element]}"
        )
    if args["gap_prob"] == 0 and args["backpressure_prob"] == 0:
        cycles = [b.cycle for b in beats]
        assert cycles == list(range(cycles[0], cycles[0] + len(cycles))), "not 1 beat/cycle"
        assert cycles[0] == in_probe.accepted[0] + 1, "latency is not one cycle"


@cocotb.test()
async def threshold_short_frame(dut):
    """A frame cut short by tlast restarts the channel fold: the next frame is exact."""
    args = get_tb_args()
    data = np.load(args["data"])
    x, expected = data["inputs"], data["expected"]
    simd, in_bits = param(dut, "SIMD"), param(dut, "IN_BITS")
    if param(dut, "CHANNELS") // simd < 2:
        dut._log.info("CHANNELS/SIMD = 1: every beat starts at channel 0")
        return
    await reset(dut)
    source, side, sink, _, _, probe = side_streams(dut, args | {"gap_prob": 0.0}, 1)
    send_words(source, pack_beats(as_codes(x[0], in_bits), in_bits, simd)[:1])
    send_words(source, pack_beats(as_codes(x[1], in_bits), in_bits, simd))
    if side is not None:
        send_words(side, pack_beats(data["side"][0], 1, simd)[:1])
        send_words(side, pack_beats(data["side"][1], 1, simd))
    await wait_sent(source, 10_000)
    await probe.wait_frames(2, timeout_cycles=10_000)
    await probe.settle(20)
    received(sink, probe)
    frames = probe.frames
    assert [len(f) for f in frames] == [1, x.shape[1] // simd], [len(f) for f in frames]
    assert not probe.protocol_errors, probe.protocol_errors[:3]
    assert np.array_equal(unpack_output(dut, [frames[0][0].data]), expected[0][:simd])
    assert np.array_equal(unpack_output(dut, [b.data for b in frames[1]]), expected[1])


@dataclass(frozen=True)
class Case:
    channels: int
    simd: int
    in_bits: int
    steps: int
    side: int
    out_bits: int
    out_base: int
    pixels: int = 1
    frames: int = 8
    gap_prob: float = 0.3
    backpressure_prob: float = 0.4

    @property
    def id(self) -> str:
        return (
            f"c{self.channels}-simd{self.simd}-in{self.in_bits}-n{self.steps}-side{self.side}"
            f"-out{self.out_bits}b{self.out_base}-px{self.pixels}"
            + ("-nostall" if self.gap_prob == self.backpressure_prob == 0 else "")
        )


def make_data(case: Case, seed: int) -> dict[str, np.ndarray]:
    """Thresholds (C, S, N), inputs (F, pixels*C), side bits or None, expected outputs."""
    rng = np.random.default_rng(seed)
    lo, hi = -(1 << (case.in_bits - 1)), (1 << (case.in_bits - 1)) - 1
    sets = case.side + 1
    t = np.sort(rng.integers(lo, hi + 2, (case.channels, sets, case.steps)), axis=2)
    t[0] = lo  # always reached
    if case.channels > 1:
        t[1] = hi + 1  # never reached
    elements = case.pixels * case.channels
    x = rng.integers(lo, hi + 1, (case.frames, elements))
    x[1, : case.channels] = np.clip(t[:, 0, 0], lo, hi)  # at the thresholds
    x[2] = lo
    x[3] = hi
    side = rng.integers(0, 2, x.shape)
    expected = threshold_model(x, side if case.side else None, t, case.out_base)
    return {"thresholds": t, "inputs": x, "side": side, "expected": expected}


def run_case(case: Case, tmp_path: Path, simulator: str = "icarus") -> None:
    seed = zlib.crc32(case.id.encode())
    data = make_data(case, seed)
    t = data["thresholds"]
    width = threshold_width(int(t.min()), int(t.max()))
    thresh_file = tmp_path / "thresholds.hex"
    write_threshold_memfile(thresh_file, t, case.simd, width)
    np.savez(tmp_path / "data.npz", **data)
    run_cocotb(
        sources=rtl_files("hwbnn_threshold"),
        toplevel="hwbnn_threshold",
        test_module=Path(__file__),
        build_dir=tmp_path / "sim",
        parameters={
            "CHANNELS": case.channels,
            "SIMD": case.simd,
            "IN_BITS": case.in_bits,
            "STEPS": case.steps,
            "SIDE": case.side,
            "OUT_BITS": case.out_bits,
            "OUT_BASE": case.out_base,
            "THRESH_WIDTH": width,
            "THRESH_FILE": str(thresh_file),
        },
        simulator=simulator,
        tb_args=asdict(case) | {"data": str(tmp_path / "data.npz"), "seed": seed},
    )


CASES = [
    # Bi-Real shortcut: binary output, thresholds selected by the side bit.
    Case(8, 4, 6, 1, 1, 1, 0, pixels=3),
    # Plain binary threshold on accumulators.
    Case(6, 2, 5, 1, 0, 1, 0, pixels=2),
    # Multi-step (2-bit activations) with a negative base, one lane per beat.
    Case(3, 1, 4, 3, 0, 3, -2, pixels=2),
    # Multi-step with side input, all channels in one beat, unsigned-looking outputs.
    Case(4, 4, 3, 4, 1, 4, 0, pixels=3),
    Case(8, 8, 7, 2, 1, 2, -1, frames=10, gap_prob=0.0, backpressure_prob=0.0),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hwbnn_threshold(tmp_path: Path, case: Case) -> None:
    run_case(case, tmp_path)


@pytest.mark.verilator
@pytest.mark.skipif(not simulator_available("verilator"), reason="verilator not found")
def test_hwbnn_threshold_verilator(tmp_path: Path) -> None:
    run_case(Case(8, 4, 6, 2, 1, 3, -1, pixels=2, frames=6), tmp_path, simulator="verilator")


def test_write_threshold_memfile_layout(tmp_path: Path) -> None:
    """Word f, lane s, selection v, step j at ((s*S + v)*N + j)*W, two's complement."""
    t = np.array([[[-3, 1]], [[0, 2]], [[-1, -1]], [[3, 3]]])  # (C=4, S=1, N=2)
    write_threshold_memfile(tmp_path / "t.hex", t, 2, 3)
    words = [ln for ln in (tmp_path / "t.hex").read_text().splitlines() if not ln.startswith("//")]
    # word 0: lane 0 = (-3, 1), lane 1 = (0, 2) -> fields 0b101, 0b001, 0b000, 0b010
    assert words == [f"{0b010_000_001_101:03x}", f"{0b011_011_111_111:03x}"]
    with pytest.raises(ValueError, match="3-bit thresholds"):
        write_threshold_memfile(tmp_path / "t.hex", t + 1, 2, 3)
    assert [threshold_width(*r) for r in ((-4, 3), (0, 4), (-5, 0), (0, 0))] == [3, 4, 4, 1]
