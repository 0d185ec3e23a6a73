"""Simulated frames/s of the generated RTL of the digits MLP: Icarus vs Verilator (cocotb).

Usage: python benchmarks/rtl_sim_speed.py [--onnx MODEL.onnx] [--frames 200] [--targets 128 16]
Without --onnx a digits-mlp (binarized input) is trained for 20 epochs first. For each target
cycles/frame the folding chooser picks PE/SIMD, ``hwbnn compile --target rtl`` generates the
top, and each simulator streams the first FRAMES digits test images back to back (no gaps, no
backpressure), checked exactly against the reference. frames/s and cycles/s are wall-clock
rates of that streaming phase alone; "build + run" is the whole call (compile the simulation
model, elaborate, both phases of the bench).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from hwbnn.data import load_digits
from hwbnn.ir.serialize import load_network
from hwbnn.pipeline.steps import CompileConfig, compile_onnx, export_checkpoint, train_to_dir
from hwbnn.reference import to_codes
from hwbnn.sim.runner import simulator_available
from hwbnn.sim.top import SimConfig, simulate_build
from hwbnn.train import TrainConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--onnx", type=Path, help="a digits MLP exported by hwbnn export")
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--targets", type=int, nargs="+", default=[128, 16])
    parser.add_argument("--simulators", nargs="+", default=["icarus", "verilator"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        onnx = args.onnx
        if onnx is None:
            cfg = TrainConfig(epochs=20, seed=0, progress=False)
            train_to_dir(work / "train", "digits-mlp", "digits", None, "binary", None, cfg)
            onnx = work / "model.onnx"
            export_checkpoint(work / "train" / "model.pt", onnx, None)
        x = load_digits().x_test[: args.frames]
        print(
            "| cycles/frame | XNOR lanes | simulator | frames | frames/s | cycles/s "
            "| build + run (s) | exact |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for target in args.targets:
            build = work / f"build{target}"
            info = compile_onnx(onnx, build, CompileConfig(target="rtl", target_cycles=target))
            lanes = sum(
                layer["pe"] * layer["simd"]
                for layer in info["layers"]
                if layer["kind"] == "matrix_vector"
            )
            codes = to_codes(load_network(build).input, x)
            for simulator in args.simulators:
                if not simulator_available(simulator):
                    print(f"| {target} | {lanes} | {simulator} | not installed |")
                    continue
                sim_cfg = SimConfig(
                    simulator=simulator, gap_prob=0.0, backpressure_prob=0.0, ii_frames=0
                )
                report = simulate_build(build, codes, sim_cfg)
                phase = report.phases[0]
                print(
                    f"| {info['initiation_interval']} | {lanes:,} | {simulator} | {phase.frames} "
                    f"| {phase.frames / phase.wall_seconds:,.1f} "
                    f"| {phase.cycles / phase.wall_seconds:,.0f} | {report.seconds:.1f} "
                    f"| {'yes' if report.ok else 'NO'} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
