"""C-simulation speed (L3) of the generated HLS code for the digits MLP (64-128-128-10) at
several foldings: g++ compile time and frames/s of hwbnn_top, each run checked exactly against
the reference.

Usage: python benchmarks/csim_speed.py [--cycles 0 1024 128 16] [--repeat 10]
Cycles 0 is the default folding (PE = SIMD = 1 everywhere); others are `--target-cycles`.
The models have random weights and BatchNorm statistics (speed does not depend on training);
inputs are the digits test split (360 images) repeated `--repeat` times. Frames/s is the time
spent in hwbnn_top alone (the testbench's own clock), best of 3 runs.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from hwbnn.codegen.csim import build_csim, verify_csim
from hwbnn.data import load_digits
from hwbnn.export import export_qonnx_model
from hwbnn.flow import CompileConfig, compile_onnx
from hwbnn.ir.serialize import load_network
from hwbnn.nn import build_model, mlp_config
from hwbnn.reference import to_codes


def random_digits_model(input_mode: str, onnx_path: Path) -> None:
    data = load_digits()
    torch.manual_seed(0)
    config = mlp_config(
        "digits-mlp", data.image_shape, data.classes, data.levels, data.input_bits, input_mode
    )
    model = build_model(config).eval()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.running_mean.uniform_(-8, 8)
                module.running_var.uniform_(20, 200)
    export_qonnx_model(model, onnx_path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, nargs="+", default=[0, 1024, 128, 16])
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    x = load_digits().x_test
    x = np.concatenate([x] * args.repeat)
    print(f"digits-mlp (64-128-128-10), {len(x)} frames per run")
    print("| input | target cycles | PE/SIMD per layer | II cycles | compile s | C-sim frames/s |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("binary", "integer"):
            onnx_path = Path(tmp) / f"{mode}.onnx"
            random_digits_model(mode, onnx_path)
            for cycles in args.cycles:
                build = Path(tmp) / f"{mode}-{cycles}"
                cfg = CompileConfig(target="hls", target_cycles=cycles or None)
                info = compile_onnx(onnx_path, build, cfg)
                start = time.perf_counter()
                build_csim(build)
                compile_seconds = time.perf_counter() - start
                net = load_network(build)
                codes = to_codes(net.input, x)
                reports = [verify_csim(build, net, codes) for _ in range(3)]
                assert all(r.ok for r in reports), reports[0].first_mismatch
                rate = max(r.frames_per_second for r in reports)
                folds = " ".join(f"{layer['pe']}/{layer['simd']}" for layer in info["layers"])
                print(
                    f"| {mode} | {cycles or 'default'} | {folds} | "
                    f"{info['initiation_interval']} | {compile_seconds:.1f} | {rate:,.0f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
