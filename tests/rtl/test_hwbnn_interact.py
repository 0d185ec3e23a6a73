"""hwbnn_interact against the reference (run_node on an IR Interaction): the CI-BCNN rule
Y^(k) = Y^(k-1) + W_k t(Y^(k-1)) level by level, then the negated channels.

pytest draws a random DAG (every channel a random rank, edges from lower to higher ranks with
random signs), two's complement accumulators over the whole input range (values at +-m and
+-(m - 1) included, so every ternary boundary is hit) and the expected outputs; the generator's
own parameter helper (hwbnn.codegen.interaction) gives LEVEL, SIGNS and NEGATE. The cocotb
test reads every size from the DUT, streams the frames under random input gaps and output
backpressure, and compares every output element and tlast exactly; without stalls it checks
one beat per cycle and the stated latency (a pixel's first output beat is taken LEVELS + 2
cycles after its last input beat, as hwbnn.plan.fifos.unit_latency counts).
"""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import cocotb
import numpy as np
import pytest

from hwbnn.codegen.interaction import interaction_scalars, interaction_vectors
from hwbnn.ir.edges import bits_for_range
from hwbnn.ir.interaction import Interaction
from hwbnn.reference import run_node
from hwbnn.resources import rtl_files
from hwbnn.sim.axis import axis_streams, park, received, send_words
from hwbnn.sim.packing import pack_beats, unpack_beats
from hwbnn.sim.runner import Bits, get_tb_args, run_cocotb, simulator_available
from hwbnn.sim.tb import param, start_clock_and_reset


@cocotb.test()
async def interact_stream(dut):
    """Stream every frame; every output element, the beat count and tlast must match."""
    args = get_tb_args()
    data = np.load(args["data"])
    x, expected = data["inputs"], data["expected"]
    simd, in_bits, out_bits = param(dut, "SIMD"), param(dut, "IN_BITS"), param(dut, "OUT_BITS")
    levels = param(dut, "LEVELS")
    park(dut)
    await start_clock_and_reset(dut)
    source, sink, in_probe, probe = axis_streams(
        dut,
        dut.clk,
        gap_prob=args["gap_prob"],
        backpressure_prob=args["backpressure_prob"],
        seed=args["seed"],
    )
    for frame in x:
        send_words(source, pack_beats(frame & ((1 << in_bits) - 1), in_bits, simd))
    await probe.wait_frames(len(x), timeout_cycles=60 * x.size + 1000)
    await probe.settle(20)
    beats = received(sink, probe)
    assert not in_probe.protocol_errors and not probe.protocol_errors
    per_frame = x.shape[1] // simd
    assert len(beats) == x.size // simd, "beat count"
    assert [b.last for b in beats] == ([False] * (per_frame - 1) + [True]) * len(x)
    words = [b.data for b in beats]
    got = unpack_beats(words, out_bits, simd, signed=True).reshape(expected.shape)
    if not np.array_equal(got, expected):
        frame, element = np.argwhere(got != expected)[0]
        raise AssertionError(
            f"frame {frame} element {element}: {got[frame, element]} != {expected[frame, element]}"
        )
    if args["gap_prob"] == 0 and args["backpressure_prob"] == 0:
        cycles = [b.cycle for b in beats]
        assert cycles == list(range(cycles[0], cycles[0] + len(cycles))), "not 1 beat/cycle"
        pixel_beats = param(dut, "CHANNELS") // simd
        last_in = in_probe.accepted[pixel_beats - 1]
        assert cycles[0] == last_in + levels + 2, "latency is not LEVELS + 2 cycles"


@dataclass(frozen=True)
class Case:
    channels: int
    simd: int
    in_bits: int
    depth: int
    deadzone: int
    magnitude: int
    negate: bool = False
    pixels: int = 3
    frames: int = 6
    gap_prob: float = 0.3
    backpressure_prob: float = 0.4

    @property
    def id(self) -> str:
        return (
            f"c{self.channels}-simd{self.simd}-in{self.in_bits}-d{self.depth}-m{self.deadzone}"
            f"-c{self.magnitude}{'-neg' if self.negate else ''}-px{self.pixels}"
            + ("-nostall" if self.gap_prob == self.backpressure_prob == 0 else "")
        )


def random_interaction(case: Case, rng: np.random.Generator) -> Interaction:
    """A DAG whose ranks 0..depth are all used, edges with probability 1/2 from a lower to a
    higher rank, and one from rank r - 1 into every channel of rank r (so levels are ranks)."""
    ranks = case.depth + 1
    rank = np.concatenate([np.arange(ranks), rng.integers(0, ranks, case.channels)])
    rank = rng.permutation(rank[: case.channels])
    signs = np.zeros((case.channels, case.channels), dtype=np.int8)
    for i in range(case.channels):
        for j in range(case.channels):
            if rank[i] < rank[j] and rng.random() < 0.5:
                signs[i, j] = rng.choice([-1, 1])
    for j in np.flatnonzero(rank):
        sources = np.flatnonzero(rank == rank[j] - 1)
        signs[sources[0], j] = signs[sources[0], j] or 1
    negate = rng.random(case.channels) < 0.5 if case.negate else None
    return Interaction("dut", signs, case.deadzone, case.magnitude, negate)


def make_data(case: Case, seed: int) -> tuple[Interaction, dict[str, np.ndarray], int]:
    rng = np.random.default_rng(seed)
    node = random_interaction(case, rng)
    lo, hi = -(1 << (case.in_bits - 1)), (1 << (case.in_bits - 1)) - 1
    x = rng.integers(lo, hi + 1, (case.frames, case.pixels * case.channels))
    m = case.deadzone
    edges = np.array([m, m - 1, -m, 1 - m, lo, hi])
    x[0] = np.clip(rng.choice(edges, x.shape[1]), lo, hi)  # every ternary boundary
    x[1] = np.clip(rng.choice(edges, x.shape[1]), lo, hi)
    expected = run_node(node, [x])
    out_bits = bits_for_range(*node.out_range(lo, hi))
    assert expected.min() >= -(1 << (out_bits - 1)) and expected.max() < 1 << (out_bits - 1)
    return node, {"inputs": x, "expected": expected}, out_bits


def run_case(case: Case, tmp_path: Path, simulator: str = "icarus") -> None:
    seed = zlib.crc32(case.id.encode())
    node, data, out_bits = make_data(case, seed)
    assert node.depth == case.depth
    np.savez(tmp_path / "data.npz", **data)
    vectors = {name: Bits(v, w) for name, (v, w) in interaction_vectors(node).items()}
    run_cocotb(
        sources=rtl_files("hwbnn_interact"),
        toplevel="hwbnn_interact",
        test_module=Path(__file__),
        build_dir=tmp_path / "sim",
        parameters={
            "CHANNELS": case.channels,
            "SIMD": case.simd,
            "IN_BITS": case.in_bits,
            "OUT_BITS": out_bits,
            **interaction_scalars(node),
            **vectors,
        },
        simulator=simulator,
        tb_args=asdict(case) | {"data": str(tmp_path / "data.npz"), "seed": seed},
    )


CASES = [
    Case(4, 2, 6, 2, 3, 2),
    Case(8, 8, 7, 3, 5, 4, negate=True),  # one beat per pixel
    Case(6, 1, 5, 1, 1, 1, pixels=2),  # m = 1: t is the sign but for 0  # one channel per beat
    Case(12, 4, 9, 4, 20, 9, negate=True, pixels=2, frames=4),
    Case(8, 4, 6, 2, 4, 3, frames=8, gap_prob=0.0, backpressure_prob=0.0),
    Case(4, 4, 5, 1, 2, 3, frames=8, gap_prob=0.0, backpressure_prob=0.0),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hwbnn_interact(tmp_path: Path, case: Case) -> None:
    run_case(case, tmp_path)


@pytest.mark.verilator
@pytest.mark.skipif(not simulator_available("verilator"), reason="verilator not found")
def test_hwbnn_interact_verilator(tmp_path: Path) -> None:
    run_case(Case(16, 4, 8, 3, 6, 5, negate=True, pixels=2, frames=4), tmp_path, "verilator")
