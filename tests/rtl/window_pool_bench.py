"""The bench shared by the window pools, hwbnn_window_or (max pool) and hwbnn_window_majority.

Both read the binary sliding-window stream of hwbnn_sliding_window (pad code 0) and write
``min(SIMD, C)`` bits per output beat; they differ only in what a window reduces to, which the
reference gives. pytest builds the data with :func:`pool_data` (the pool's padded windows from
hwbnn.reference.run_layer of a SlidingWindow, and run_layer of the pool itself) and runs the
test module's cocotb test with :func:`run_window_pool`; that test awaits
:func:`check_window_pool`, which streams the windows (tlast at each frame end) under the case's
random valid/ready and compares every output beat and tlast. Sizes are read back from the DUT.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from hwbnn.ir.types import SlidingWindow
from hwbnn.reference import run_layer
from hwbnn.resources import rtl_files
from hwbnn.sim.axis import axis_streams, received, send_words
from hwbnn.sim.packing import pack_beats, unpack_beats
from hwbnn.sim.runner import Bits, get_tb_args, run_cocotb
from hwbnn.sim.tb import param, start_clock_and_reset


async def check_window_pool(dut: Any) -> None:
    """Every output beat exact, tlast only at frame ends; full rate when nothing stalls."""
    args = get_tb_args()
    data = np.load(args["data"])
    windows, expected = data["windows"], data["expected"]
    simd, k, c = param(dut, "SIMD"), param(dut, "KERNEL"), param(dut, "CHANNELS")
    simd_out = param(dut, "SIMD_OUT")  # min(SIMD, C): SIMD = m*C takes m positions per beat
    assert windows.shape[1] * c == expected.shape[1] * k * k * c
    in_beats, out_beats = windows.shape[1] // simd, expected.shape[1] // simd_out

    await start_clock_and_reset(dut)
    rng = np.random.default_rng(args["seed"])
    source, sink, inputs, probe = axis_streams(
        dut,
        dut.clk,
        gap_prob=args["gap_prob"],
        backpressure_prob=args["backpressure_prob"],
        seed=int(rng.integers(2**31)),
    )
    for frame in windows:
        send_words(source, pack_beats(frame, 1, simd))
    await probe.wait_frames(len(windows), timeout_cycles=10 * len(windows) * in_beats + 1000)
    await probe.settle(in_beats + 20)
    received(sink, probe)

    assert not probe.protocol_errors, probe.protocol_errors[:3]
    assert len(probe.beats) == len(windows) * out_beats, f"{len(probe.beats)} beats"
    assert [b.last for b in probe.beats] == ([False] * (out_beats - 1) + [True]) * len(windows)
    got = unpack_beats([b.data for b in probe.beats], 1, simd_out).reshape(expected.shape)
    if not np.array_equal(got, expected):
        frame, element = np.argwhere(got != expected)[0]
        pixel, channel = divmod(int(element), c)
        raise AssertionError(
            f"frame {frame} output pixel {pixel} channel {channel}: got {got[frame, element]}, "
            f"expected {expected[frame, element]}"
        )
    if args["gap_prob"] == 0 and args["backpressure_prob"] == 0:
        accepted = inputs.accepted
        assert accepted == list(range(accepted[0], accepted[0] + len(accepted))), "input stalled"


def pool_data(pool: Any, x: np.ndarray) -> dict[str, np.ndarray]:
    """The windows ``pool`` (a MaxPool or MajorityPool) reads for the frames ``x`` (its
    sliding window with its padding, pad code 0) and its expected output."""
    name, shape, k, s = f"{pool.name}_window", pool.in_shape, pool.kernel, pool.stride
    window = SlidingWindow(name, shape, k, s, pool.padding, pad_code=0)
    return {"windows": run_layer(window, x), "expected": run_layer(pool, x)}


def run_window_pool(
    module: str,
    test_module: Path,
    case: Any,
    seed: int,
    data: dict[str, np.ndarray],
    parameters: dict[str, int | Bits],
    tmp_path: Path,
    simulator: str = "icarus",
) -> None:
    """Run ``test_module``'s cocotb test on ``module`` with ``parameters``; the bench reads
    ``data`` (:func:`pool_data`), the seed and the case's fields (gap_prob,
    backpressure_prob)."""
    np.savez(tmp_path / "data.npz", **data)
    run_cocotb(
        sources=rtl_files(module),
        toplevel=module,
        test_module=test_module,
        build_dir=tmp_path / "sim",
        parameters=parameters,
        simulator=simulator,
        tb_args=asdict(case) | {"data": str(tmp_path / "data.npz"), "seed": seed},
    )
