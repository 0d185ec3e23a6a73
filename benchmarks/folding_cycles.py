"""Measured cycles/frame of generated RTL vs the analytical bound, TFC/SFC/LFC-shaped MLPs.

Usage: python benchmarks/folding_cycles.py [--nets tfc sfc lfc] [--frames 3] [--ii-frames 5]
                                           [--sim auto|icarus|verilator]
Each net is 28x28 binarized input (input thresholds over 256 levels) -> 3 hidden layers (TFC 64,
SFC 256, LFC 1024) -> 10 classes, with random weights and thresholds built directly as IR
(cycles do not depend on training). For each target cycles/frame the folding chooser picks
PE/SIMD; the generated top is simulated with hwbnn.sim.top: FRAMES frames under random gaps and
backpressure (checked exactly against the reference), then II_FRAMES frames back to back whose
output spacing after the first 2 (pipeline fill) is the measured cycles/frame. The analytical
bound is the slowest layer's (MH/PE)*(MW/SIMD) (784/SIMD for the input thresholds). ``auto``
simulates TFC and SFC on Icarus and LFC on Verilator (Icarus evaluates every XNOR lane in its
interpreter, about a second per LFC frame).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from hwbnn.codegen import write_build
from hwbnn.ir.folding import choose_folding, initiation_interval
from hwbnn.sim.random_nets import random_mlp
from hwbnn.sim.top import SimConfig
from hwbnn.verify.rtl import verify_rtl

SHAPES = {"tfc": 64, "sfc": 256, "lfc": 1024}
TARGETS = {"tfc": [3136, 784, 196, 49], "sfc": [3136, 784, 196], "lfc": [12544, 3136]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", nargs="+", default=list(SHAPES), choices=sorted(SHAPES))
    parser.add_argument("--frames", type=int, default=3)
    parser.add_argument("--ii-frames", type=int, default=5)
    parser.add_argument("--sim", default="auto", choices=["auto", "icarus", "verilator"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(
        "| net | target | PE/SIMD per layer | lanes | analytical | measured (min-max) "
        "| latency | simulator | exact |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.nets:
            rng = np.random.default_rng(args.seed)
            width = SHAPES[name]
            net = random_mlp(rng, 784, [width] * 3, 10, 256, True, input_shape=(1, 28, 28))
            codes = rng.integers(0, 256, (args.frames, 784))
            simulator = (
                args.sim if args.sim != "auto" else ("verilator" if name == "lfc" else "icarus")
            )
            for target in TARGETS[name]:
                folding = choose_folding(net, target)
                build = Path(tmp) / f"{name}-{target}"
                write_build(net, folding, build)
                cfg = SimConfig(simulator=simulator, seed=args.seed, ii_frames=args.ii_frames)
                report = verify_rtl(build, codes, cfg)
                folds = " ".join(f"{f.pe}/{f.simd}" for f in folding.layers)
                lanes = sum(f.pe * f.simd for f in folding.layers[1:])
                spacings = report.details["cycle_spacings"]
                measured = (
                    f"{report.cycles_per_frame:g} ({min(spacings)}-{max(spacings)})"
                    if spacings
                    else "n/a"
                )
                print(
                    f"| {name} | {target} | {folds} | {lanes:,} "
                    f"| {initiation_interval(net, folding)} | {measured} "
                    f"| {report.latency_cycles} | {simulator} | {'yes' if report.ok else 'NO'} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
