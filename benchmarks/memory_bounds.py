"""Peak memory and time of LFC- and CNV-shaped nets: code generation, reference, fast engine.

Usage: python benchmarks/memory_bounds.py [--nets lfc cnv] [--frames N] [--fast-frames N]
                                          [--work DIR]
Each net runs in a fresh Python process (this script with ``--child NAME WORK FRAMES
FAST_FRAMES``, which prints one JSON line), so that its peak resident set is its own:

- LFC: a random MLP on 784 8-bit codes binarized by per-pixel thresholds, 1024-1024-1024-10
  (2.9 M weights), folded by the chooser at 512 cycles/frame (benchmarks/fast_sim.py's LFC);
- CNV: random weights in CNV's geometry (3x32x32 8-bit codes, 3x3 convolutions
  64-64-128-128-256-256 with two OR pools, 512-512-10; 1.5 M weights) at BNN-PYNQ's cnvW1A1
  folding (benchmarks/cnv_rtl.py), 32,768 cycles/frame.

Steps, in order: ``write_build`` as Verilog and as HLS C++ (the code generation ``hwbnn compile
--target rtl|hls`` runs after lowering), the reference on FRAMES random frames, and, if
FAST_FRAMES > 0, the fast engine (``hwbnn sim --fast``: the Verilator harness built and run
under gaps 0.2 and backpressure 0.3) on that many frames, judged exactly against the
reference. After each step the child records its own peak resident set
(VmHWM of /proc/self/status, a high-water mark, so each value includes the steps before
it) and the largest single process it waited for (``RUSAGE_CHILDREN``: Verilator, a
C++ compiler job, the harness; the two parallel compile jobs of a harness build may together
hold up to twice that). tests/hardening/test_bounds.py runs the same child and asserts its
limits.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
NETS = ("lfc", "cnv")


def _peak_mb(who: int) -> float:
    """This process's peak resident set (VmHWM: the high-water mark of its own address space,
    which exec starts afresh; ``ru_maxrss`` of RUSAGE_SELF also keeps the pre-exec copy of the
    parent, e.g. 671 MB under a grown pytest worker), or the largest waited-for child's
    ``ru_maxrss`` (an overestimate by the same effect: it includes this process's size at
    fork)."""
    if who == resource.RUSAGE_SELF:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(who).ru_maxrss / 1024  # KiB on Linux


def measure(name: str, work: Path, frames: int, fast_frames: int) -> dict[str, Any]:
    """Run the steps on net ``name`` in this process; return times (s), peaks (MB) and what
    was checked."""
    import numpy as np

    from hwbnn.codegen import write_build
    from hwbnn.ir.folding import choose_folding
    from hwbnn.reference import Reference
    from hwbnn.sim.random_nets import random_mlp

    sys.path.insert(0, str(HERE))
    import cnv_rtl

    report: dict[str, Any] = {"net": name, "start_mb": _peak_mb(resource.RUSAGE_SELF)}
    seconds: dict[str, float] = {}
    peak: dict[str, float] = {}
    child: dict[str, float] = {}
    rng = np.random.default_rng(0)
    if name == "lfc":
        net = random_mlp(rng, 784, [1024, 1024, 1024], 10, 256, True, (1, 28, 28))
        folding = choose_folding(net, 512)
    else:
        net = cnv_rtl.cnv_network()
        folding = cnv_rtl.cnv_folding(net)

    def step(key: str, start: float) -> None:
        seconds[key] = round(time.perf_counter() - start, 2)
        peak[key] = round(_peak_mb(resource.RUSAGE_SELF), 1)
        child[key] = round(_peak_mb(resource.RUSAGE_CHILDREN), 1)

    for target in ("rtl", "hls"):
        start = time.perf_counter()
        write_build(net, folding, work / target, target=target)
        step(target, start)
    start = time.perf_counter()
    codes = rng.integers(0, net.input.levels, (max(frames, fast_frames), net.input.elements))
    expected = Reference(net).run_codes(codes).accumulators
    step("reference", start)
    report["accumulators"] = list(expected[:frames].shape)
    if fast_frames:
        from hwbnn.sim.fast import simulate_fast
        from hwbnn.sim.top import SimConfig
        from hwbnn.verify.rtl import judge_run

        start = time.perf_counter()
        cfg = SimConfig(seed=2, gap_prob=0.2, backpressure_prob=0.3, ii_frames=0, fast=True)
        run = simulate_fast(work / "rtl", codes[:fast_frames], cfg)
        record = judge_run(run, expected[:fast_frames])
        step("fast", start)
        report["fast"] = {
            "ok": record.ok,
            "problem": record.first_mismatch,
            "frames": run.phases[0].frames_received,
            "cycles": run.phases[0].cycles,
        }
    report["weights"] = int(
        sum(layer.weights.size for layer in net.layers if hasattr(layer, "weights"))
    )
    report["seconds"] = seconds
    report["peak_mb"] = peak
    report["child_peak_mb"] = child
    return report


def run_child(name: str, work: Path, frames: int, fast_frames: int, timeout: float) -> dict:
    """:func:`measure` in a fresh Python process; its report, or RuntimeError with its stderr."""
    done = subprocess.run(
        [sys.executable, __file__, "--child", name, str(work), str(frames), str(fast_frames)],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{name}: exit {done.returncode}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=4, metavar=("NET", "WORK", "FRAMES", "FAST_FRAMES"))
    parser.add_argument("--nets", nargs="+", choices=NETS, default=list(NETS))
    parser.add_argument("--frames", type=int, default=1000, help="reference frames")
    parser.add_argument("--fast-frames", type=int, default=4, help="fast-engine frames (0: none)")
    parser.add_argument("--work", type=Path, help="build directories (default: a temporary one)")
    args = parser.parse_args(argv)
    if args.child:
        name, work, frames, fast_frames = args.child
        print(json.dumps(measure(name, Path(work), int(frames), int(fast_frames))))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.nets:
            work = (args.work or Path(tmp)) / name
            report = run_child(name, work, args.frames, args.fast_frames, 1800)
            print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
