"""Large nets compile and run the reference within a stated memory bound.

An LFC-shaped MLP (784 8-bit codes binarized, 1024-1024-1024-10, 2.9 M weights) and a
CNV-shaped conv net (3x32x32 8-bit codes into six 3x3 convolutions 64-64-128-128-256-256 with
two pools, then 512-512-10, 1.5 M weights at BNN-PYNQ's folding), random IR, are rendered as
Verilog and as HLS C++ (hwbnn.codegen.write_build, the code generation `hwbnn compile
--target rtl|hls` runs) and the reference runs a batch of frames, all in a fresh Python
process (benchmarks/memory_bounds.py's child) whose peak resident set (VmHWM, the high-water
mark of its own address space) must stay under PEAK_MB. Measured on the 2-core
machine: LFC 175 MB (1,000 frames), CNV 228 MB (100 frames; 264 MB with 1,000), of which
about 120 MB come with the HLS renderer's imports (the reference, numba, scipy); the Verilog
alone peaks at 50 MB. PEAK_MB leaves more than a factor of two for other NumPy builds and
allocators; memory that grows with the net (a dense copy of the weights per PE or per cycle,
say) would break it at these sizes. The fast engine on these nets (a Verilator harness build
of tens of CPU-seconds each, too long for this suite) is measured by the benchmark instead:
``python benchmarks/memory_bounds.py --fast-frames 4`` (docs/RELIABILITY.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "memory_bounds.py"
#: Peak resident set allowed for code generation (RTL and HLS) plus the reference, MB.
PEAK_MB = 512
#: CNV's weights: six 3x3 convolutions (C_in * 9 * C_out), then 256-512-512-10
CNV_WEIGHTS = 9 * (3 * 64 + 64 * 64 + 64 * 128 + 128 * 128 + 128 * 256 + 256 * 256) + (
    256 * 512 + 512 * 512 + 512 * 10
)


def run_child(name: str, out: Path, frames: int) -> dict:
    done = subprocess.run(
        [sys.executable, str(BENCHMARK), "--child", name, str(out), str(frames), "0"],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("name", "frames", "weights"),
    [("lfc", 1000, 784 * 1024 + 2 * 1024 * 1024 + 1024 * 10), ("cnv", 100, CNV_WEIGHTS)],
)
def test_large_net_codegen_and_reference_within_memory(
    tmp_path: Path, name: str, frames: int, weights: int
) -> None:
    report = run_child(name, tmp_path, frames)
    print(f"{name}: {json.dumps(report)}")  # the measurement, for the record (pytest -s)
    assert report["accumulators"] == [frames, 10]
    assert report["weights"] == weights  # the LFC / CNV shape, not something smaller
    assert (tmp_path / "rtl" / "rtl" / "hwbnn_top.v").is_file()
    assert (tmp_path / "hls" / "hls" / "hwbnn_top.cpp").is_file()
    peak = max(report["peak_mb"].values())
    assert peak < PEAK_MB, f"{name}: peak resident set {peak:.0f} MB >= {PEAK_MB} MB: {report}"
