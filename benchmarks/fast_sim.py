"""L4 at full scale: MNIST test images through TFC/SFC/LFC-shaped tops in the fast engine.

Usage: python benchmarks/fast_sim.py [--data-dir ../shared/data] [--models tfc sfc lfc]
                                     [--gap-prob 0.3] [--backpressure-prob 0.3] [--soak N]
Each model is a random MLP on 784 8-bit pixels with per-pixel input thresholds (as the
digits MLP binarizes its input), hidden widths 64 (TFC), 256 (SFC) or 1024 (LFC) three times
and 10 classes, folded by the chooser for its cycles/frame (64, 64, 512). A fresh build is
simulated by ``Build.simulate(fast=True)`` on the first N MNIST test images (10,000, 10,000,
1,000) under random input gaps and output backpressure, exactly against the reference.
"wall" is the whole call: Verilator build of the harness, reference, stimulus, run, judge.
``--soak N`` streams N frames instead, the 10,000 test images looped (``hwbnn sim --fast
--frames N``); the last column counts the stress phase's frames lost, duplicated, reordered
and corrupted (hwbnn.verify.judge.stream_faults).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

import hwbnn
from hwbnn.codegen import write_build
from hwbnn.data import load_mnist
from hwbnn.ir.folding import choose_folding
from hwbnn.sim.random_nets import random_mlp
from hwbnn.units import count, rate, seconds

FAULTS = ("lost", "duplicated", "reordered", "corrupted")
MODELS = {"tfc": (64, 64, 10_000), "sfc": (256, 64, 10_000), "lfc": (1024, 512, 1_000)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--gap-prob", type=float, default=0.3)
    parser.add_argument("--backpressure-prob", type=float, default=0.3)
    parser.add_argument("--soak", type=int, default=0, help="frames, the test set looped")
    args = parser.parse_args()
    x = load_mnist(args.data_dir / "mnist").x_test
    print(
        "| model | cycles/frame | frames | exact | measured cycles/frame | harness build (s) "
        "| run frames/s | wall (s) | lost/dup/reord/corrupt |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models:
            width, target, frames = MODELS[name]
            net = random_mlp(np.random.default_rng(0), 784, [width] * 3, 10, 256, True)
            path = Path(tmp) / name
            write_build(net, choose_folding(net, target), path)
            start = time.perf_counter()
            frames = min(frames, len(x)) if not args.soak else len(x)
            record = hwbnn.open(path, say=lambda _: None, progress=False).simulate(
                x[:frames].reshape(frames, -1),
                fast=True,
                soak_frames=args.soak,
                gap_prob=args.gap_prob,
                backpressure_prob=args.backpressure_prob,
                check=False,
            )
            wall = time.perf_counter() - start
            stress = record.details["phases"][0]
            build_s = (path / "sim" / "fast" / "build.log").stat().st_mtime - (
                path / "sim" / "fast" / "harness.cpp"
            ).stat().st_mtime
            print(
                f"| {name.upper()} 784-{width}x3-10 | {target} | {count(record.frames)} "
                f"| {record.ok} | {count(record.cycles_per_frame)} | {seconds(build_s)} "
                f"| {rate(record.details['sim_frames_per_second'])} | {seconds(wall)} "
                f"| {'/'.join(str(stress[k]) for k in FAULTS)} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
