"""L4 on a CNV-shaped network: FINN/BNN-PYNQ CNV's geometry with random weights as generated
RTL, simulated bit-exactly against the reference.

The network (benchmarks/cnv_rtl.py): (3, 32, 32) 8-bit input codes into the first
convolution, 3x3 convolutions 64, 64, OR pool 2, 128, 128, OR pool 2, 256, 256 (no padding),
dense 512, 512, 10; folded as BNN-PYNQ's CNV-w1a1 (32,768 cycles/frame, the dense layers the
slowest). 100 images under random input gaps and output backpressure in the fast engine (the
compiled Verilator harness of ``hwbnn sim --fast``), then four back to back: every
accumulator must equal hwbnn.reference's, the frames leave at the analytical interval and the
plan's latency estimate is within 1% of the measured latency. Icarus took 501 s for three
images here; this takes about 16 s, the harness build included.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from hwbnn.codegen import write_build
from hwbnn.ir.folding import initiation_interval
from hwbnn.plan import load_plan
from hwbnn.reference import Reference
from hwbnn.sim.top import SimConfig
from hwbnn.verify.rtl import verify_rtl

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "cnv_rtl.py"
FRAMES = 100


def _benchmark_module():
    spec = importlib.util.spec_from_file_location("cnv_rtl", BENCHMARK)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.verilator
def test_cnv_images_bit_exact_at_the_interval(tmp_path: Path) -> None:
    cnv = _benchmark_module()
    net = cnv.cnv_network()
    folding = cnv.cnv_folding(net)
    assert initiation_interval(net, folding) == 32768
    assert [layer.name for layer in net.layers if layer.name.startswith("pool")] == [
        "pool1",
        "pool3",
    ]
    build = tmp_path / "cnv"
    write_build(net, folding, build)
    rng = np.random.default_rng(7)
    codes = rng.integers(0, 256, (FRAMES, net.input.elements))
    expected = Reference(net).run_codes(codes).accumulators
    assert len(np.unique(expected, axis=0)) == FRAMES  # different images, different outputs
    cfg = SimConfig(seed=2, gap_prob=0.2, backpressure_prob=0.3, ii_frames=4, fast=True)
    record = verify_rtl(build, codes, cfg)
    stress, _ = record.details["phases"]
    assert record.ok, record.problem
    assert stress["frames_received"] == stress["frames"] == record.frames == FRAMES
    assert record.details["cycle_spacings"] == [32768]
    estimate = load_plan(build).latency_cycles
    assert record.latency_cycles is not None
    assert abs(estimate - record.latency_cycles) <= 0.01 * record.latency_cycles
