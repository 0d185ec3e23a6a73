"""hwbnn_mvau against a NumPy model of the numeric contract, under random valid/ready.

pytest draws weights, thresholds and input vectors for each case, writes the $readmemh files
with hwbnn.codegen.memfiles and the inputs and expected outputs to an .npz file; the cocotb
test (``mvau_stream``) streams the inputs, collects the outputs and compares exactly. Sizes
are read back from the DUT. Thresholds include both extremes (always +1 / always -1) and
values next to attained accumulator values; some weight rows are all +1 / all -1 and some
input vectors all 0 / all max, so the accumulators reach both ends of their range. Cases with
VECTORS > 1 send frames of several vectors (tlast only at the end of each frame) and check
that output tlast marks only the last beat of each frame's last vector. Cases with ``storage``
set WEIGHT_STORAGE: a ROM forced to block RAM or logic, or constant WEIGHTS (one or two words;
the weight file then holds nothing the DUT reads: it gets no WEIGHT_FILE).
"""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import cocotb
import numpy as np
import pytest

from hwbnn.codegen.memfiles import mvau_threshold_range, mvau_widths, write_mvau_memfiles
from hwbnn.ir.types import MatrixVector
from hwbnn.plan.packing import weight_constant
from hwbnn.reference import run_layer
from hwbnn.resources import rtl_files
from hwbnn.sim.axis import axis_streams, received, send_words
from hwbnn.sim.packing import pack_beats, unpack_beats
from hwbnn.sim.runner import Bits, get_tb_args, run_cocotb, simulator_available
from hwbnn.sim.tb import param, start_clock_and_reset


def mvau_model(x: np.ndarray, w: np.ndarray, t: np.ndarray | None, input_bits: int) -> np.ndarray:
    """The golden model (hwbnn.reference) of one MVAU: x (F, MW) codes or bits, w (MH, MW)
    bool, t (MH,) thresholds or None (accumulator output) -> (F, MH) ints."""
    levels = 2 if input_bits == 1 else 2**input_bits
    if t is None:
        mh = w.shape[0]
        layer = MatrixVector(
            "dut", w, input_bits, levels, out_scale=np.ones(mh), out_bias=np.zeros(mh)
        )
    else:
        layer = MatrixVector("dut", w, input_bits, levels, thresholds=t)
    return run_layer(layer, x)


def documented_latency(mw: int, simd: int, bits: int, half: bool, direct: bool) -> int:
    """Cycles from a vector's last input beat to its first output beat (rtl/hwbnn_mvau.v's
    header): MW/SIMD + 5 + one per TREE_LEVELS_PER_REG adder-tree levels after the first (3
    for bipolar input, 2 for ``bits``-bit codes), + 1 for the sparser-half count of constant
    one-word weights (``half``), - 1 for one beat per vector and one fold (``direct``)."""
    depth = (simd - 1).bit_length()  # ceil(log2(SIMD))
    tree = (max(depth, 1) - 1) // (3 if bits == 1 else 2)
    return mw // simd + 5 + tree + int(half) - int(direct)


@cocotb.test()
async def mvau_stream(dut):
    """Stream every frame of VECTORS vectors, compare every output beat and the framing."""
    args = get_tb_args()
    data = np.load(args["data"])
    x, expected = data["inputs"], data["expected"]
    mw, mh = param(dut, "MW"), param(dut, "MH")
    pe, simd = param(dut, "PE"), param(dut, "SIMD")
    vectors = param(dut, "VECTORS")
    bits = param(dut, "INPUT_BITS")
    widths = mvau_widths(mw, bits)
    assert param(dut, "ACC_WIDTH") == widths.acc_width
    assert param(dut, "THRESH_WIDTH") == widths.thresh_width
    assert x.shape[1] == mw and expected.shape[1] == mh
    nf, sf = mh // pe, mw // simd
    assert len(x) % vectors == 0
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
    cycles = frames * vectors * nf * sf
    await probe.wait_frames(frames, timeout_cycles=20 * cycles + 1000)
    await probe.settle(4 * vectors * nf * sf + 20)
    received(sink, probe)

    assert not probe.protocol_errors, probe.protocol_errors[:3]
    beats = frames * vectors * nf
    assert len(probe.beats) == beats, f"{len(probe.beats)} beats for {frames} frames"
    last = [b.last for b in probe.beats]
    assert last == ([False] * (vectors * nf - 1) + [True]) * frames, "tlast"
    got = unpack_output(dut, [b.data for b in probe.beats]).reshape(len(x), mh)
    if not np.array_equal(got, expected):
        vector, channel = np.argwhere(got != expected)[0]
        raise AssertionError(
            f"frame {vector // vectors} vector {vector % vectors} channel {channel}: "
            f"got {got[vector, channel]}, expected {expected[vector, channel]}"
        )
    if args["measure_ii"]:
        ends = [b.cycle for b in probe.beats if b.last]
        periods = np.diff(ends[1:])  # skip the pipeline fill
        target = vectors * nf * sf
        dut._log.info("cycles per frame: %s (II target %d)", periods.tolist(), target)
        assert np.all(np.abs(periods - target) <= 2), f"cycles per frame {periods.tolist()}"
        latency = probe.beats[0].cycle - inputs.accepted[sf - 1]
        half = param(dut, "WEIGHT_STORAGE") == 3 and nf * sf == 1 and bits == 1 and simd >= 16
        want = documented_latency(mw, simd, bits, half, nf * sf == 1)
        assert param(dut, "LATENCY") == want, f"LATENCY {param(dut, 'LATENCY')}, want {want}"
        assert latency == want, f"latency {latency}, documented {want}"


def unpack_output(dut, words: list[int]) -> np.ndarray:
    """Output beats -> (beats * PE,) channel values (bits or signed accumulators)."""
    pe = param(dut, "PE")
    if param(dut, "OUTPUT_MODE") == 0:
        return unpack_beats(words, 1, pe).reshape(-1)
    return unpack_beats(words, param(dut, "ACC_WIDTH"), pe, signed=True).reshape(-1)


@cocotb.test()
async def mvau_short_frame(dut):
    """Resynchronisation: a frame cut short by tlast ends at once (one output vector per
    started vector, tlast on the last); a frame without tlast ends after VECTORS vectors.
    The frames around them come out exact and aligned."""
    args = get_tb_args()
    data = np.load(args["data"])
    bits, simd, pe = param(dut, "INPUT_BITS"), param(dut, "SIMD"), param(dut, "PE")
    mw, vectors = param(dut, "MW"), param(dut, "VECTORS")
    nf, sf = param(dut, "MH") // pe, mw // simd
    x = data["inputs"].reshape(-1, vectors * mw)
    expected = data["expected"].reshape(len(x), -1)
    if len(x) < 4:
        dut._log.info("fewer than 4 frames: skipped")
        return
    # Cut frame 1 after its first beat, or (VECTORS > 1) in its second vector.
    cut = 1 if vectors == 1 else sf + max(sf - 1, 1)
    if vectors == 1 and sf < 2:
        dut._log.info("MW/SIMD = 1 and VECTORS = 1: a frame cannot be cut short")
        return
    await start_clock_and_reset(dut)
    source, sink, _, probe = axis_streams(dut, dut.clk)
    send_words(source, pack_beats(x[0], bits, simd))
    send_words(source, pack_beats(x[1], bits, simd)[:cut])  # tlast on beat cut - 1
    send_words(source, pack_beats(x[2], bits, simd))
    # frame 3 without tlast at all: its beats run straight into those of the next frame
    send_words(source, pack_beats(x[3], bits, simd) + pack_beats(x[0], bits, simd))
    await probe.wait_frames(5, timeout_cycles=100 * vectors * nf * sf + 1000)
    await probe.settle(4 * vectors * nf * sf + 50)
    received(sink, probe)
    cut_vectors = -(-cut // sf)
    sizes = [len(frame) for frame in probe.frames]
    assert sizes == [vectors * nf, cut_vectors * nf] + [vectors * nf] * 3, sizes
    assert len(probe.beats) == sum(sizes), "beats after the last tlast"
    assert not probe.protocol_errors, probe.protocol_errors[:3]
    frames = probe.frames
    for index, source_frame in ((0, 0), (2, 2), (3, 3), (4, 0)):
        got = unpack_output(dut, [b.data for b in frames[index]])
        assert np.array_equal(got, expected[source_frame]), f"output frame {index} differs"
    # The whole vectors before the cut are exact as well.
    whole = (cut // sf) * nf
    got = unpack_output(dut, [b.data for b in frames[1][:whole]])
    mh = expected.shape[1] // vectors
    assert np.array_equal(got, expected[1][: (cut // sf) * mh]), "vectors before the cut"


@dataclass(frozen=True)
class Case:
    mw: int
    mh: int
    pe: int
    simd: int
    input_bits: int = 1
    output_mode: int = 0
    frames: int = 12
    vectors: int = 1
    gap_prob: float = 0.3
    backpressure_prob: float = 0.4
    measure_ii: bool = False
    storage: int = 0  # WEIGHT_STORAGE: 0 ROM, 1 block RAM, 2 LUT ROM, 3 constant

    @property
    def id(self) -> str:
        return (
            f"mw{self.mw}-mh{self.mh}-pe{self.pe}-simd{self.simd}-b{self.input_bits}"
            f"-{'acc' if self.output_mode else 'thr'}"
            + (f"-v{self.vectors}" if self.vectors > 1 else "")
            + ("-ii" if self.measure_ii else "")
            + ("-nostall" if self.gap_prob == self.backpressure_prob == 0 else "")
            + (f"-s{self.storage}" if self.storage else "")
        )


def make_data(case: Case, seed: int) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Weights (MH, MW), thresholds (MH,) or None, inputs (F*VECTORS, MW) for one case."""
    rng = np.random.default_rng(seed)
    top = (1 << case.input_bits) - 1
    count = case.frames * case.vectors
    w = rng.integers(0, 2, (case.mh, case.mw)).astype(bool)
    x = rng.integers(0, top + 1, (count, case.mw))
    if case.mh >= 4:
        w[-1], w[-2] = True, False  # rows all +1 / all -1
    if count >= 4:
        x[1], x[2] = 0, top  # vectors all 0 (-1) / all max (+1)
    if case.output_mode == 1:
        return w, None, x
    lo, hi = mvau_threshold_range(case.mw, case.input_bits)
    # Next to an attained value (popcount, or the signed sum), so boundaries are exercised.
    value = mvau_model(x, w, None, case.input_bits)
    if case.input_bits == 1:
        value = (value + case.mw) // 2
    picked = value[rng.integers(0, count, case.mh), np.arange(case.mh)]
    t = np.clip(picked + rng.integers(-1, 2, case.mh), lo, hi)
    t[0] = lo  # always +1
    if case.mh > 1:
        t[1] = hi  # always -1
    return w, t, x


def run_case(case: Case, tmp_path: Path, simulator: str = "icarus") -> None:
    seed = zlib.crc32(case.id.encode())
    w, t, x = make_data(case, seed)
    weight_file, thresh_file = write_mvau_memfiles(
        w, t, case.pe, case.simd, case.input_bits, tmp_path, "mvau"
    )
    expected = mvau_model(x, w, t, case.input_bits)
    np.savez(tmp_path / "data.npz", inputs=x, expected=expected)
    parameters: dict[str, int | str | Bits] = {
        "MW": case.mw,
        "MH": case.mh,
        "PE": case.pe,
        "SIMD": case.simd,
        "INPUT_BITS": case.input_bits,
        "OUTPUT_MODE": case.output_mode,
        "VECTORS": case.vectors,
        "WEIGHT_FILE": str(weight_file),
        "WEIGHT_STORAGE": case.storage,
    }
    if case.storage == 3:
        del parameters["WEIGHT_FILE"]
        parameters["WEIGHTS"] = Bits(weight_constant(w, case.pe, case.simd), case.mw * case.mh)
    if thresh_file is not None:
        parameters["THRESH_FILE"] = str(thresh_file)
    tb_args = asdict(case) | {"data": str(tmp_path / "data.npz"), "seed": seed}
    run_cocotb(
        sources=rtl_files("hwbnn_mvau"),
        toplevel="hwbnn_mvau",
        test_module=Path(__file__),
        build_dir=tmp_path / "sim",
        parameters=parameters,
        simulator=simulator,
        tb_args=tb_args,
    )


CASES = [
    Case(16, 8, 2, 4),
    Case(8, 4, 1, 1, frames=6),  # PE = SIMD = 1
    Case(32, 8, 8, 32, frames=30),  # fully parallel, II = 1
    Case(24, 6, 3, 6, output_mode=1),
    Case(18, 10, 5, 3, frames=10),  # MW/SIMD = 6, MH/PE = 2: not powers of 2
    Case(12, 6, 2, 3, input_bits=4),
    Case(20, 4, 4, 5, input_bits=8, output_mode=1),  # a last layer on 8-bit pixels
    Case(6, 4, 1, 1, input_bits=2, output_mode=1, frames=6),
    Case(10, 6, 6, 10, input_bits=3, frames=20),  # fully parallel, integer input
    Case(7, 3, 1, 7, input_bits=1, output_mode=1),
    Case(8, 12, 3, 8, frames=16),  # MW/SIMD = 1 with several folds
    Case(6, 8, 2, 6, input_bits=2, frames=16),
    Case(32, 16, 4, 8, frames=10, gap_prob=0.0, backpressure_prob=0.0, measure_ii=True),
    Case(8, 4, 4, 8, frames=20, gap_prob=0.0, backpressure_prob=0.0, measure_ii=True),
    # Frames of several vectors (convolutions): one output pixel per vector.
    Case(16, 8, 2, 4, frames=5, vectors=4),
    Case(8, 6, 3, 8, frames=6, vectors=9),  # MW/SIMD = 1: one beat per vector
    Case(12, 4, 4, 3, input_bits=4, output_mode=1, frames=4, vectors=3),
    Case(9, 4, 1, 1, frames=4, vectors=2),  # PE = SIMD = 1
    Case(16, 8, 4, 4, frames=6, vectors=5, gap_prob=0.0, backpressure_prob=0.0, measure_ii=True),
    # Adder trees with a pipeline register (SIMD 16..64); odd node counts on every level.
    Case(128, 4, 2, 64, frames=8, gap_prob=0.0, backpressure_prob=0.0, measure_ii=True),
    Case(50, 4, 2, 25, input_bits=8, output_mode=1, frames=10),
    Case(34, 6, 3, 17, frames=10),
    # hwbnn_popcount from SIMD 16 (POPCOUNT_SIMD); SIMD 8 above keeps hwbnn_adder_tree.
    Case(48, 4, 2, 16, output_mode=1, frames=8),
    # Weight storage: ROMs forced to block RAM / logic, constants of one and two words in the
    # popcount (SIMD >= 16), in the adder tree and with integer inputs, over several vectors.
    Case(16, 8, 2, 4, frames=6, storage=1),
    Case(16, 8, 2, 4, frames=6, storage=2),
    Case(32, 8, 8, 32, frames=20, storage=3),  # one word: fully parallel, II = 1
    Case(64, 6, 6, 32, frames=10, storage=3),  # two words (SF = 2)
    Case(34, 8, 4, 34, frames=10, storage=3),  # two words (NF = 2), SIMD 34
    Case(150, 4, 4, 150, frames=10, storage=3),  # half counts of 64+ lanes, padded to 8
    Case(20, 20, 20, 20, frames=10, storage=3),  # 20 PEs: 5 input copies from 2 a_x
    Case(16, 40, 40, 16, frames=10, storage=3),  # 40 PEs: 10 input copies from 3 a_x
    Case(8, 12, 12, 8, frames=10, storage=3),  # adder tree
    Case(10, 6, 3, 10, input_bits=3, frames=10, storage=3),  # integer input, two words
    Case(16, 8, 8, 16, frames=4, vectors=3, output_mode=1, storage=3),
    Case(32, 8, 8, 32, frames=20, gap_prob=0.0, backpressure_prob=0.0, measure_ii=True, storage=3),
    # integer codes: a tree register every 2 levels (SIMD 32: 2 registers, against 1 for bits)
    Case(64, 4, 2, 32, 8, frames=6, gap_prob=0.0, backpressure_prob=0.0, measure_ii=True),
]
SLOW_CASES = [
    Case(256, 64, 16, 32, frames=12),
    Case(196, 32, 8, 28, input_bits=8, frames=8),
    Case(128, 10, 2, 16, input_bits=1, output_mode=1, frames=8),
    # Two tree registers (SIMD 196: 8 levels), as on a 28x28 input.
    Case(392, 4, 1, 196, frames=6, gap_prob=0.0, backpressure_prob=0.0, measure_ii=True),
    Case(196, 4, 2, 196, input_bits=3, frames=8),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hwbnn_mvau(tmp_path: Path, case: Case) -> None:
    run_case(case, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("case", SLOW_CASES, ids=lambda c: c.id)
def test_hwbnn_mvau_large(tmp_path: Path, case: Case) -> None:
    run_case(case, tmp_path)


VERILATOR_CASES = [
    Case(16, 8, 2, 4, frames=10),
    Case(16, 8, 2, 4, frames=4, vectors=3),
    Case(32, 4, 2, 16, frames=6),  # hwbnn_popcount
    Case(64, 6, 6, 32, frames=10, storage=3),  # constant weights (two words)
    pytest.param(Case(12, 6, 3, 4, input_bits=4, output_mode=1), marks=pytest.mark.slow),
]


@pytest.mark.verilator
@pytest.mark.skipif(not simulator_available("verilator"), reason="verilator not found")
@pytest.mark.parametrize("case", VERILATOR_CASES, ids=lambda c: c.id)
def test_hwbnn_mvau_verilator(tmp_path: Path, case: Case) -> None:
    run_case(case, tmp_path, simulator="verilator")
