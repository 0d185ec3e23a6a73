"""Simulated frames/s of the generated RTL of the digits MLP: Icarus and Verilator under the
cocotb bench, and the fast engine (the compiled Verilator harness of ``hwbnn sim --fast``).

Usage: python benchmarks/rtl_sim_speed.py [--onnx MODEL.onnx] [--frames 200] [--targets 128 16]
                                          [--epochs 20] [--simulators icarus verilator fast]
Without --onnx a digits-mlp (binarized input) is trained for EPOCHS epochs first (``hwbnn.run``
up to the export). For each target cycles/frame ``hwbnn.compile(..., target="rtl")`` lets the
folding chooser pick PE/SIMD, and ``Build.simulate`` streams the first FRAMES digits test images
through each simulator back to back (no gaps, no backpressure), checked exactly against the
reference. frames/s and cycles/s are wall-clock rates of that streaming phase alone; "build +
run" is the whole simulation (compile the simulation model, elaborate, run).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import hwbnn
from hwbnn.data import load_digits
from hwbnn.ir.folding import initiation_interval
from hwbnn.ir.types import LayerKind
from hwbnn.pipeline.config import BitstreamOptions, RunConfig, TrainOptions
from hwbnn.sim.runner import simulator_available


def train_digits_mlp(work: Path, epochs: int) -> Path:
    """Train and export a digits-mlp into ``work``; return its QONNX file."""
    cfg = RunConfig(
        out=work,
        train=TrainOptions(model="digits-mlp", dataset="digits", epochs=epochs, seed=0),
        bitstream=BitstreamOptions(board=None),
    )
    hwbnn.run(cfg, stop="export", say=lambda _: None, progress=False)
    return work / "model.onnx"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--onnx", type=Path, help="a digits MLP exported by hwbnn export")
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--targets", type=int, nargs="+", default=[128, 16])
    parser.add_argument(
        "--simulators",
        nargs="+",
        default=["icarus", "verilator", "fast"],
        choices=["icarus", "verilator", "fast"],
    )
    parser.add_argument("--epochs", type=int, default=20, help="training epochs without --onnx")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        onnx = args.onnx or train_digits_mlp(work / "train", args.epochs)
        x = load_digits().x_test[: args.frames]
        print(
            "| cycles/frame | XNOR lanes | simulator | frames | frames/s | cycles/s "
            "| build + run (s) | exact |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for target in args.targets:
            build = hwbnn.compile(onnx, work / f"build{target}", target="rtl", target_cycles=target)
            net, folding = build.net, build.folding
            lanes = sum(
                f.pe * f.simd
                for layer, f in zip(net.layers, folding.layers, strict=True)
                if layer.kind is LayerKind.MATRIX_VECTOR
            )
            ii = initiation_interval(net, folding)
            for simulator in args.simulators:
                fast = simulator == "fast"
                if not simulator_available("verilator" if fast else simulator):
                    print(f"| {ii} | {lanes:,} | {simulator} | not installed |")
                    continue
                record = build.simulate(
                    x,
                    simulator="verilator" if fast else simulator,
                    fast=fast,
                    gap_prob=0.0,
                    backpressure_prob=0.0,
                    ii_frames=0,
                    check=False,
                )
                phase = record.details["phases"][0]
                print(
                    f"| {ii} | {lanes:,} | {simulator} "
                    f"| {phase['frames']} "
                    f"| {phase['frames'] / phase['wall_seconds']:,.1f} "
                    f"| {phase['cycles'] / phase['wall_seconds']:,.0f} | {record.seconds:.1f} "
                    f"| {'yes' if record.ok else 'NO'} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
