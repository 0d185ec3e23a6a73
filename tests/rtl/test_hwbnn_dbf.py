"""hwbnn_dbf against hwbnn.reference: a Deterministic Binary Filter unit (hwbnn.ir.dbf).

pytest draws random codes (M, MW), alpha (MH, M) of ALPHA_BITS bits and inputs (bits or
unsigned codes), builds the IR node (thresholds next to attained values of y, plus one channel
always +1 and one always -1), computes the expected outputs with hwbnn.reference.run_layer and
passes codes, alpha and thresholds as the module's constant parameters
(hwbnn.plan.packing.dbf_constants); some cases combine fewer bases per cycle than M
(BASES_PER_CYCLE). The cocotb test streams the frames under random input gaps
and output backpressure (or none, to measure the cycles per vector and the latency, which must
equal the module's LATENCY and the plan's hwbnn.plan.fifos.dbf_latency) and compares every
output beat and tlast exactly; sizes are read back from the DUT.
"""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import cocotb
import numpy as np
import pytest

from hwbnn.ir.folding import LayerFolding
from hwbnn.ir.types import DBFMatrixVector
from hwbnn.plan.build import dbf_unit
from hwbnn.plan.fifos import dbf_latency
from hwbnn.plan.packing import dbf_constants
from hwbnn.reference import run_layer
from hwbnn.resources import rtl_files
from hwbnn.sim.axis import axis_streams, received, send_words
from hwbnn.sim.packing import pack_beats, unpack_beats
from hwbnn.sim.runner import Bits, get_tb_args, run_cocotb
from hwbnn.sim.tb import param, start_clock_and_reset


@cocotb.test()
async def dbf_stream(dut):
    """Stream every frame of VECTORS vectors, compare every output beat and the framing."""
    args = get_tb_args()
    data = np.load(args["data"])
    x, expected = data["inputs"], data["expected"]
    mw, mh = param(dut, "MW"), param(dut, "MH")
    pe, simd = param(dut, "PE"), param(dut, "SIMD")
    vectors, bits = param(dut, "VECTORS"), param(dut, "INPUT_BITS")
    assert x.shape[1] == mw and expected.shape[1] == mh and len(x) % vectors == 0
    bf = param(dut, "BASES") // param(dut, "BASES_PER_CYCLE")
    nf, sf = mh // pe, mw // simd
    frames = len(x) // vectors

    await start_clock_and_reset(dut)
    rng = np.random.default_rng(args["seed"])
    source, sink, inputs, probe = axis_streams(
        dut,
        dut.clk,
        gap_prob=args["gap_prob"],
        backpressure_prob=args["backpressure_prob"],
        seed=int(rng.integers(2**31)),
    )
    for frame in x.reshape(frames, vectors * mw):
        send_words(source, pack_beats(frame, bits, simd))
    period = max(nf * bf, sf)
    await probe.wait_frames(frames, timeout_cycles=20 * frames * vectors * period + 1000)
    await probe.settle(4 * vectors * period + 20)
    received(sink, probe)

    assert not probe.protocol_errors, probe.protocol_errors[:3]
    assert len(probe.beats) == frames * vectors * nf, f"{len(probe.beats)} beats"
    last = [b.last for b in probe.beats]
    assert last == ([False] * (vectors * nf - 1) + [True]) * frames, "tlast"
    words = [b.data for b in probe.beats]
    if param(dut, "OUTPUT_MODE") == 0:
        got = unpack_beats(words, 1, pe)
    else:
        got = unpack_beats(words, param(dut, "ACC_WIDTH"), pe, signed=True)
    got = np.asarray(got).reshape(len(x), mh)
    if not np.array_equal(got, expected):
        vector, channel = np.argwhere(got != expected)[0]
        raise AssertionError(
            f"frame {vector // vectors} vector {vector % vectors} channel {channel}: "
            f"got {got[vector, channel]}, expected {expected[vector, channel]}"
        )
    if args["measure_ii"]:
        ends = [b.cycle for b in probe.beats if b.last]
        periods = np.diff(ends[1:])  # skip the pipeline fill
        dut._log.info("cycles per frame: %s (target %d)", periods.tolist(), vectors * period)
        assert np.all(periods == vectors * period), f"cycles per frame {periods.tolist()}"
        latency = probe.beats[0].cycle - inputs.accepted[sf - 1]
        assert latency == param(dut, "LATENCY"), f"latency {latency}"
        assert latency == args["plan_latency"], f"latency {latency}, plan {args['plan_latency']}"


@dataclass(frozen=True)
class Case:
    mw: int
    mh: int
    bases: int
    pe: int
    simd: int
    input_bits: int = 1
    output_mode: int = 0
    alpha_bits: int = 4
    frames: int = 10
    vectors: int = 1
    gap_prob: float = 0.3
    backpressure_prob: float = 0.4
    measure_ii: bool = False
    per_cycle: int = 0  # BASES_PER_CYCLE (0: all bases)

    @property
    def id(self) -> str:
        return (
            f"mw{self.mw}-mh{self.mh}-m{self.bases}-pe{self.pe}-simd{self.simd}"
            f"-b{self.input_bits}-a{self.alpha_bits}-{'acc' if self.output_mode else 'thr'}"
            + (f"-v{self.vectors}" if self.vectors > 1 else "")
            + (f"-mb{self.per_cycle}" if self.per_cycle else "")
            + ("-ii" if self.measure_ii else "")
        )


def make_layer(case: Case, seed: int) -> tuple[DBFMatrixVector, np.ndarray]:
    """The IR node and the inputs (F*VECTORS, MW) of one case."""
    rng = np.random.default_rng(seed)
    top = (1 << case.input_bits) - 1
    count = case.frames * case.vectors
    codes = rng.integers(0, 2, (case.bases, case.mw)).astype(bool)
    largest = (1 << (case.alpha_bits - 1)) - 1
    alpha = rng.integers(-largest, largest + 1, (case.mh, case.bases))
    alpha[0] = largest  # one channel of the largest coefficients
    x = rng.integers(0, top + 1, (count, case.mw))
    if count >= 4:
        x[1], x[2] = 0, top
    levels = top + 1
    out = DBFMatrixVector(
        "dut",
        codes,
        alpha,
        case.input_bits,
        levels,
        out_scale=np.ones(case.mh),
        out_bias=np.zeros(case.mh),
        pixels=case.vectors,
    )
    if case.output_mode == 1:
        return out, x
    y = run_layer(out, x.reshape(case.frames, -1)).reshape(count, case.mh)
    low, high = out.acc_range
    t = np.clip(
        y[rng.integers(0, count, case.mh), np.arange(case.mh)] + rng.integers(-1, 2, case.mh),
        low,
        high + 1,
    )
    t[0] = low
    if case.mh > 1:
        t[1] = high + 1
    layer = DBFMatrixVector(
        "dut", codes, alpha, case.input_bits, levels, thresholds=t, pixels=case.vectors
    )
    return layer, x


def run_case(case: Case, tmp_path: Path, simulator: str = "icarus") -> None:
    seed = zlib.crc32(case.id.encode())
    layer, x = make_layer(case, seed)
    expected = run_layer(layer, x.reshape(case.frames, -1)).reshape(len(x), case.mh)
    np.savez(tmp_path / "data.npz", inputs=x, expected=expected)
    acc_bits = layer.acc_bits
    codes, alpha, thresholds = dbf_constants(
        layer.codes, layer.alpha, layer.thresholds, case.alpha_bits, acc_bits
    )
    parameters: dict[str, int | str | Bits] = {
        "MW": case.mw,
        "MH": case.mh,
        "BASES": case.bases,
        "BASES_PER_CYCLE": case.per_cycle or case.bases,
        "PE": case.pe,
        "SIMD": case.simd,
        "INPUT_BITS": case.input_bits,
        "OUTPUT_MODE": case.output_mode,
        "VECTORS": case.vectors,
        "ALPHA_BITS": case.alpha_bits,
        "ACC_WIDTH": acc_bits,
        "CODES": Bits(codes, case.bases * case.mw),
        "ALPHA": Bits(alpha, case.mh * case.bases * case.alpha_bits),
        "THRESHOLDS": Bits(thresholds, case.mh * (acc_bits + 1)),
    }
    fold = LayerFolding(case.pe, case.simd, bases=case.per_cycle or None)
    plan_latency = dbf_latency(dbf_unit(0, layer, fold, 0))  # the plan's LATENCY
    run_cocotb(
        sources=rtl_files("hwbnn_dbf"),
        toplevel="hwbnn_dbf",
        test_module=Path(__file__),
        build_dir=tmp_path / "sim",
        parameters=parameters,
        simulator=simulator,
        tb_args=asdict(case)
        | {"data": str(tmp_path / "data.npz"), "seed": seed, "plan_latency": plan_latency},
    )


CASES = [
    Case(16, 8, 4, 2, 4),
    Case(8, 4, 2, 1, 1, frames=6),  # PE = SIMD = 1
    Case(32, 8, 8, 8, 32, frames=20),  # fully parallel: one cycle per vector
    Case(24, 6, 4, 3, 6, output_mode=1, alpha_bits=3),
    Case(18, 10, 2, 5, 3, frames=8),  # MW/SIMD = 6, MH/PE = 2
    Case(12, 6, 4, 2, 3, input_bits=4, alpha_bits=6),  # integer input
    Case(20, 4, 4, 4, 5, input_bits=8, output_mode=1),  # an output layer on 8-bit codes
    Case(16, 8, 4, 2, 4, frames=5, vectors=4),  # a convolution: four pixels per frame
    Case(9, 6, 1, 3, 9, frames=6, vectors=3, output_mode=1),  # one basis, one beat per vector
    Case(32, 16, 8, 4, 8, frames=8, gap_prob=0.0, backpressure_prob=0.0, measure_ii=True),
    Case(16, 4, 4, 4, 4, frames=8, gap_prob=0.0, backpressure_prob=0.0, measure_ii=True),
    Case(8, 8, 4, 8, 8, frames=8, vectors=2, gap_prob=0.0, backpressure_prob=0.0, measure_ii=True),
    # Basis folding: BASES_PER_CYCLE < BASES products per channel per cycle.
    Case(16, 8, 8, 2, 4, per_cycle=2),
    Case(12, 6, 4, 3, 3, input_bits=4, output_mode=1, per_cycle=1, vectors=2, frames=5),
    Case(
        8, 4, 8, 4, 8, frames=8, per_cycle=4, gap_prob=0.0, backpressure_prob=0.0, measure_ii=True
    ),
    Case(
        32, 4, 8, 1, 1, frames=4, per_cycle=2, gap_prob=0.0, backpressure_prob=0.0, measure_ii=True
    ),
    # Pipelined lanes and product trees: XNOR popcounts of 16 and 32 lanes (one beat: the
    # sparser-half count; four beats: codes from a ROM), 8 and 16 products per PE, codes input.
    Case(64, 8, 8, 2, 16, frames=6),
    Case(32, 4, 16, 4, 32, frames=6, gap_prob=0.0, backpressure_prob=0.0, measure_ii=True),
    Case(64, 8, 8, 2, 16, frames=6, gap_prob=0.0, backpressure_prob=0.0, measure_ii=True),
    Case(
        16,
        4,
        8,
        2,
        8,
        input_bits=4,
        output_mode=1,
        frames=6,
        gap_prob=0.0,
        backpressure_prob=0.0,
        measure_ii=True,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hwbnn_dbf(tmp_path: Path, case: Case) -> None:
    run_case(case, tmp_path)
