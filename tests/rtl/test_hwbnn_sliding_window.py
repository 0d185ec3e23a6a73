"""hwbnn_sliding_window against hwbnn.reference.sliding_windows, under random valid/ready.

pytest builds a :class:`~hwbnn.ir.types.SlidingWindow` for each case, draws random input images
(bits, or integer codes of ``levels`` levels) and takes the expected windows from
hwbnn.reference.run_layer; the cocotb test streams the images and compares every output beat and
tlast. Sizes are read back from the DUT. Cases cover kernels 1..3, strides 1..3, symmetric and
asymmetric padding (up to KERNEL-1 on a side; with DILATION D up to D*(KERNEL-1)), SIMD from 1
to all channels and 1/2/8-bit elements with several pad codes. Cases without gaps and
backpressure also time the stream: frames back to back must take max(input beats, output beats)
cycles each (frames overlap in the line buffer), and the first window must leave LATENCY cycles
after its last pixel came in.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import cocotb
import numpy as np
import pytest

from hwbnn.fpga.estimate import line_buffer_rows
from hwbnn.ir.types import SlidingWindow, bits_for_range
from hwbnn.reference import run_layer
from hwbnn.resources import rtl_files
from hwbnn.sim.axis import axis_streams, received, send_words
from hwbnn.sim.packing import pack_beats, unpack_beats
from hwbnn.sim.runner import get_tb_args, run_cocotb, simulator_available
from hwbnn.sim.tb import param, start_clock_and_reset

#: Cycles from the acceptance of the input beat completing a window's last pixel to the
#: acceptance of the window's first output beat (documented in the module header).
LATENCY = 3
#: Frame spacings left out of the throughput figure (the line buffer filling).
WARMUP = 2


def first_window_beat(dut) -> int:
    """Index of the input beat that completes the first window's last pixel."""
    h, w = param(dut, "IN_H"), param(dut, "IN_W")
    ext, cf = param(dut, "EXT"), param(dut, "CF")  # the window's extent D*(K-1) + 1
    row = min(ext - 1 - param(dut, "PAD_TOP"), h - 1)
    col = min(ext - 1 - param(dut, "PAD_LEFT"), w - 1)
    return (row * w + col) * cf + cf - 1


@cocotb.test()
async def sliding_window_stream(dut):
    """Every window beat exact, tlast only at frame ends; timing when nothing stalls."""
    args = get_tb_args()
    data = np.load(args["data"])
    x, expected = data["inputs"], data["expected"]
    simd, bits = param(dut, "SIMD"), param(dut, "ELEM_BITS")
    c, k = param(dut, "CHANNELS"), param(dut, "KERNEL")
    simd_in = param(dut, "SIMD_IN")  # min(SIMD, C): one pixel per input beat at most
    out_h, out_w = param(dut, "OUT_H"), param(dut, "OUT_W")
    assert x.shape[1] == param(dut, "IN_H") * param(dut, "IN_W") * c
    in_beats = x.shape[1] // simd_in
    out_beats = out_h * out_w * k * k * c // simd
    assert expected.shape[1] == out_beats * simd, "IR and DUT disagree on the output size"
    assert param(dut, "ROWS") == args["rows"], "line buffer rows differ from the estimate's"

    await start_clock_and_reset(dut)
    rng = np.random.default_rng(args["seed"])
    source, sink, inputs, probe = axis_streams(
        dut,
        dut.clk,
        gap_prob=args["gap_prob"],
        backpressure_prob=args["backpressure_prob"],
        seed=int(rng.integers(2**31)),
    )
    for frame in x:
        send_words(source, pack_beats(frame, bits, simd_in))
    budget = 12 * len(x) * max(in_beats, out_beats) + 1000
    await probe.wait_frames(len(x), timeout_cycles=budget)
    await probe.settle(2 * max(in_beats, out_beats) + 20)
    received(sink, probe)

    assert not probe.protocol_errors, probe.protocol_errors[:3]
    assert len(probe.beats) == len(x) * out_beats, f"{len(probe.beats)} beats"
    last = [b.last for b in probe.beats]
    assert last == ([False] * (out_beats - 1) + [True]) * len(x), "tlast"
    got = unpack_beats([b.data for b in probe.beats], bits, simd).reshape(expected.shape)
    if not np.array_equal(got, expected):
        frame, element = np.argwhere(got != expected)[0]
        pixel, inner = divmod(int(element), k * k * c)
        (ky, kx), ch = divmod(inner // c, k), inner % c
        raise AssertionError(
            f"frame {frame} output pixel {divmod(pixel, out_w)} (ky, kx, c) = {(ky, kx, ch)}: "
            f"got {got[frame, element]}, expected {expected[frame, element]}"
        )
    if args["measure"]:
        ends = [b.cycle for b in probe.beats if b.last]
        spacings = np.diff(ends)[WARMUP:]
        target = max(in_beats, out_beats)
        dut._log.info("cycles per frame %s, analytical %d", spacings.tolist(), target)
        assert np.all(spacings == target), f"cycles per frame {spacings.tolist()} != {target}"
        latency = probe.beats[0].cycle - inputs.accepted[first_window_beat(dut)]
        assert latency == LATENCY, f"latency {latency}, documented {LATENCY}"


@dataclass(frozen=True)
class Case:
    h: int
    w: int
    c: int
    k: int
    s: int = 1
    pad: tuple[int, int, int, int] = (0, 0, 0, 0)
    simd: int = 1
    levels: int = 2
    pad_code: int = 0
    frames: int = 5
    gap_prob: float = 0.3
    backpressure_prob: float = 0.4
    dilation: int = 1

    @property
    def measure(self) -> bool:
        return self.gap_prob == 0 and self.backpressure_prob == 0

    @property
    def id(self) -> str:
        pad = "p" + "".join(map(str, self.pad)) if any(self.pad) else ""
        return (
            f"{self.h}x{self.w}x{self.c}-k{self.k}s{self.s}{pad}-simd{self.simd}"
            f"-l{self.levels}"
            + (f"-pc{self.pad_code}" if self.pad_code else "")
            + (f"-d{self.dilation}" if self.dilation > 1 else "")
            + ("-timed" if self.measure else "")
        )

    def layer(self) -> SlidingWindow:
        shape = (self.h, self.w, self.c)
        return SlidingWindow(
            "dut",
            shape,
            self.k,
            self.s,
            self.pad,
            self.levels,
            self.pad_code,
            dilation=self.dilation,
        )


def run_case(case: Case, tmp_path: Path, simulator: str = "icarus") -> None:
    seed = zlib.crc32(case.id.encode())
    rng = np.random.default_rng(seed)
    layer = case.layer()
    x = rng.integers(0, case.levels, (case.frames, layer.in_elements))
    if case.frames >= 3:
        x[1] = case.levels - 1  # a frame of all-max codes (all +1): padding must still show
    expected = run_layer(layer, x)
    np.savez(tmp_path / "data.npz", inputs=x, expected=expected)
    top, left, bottom, right = case.pad
    parameters: dict[str, int | str] = {
        "IN_H": case.h,
        "IN_W": case.w,
        "CHANNELS": case.c,
        "KERNEL": case.k,
        "STRIDE": case.s,
        "DILATION": case.dilation,
        "PAD_TOP": top,
        "PAD_LEFT": left,
        "PAD_BOTTOM": bottom,
        "PAD_RIGHT": right,
        "SIMD": case.simd,
        "ELEM_BITS": bits_for_range(0, case.levels - 1),
        "PAD_CODE": case.pad_code,
    }
    run_cocotb(
        sources=rtl_files("hwbnn_sliding_window"),
        toplevel="hwbnn_sliding_window",
        test_module=Path(__file__),
        build_dir=tmp_path / "sim",
        parameters=parameters,
        simulator=simulator,
        tb_args=asdict(case)
        | {"data": str(tmp_path / "data.npz"), "seed": seed}
        | {
            "measure": case.measure,
            "rows": line_buffer_rows(case.h, case.k, case.s, top, bottom, case.dilation),
        },
    )


NO_STALL = {"gap_prob": 0.0, "backpressure_prob": 0.0, "frames": 8}
CASES = [
    Case(5, 5, 1, 3),
    Case(6, 7, 4, 3, pad=(1, 1, 1, 1), simd=2),
    Case(8, 8, 2, 3, s=2, pad=(1, 1, 1, 1), simd=2),
    Case(7, 5, 4, 2, s=2, pad=(0, 1, 1, 0)),  # asymmetric padding, rows dropped (floor)
    Case(4, 4, 6, 1, simd=3),  # 1x1 kernel: in == out
    Case(6, 6, 3, 3, pad=(2, 0, 1, 2), simd=3, levels=256),  # integer codes, asymmetric
    Case(5, 6, 4, 2, s=2, simd=4),  # a 2x2 pool's windows, odd height
    Case(3, 3, 2, 3, pad=(2, 2, 2, 2), simd=1),  # padding KERNEL-1 on every side
    Case(9, 9, 2, 3, s=3, simd=2),  # stride = kernel
    Case(8, 6, 2, 1, s=2),  # stride > kernel: pixels skipped
    Case(4, 5, 3, 2, pad=(1, 0, 0, 1), levels=3, pad_code=1),  # 2-bit codes, pad code 1
    Case(2, 2, 2, 2, s=2, simd=2, frames=10),  # one window per frame
    Case(1, 6, 2, 3, pad=(2, 1, 0, 1), simd=2, frames=6),  # a one-row image
    Case(3, 1, 2, 1, simd=2, frames=8),  # one beat per window and per row of windows
    # Timed: frames back to back at max(in, out) beats per frame.
    Case(8, 8, 4, 3, pad=(1, 1, 1, 1), simd=4, **NO_STALL),  # out-bound
    Case(8, 8, 4, 2, s=2, simd=2, **NO_STALL),  # pool: in == out
    Case(10, 10, 2, 3, s=2, **NO_STALL),
    Case(6, 6, 8, 1, simd=8, **NO_STALL),  # in == out, one beat per pixel
    Case(8, 8, 2, 1, s=2, **NO_STALL),  # in-bound
    Case(7, 7, 3, 3, pad=(0, 1, 2, 0), simd=3, levels=16, pad_code=5, **NO_STALL),
    Case(6, 6, 1, 3, **NO_STALL),  # no padding: the next frame's rows load during the last
    Case(4, 1, 3, 1, s=2, simd=3, **NO_STALL),  # one beat per row of windows, rows skipped
    Case(2, 2, 2, 2, s=2, simd=2, gap_prob=0.0, backpressure_prob=0.0, frames=12),
]
# Dilated windows (taps D apart, padding up to D*(K-1)).
DILATED_CASES = [
    Case(8, 8, 2, 3, pad=(2, 2, 2, 2), simd=1, dilation=2),  # 8x8 -> 8x8, "same"
    Case(8, 7, 4, 3, pad=(2, 2, 2, 2), simd=2, dilation=2),  # CF = 2: taps skip whole pixels
    Case(9, 9, 2, 3, s=2, pad=(2, 2, 2, 2), simd=2, dilation=2),  # strided
    Case(7, 8, 2, 2, pad=(3, 0, 1, 3), dilation=3),  # asymmetric, K=2 D=3
    Case(6, 6, 3, 3, pad=(4, 1, 0, 2), simd=3, levels=256, dilation=2),  # 8-bit codes
    Case(8, 8, 2, 3, pad=(2, 2, 2, 2), simd=6, dilation=2),  # MMV 3
    Case(7, 7, 2, 3, s=2, pad=(3, 3, 3, 3), simd=18, dilation=3),  # MMV 9, strided
    Case(8, 8, 4, 3, pad=(2, 2, 2, 2), simd=4, dilation=2, **NO_STALL),  # timed, out-bound
]
# SIMD = m*C: m window positions per output beat (m | K*K), one input pixel per beat.
MMV_CASES = [
    Case(6, 7, 4, 3, pad=(1, 1, 1, 1), simd=12),  # m = 3: a window row per beat
    Case(6, 7, 2, 3, pad=(1, 0, 2, 1), simd=18),  # m = 9: a window per beat
    Case(8, 8, 2, 3, s=2, pad=(1, 1, 1, 1), simd=6),
    Case(7, 5, 3, 3, s=2, pad=(0, 1, 1, 0), simd=27, levels=256, pad_code=7),
    Case(3, 3, 2, 3, pad=(2, 2, 2, 2), simd=18),  # padding KERNEL-1 on every side
    Case(5, 6, 4, 2, s=2, simd=8),  # 2x2 pool windows, m = 2
    Case(5, 6, 4, 2, s=2, simd=16),  # m = 4
    # Timed: frames back to back at max(in, out) beats per frame.
    Case(8, 8, 3, 3, simd=27, levels=256, **NO_STALL),  # in-bound: 64 pixels, 36 windows
    Case(8, 8, 4, 3, pad=(1, 1, 1, 1), simd=12, **NO_STALL),  # out-bound: 192 beats
    Case(8, 8, 4, 2, s=2, simd=16, **NO_STALL),  # in-bound pool windows
]
SLOW_CASES = [
    # CNV-like first layer: RGB, 8-bit codes, no padding, SIMD 3.
    Case(16, 16, 3, 3, simd=3, levels=256, frames=4, gap_prob=0.0, backpressure_prob=0.0),
    Case(12, 12, 16, 3, simd=4, frames=3),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hwbnn_sliding_window(tmp_path: Path, case: Case) -> None:
    run_case(case, tmp_path)


@pytest.mark.parametrize("case", MMV_CASES, ids=lambda c: c.id)
def test_hwbnn_sliding_window_mmv(tmp_path: Path, case: Case) -> None:
    run_case(case, tmp_path)


@pytest.mark.parametrize("case", DILATED_CASES, ids=lambda c: c.id)
def test_hwbnn_sliding_window_dilated(tmp_path: Path, case: Case) -> None:
    run_case(case, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("case", SLOW_CASES, ids=lambda c: c.id)
def test_hwbnn_sliding_window_large(tmp_path: Path, case: Case) -> None:
    run_case(case, tmp_path)


@pytest.mark.verilator
@pytest.mark.skipif(not simulator_available("verilator"), reason="verilator not found")
@pytest.mark.parametrize(
    "case",
    [Case(6, 7, 4, 3, pad=(1, 0, 2, 1), simd=2), Case(8, 8, 4, 2, s=2, simd=2, **NO_STALL)],
    ids=lambda c: c.id,
)
def test_hwbnn_sliding_window_verilator(tmp_path: Path, case: Case) -> None:
    run_case(case, tmp_path, simulator="verilator")


# ---------------------------------------------------------------- static checks (test_lint)
# (tests/rtl/test_lint.py lints every module with its defaults; these are the sets that
# matter for the image modules, checked with its helpers.)

STATIC_CASES = [
    ("hwbnn_sliding_window", {"KERNEL": 1, "CHANNELS": 1, "SIMD": 1}),
    ("hwbnn_sliding_window", {"IN_H": 1, "IN_W": 1, "KERNEL": 1}),
    ("hwbnn_sliding_window", {"PAD_TOP": 2, "PAD_LEFT": 1, "PAD_RIGHT": 2, "STRIDE": 2}),
    ("hwbnn_sliding_window", {"IN_H": 32, "IN_W": 32, "CHANNELS": 3, "SIMD": 3, "ELEM_BITS": 8}),
    ("hwbnn_sliding_window", {"IN_H": 30, "IN_W": 30, "CHANNELS": 64, "SIMD": 32}),
    ("hwbnn_sliding_window", {"IN_H": 32, "IN_W": 32, "CHANNELS": 3, "SIMD": 27, "ELEM_BITS": 8}),
    ("hwbnn_sliding_window", {"PAD_TOP": 1, "PAD_RIGHT": 2, "STRIDE": 2, "SIMD": 12}),
    ("hwbnn_sliding_window", {"IN_H": 3, "IN_W": 3, "KERNEL": 2, "CHANNELS": 1, "SIMD": 4}),
    ("hwbnn_sliding_window", {"DILATION": 2, "PAD_TOP": 4, "PAD_RIGHT": 3, "STRIDE": 2}),
    ("hwbnn_sliding_window", {"DILATION": 3, "PAD_LEFT": 6, "PAD_BOTTOM": 2, "SIMD": 12}),
    ("hwbnn_window_or", {"KERNEL": 1, "CHANNELS": 1, "SIMD": 1}),
    ("hwbnn_window_or", {"KERNEL": 3, "CHANNELS": 256, "SIMD": 32}),
    ("hwbnn_window_or", {"KERNEL": 3, "CHANNELS": 4, "SIMD": 36}),
]
ILLEGAL = [
    ("hwbnn_sliding_window", {"CHANNELS": 6, "SIMD": 4}, "SIMD must divide CHANNELS"),
    ("hwbnn_sliding_window", {"CHANNELS": 2, "SIMD": 6, "KERNEL": 2}, "MMV dividing KERNEL*KERNEL"),
    ("hwbnn_sliding_window", {"PAD_LEFT": 3}, "PAD_TOP/LEFT/BOTTOM/RIGHT"),
    ("hwbnn_sliding_window", {"IN_H": 2, "KERNEL": 3}, "extent EXT is larger than the padded"),
    ("hwbnn_sliding_window", {"IN_H": 4, "DILATION": 2}, "extent EXT is larger than the padded"),
    ("hwbnn_sliding_window", {"PAD_CODE": 2}, "PAD_CODE must fit"),
    ("hwbnn_sliding_window", {"STRIDE": 0}, "must be at least 1"),
    ("hwbnn_window_or", {"CHANNELS": 6, "SIMD": 4}, "SIMD must divide CHANNELS"),
    ("hwbnn_window_or", {"KERNEL": 0}, "KERNEL must be at least 1"),
    ("hwbnn_window_or", {"CHANNELS": 2, "SIMD": 6, "KERNEL": 2}, "MMV dividing KERNEL*KERNEL"),
]


@pytest.mark.parametrize(("module", "params"), STATIC_CASES, ids=lambda v: str(v))
def test_lint_and_synthesis(tmp_path: Path, module: str, params: dict[str, int]) -> None:
    """verilator -Wall and iverilog -Wall silent; yosys elaborates, synthesizes, checks."""
    import subprocess

    from test_lint import lint, verilog_literal, yosys

    result = lint(module, params)
    assert result.returncode == 0 and "%Warning" not in result.stderr, result.stderr
    cmd = ["iverilog", "-g2005", "-Wall", "-o", str(tmp_path / "a.vvp"), "-s", module]
    cmd += [f"-P{module}.{n}={verilog_literal(v)}" for n, v in params.items()]
    sources = [str(path) for path in rtl_files(module)]
    built = subprocess.run([*cmd, *sources], capture_output=True, text=True)
    assert built.returncode == 0 and not (built.stdout + built.stderr), built.stderr
    synth = yosys(module, params, tmp_path)
    log = synth.stdout + synth.stderr
    assert synth.returncode == 0 and "End of script." in log and "ERROR" not in log, log[-2000:]


@pytest.mark.parametrize(("module", "params", "message"), ILLEGAL, ids=lambda v: str(v))
def test_illegal_parameters_stop_elaboration(
    tmp_path: Path, module: str, params: dict[str, int], message: str
) -> None:
    """Verilator and Yosys stop with the rule, Verilator naming the instance."""
    from test_lint import lint, yosys

    result = lint(module, params)
    assert result.returncode != 0 and message in result.stderr, result.stderr
    # the instance: the module itself, or its hwbnn_param_check instance inside it
    assert re.search(rf"In instance '{module}(\.\w+)?'", result.stderr), result.stderr
    synth = yosys(module, params, tmp_path)
    assert synth.returncode != 0 and message in synth.stdout + synth.stderr
