"""Shared checks of the genotype-network tests (tests/e2e/test_digits_cells.py and
test_digits_search.py): compile an exported network, the generated RTL against the reference
under backpressure, the generated HLS C-simulated on the whole digits test split."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hwbnn.cli import main
from hwbnn.data import load_digits
from hwbnn.ir.serialize import load_network
from hwbnn.ir.types import Network
from hwbnn.reference import Reference, to_codes
from hwbnn.sim.top import SimConfig


def compile_build(onnx: Path, build: Path, target: str, cycles: int = 2000) -> Network:
    """``hwbnn compile --target TARGET --target-cycles CYCLES``; the build's IR."""
    argv = ["compile", str(onnx), "-o", str(build), "--target", target]
    assert main([*argv, "--target-cycles", str(cycles)]) == 0
    return load_network(build)


def rtl_exact(onnx: Path, build: Path, frames: int) -> None:
    """The generated RTL equals the reference on ``frames`` test images under random input
    gaps and output backpressure (the fast Verilator engine)."""
    from hwbnn.verify.rtl import verify_rtl

    net = compile_build(onnx, build, "rtl")
    codes = to_codes(net.input, load_digits().x_test[:frames])
    expected = Reference(net).run_codes(codes)
    assert len(np.unique(expected.accumulators, axis=0)) > frames // 2  # a test that can fail
    cfg = SimConfig(
        simulator="verilator", seed=7, gap_prob=0.3, backpressure_prob=0.5, ii_frames=0, fast=True
    )
    record = verify_rtl(build, codes, cfg)
    assert record.ok, record.problem
    assert record.engine == "verilator-fast" and record.frames == frames


def csim_exact(onnx: Path, build: Path) -> None:
    """The generated HLS C-simulated exactly on the whole digits test split."""
    from hwbnn.verify.csim import verify_csim

    net = compile_build(onnx, build, "hls")
    record = verify_csim(build, to_codes(net.input, load_digits().x_test))
    assert record.ok, record.first_mismatch
    assert record.frames == 360 and record.mismatches == 0
