"""C-simulation speed (L3) of the generated HLS code at several foldings: g++ compile time and
frames/s of hwbnn_top, each run checked exactly against the reference.

Usage: python benchmarks/csim_speed.py [--cycles 0 1024 128 16] [--repeat 10]
           [--conv-cycles 0 4096 576] [--cnv-cycles 50000 20000 10000] [--cnv-frames 10]
           [--only mlp conv]

- mlp: the digits MLP (64-128-128-10) exported from Brevitas with random weights and BatchNorm
  statistics, binary and integer input, on the digits test split (360 images) repeated
  `--repeat` times, at `--cycles`; through the API (``hwbnn.compile(..., target="hls")``,
  ``Build.csim``).
- conv: random conv nets built as IR (hwbnn.sim.random_nets; speed does not depend on
  training): digits-cnn-shaped (8x8 digits binarized from 17 levels, 3x3 convolutions 16 and 16
  with -1 padding, 2x2 OR pool, 3x3 convolution 32, dense 10) on the digits test split repeated
  `--repeat` times, at `--conv-cycles`; CNV-shaped (FINN's CNV: (3, 32, 32) 8-bit pixels into
  the first convolution, 3x3 convolutions 64, 64, pool 2, 128, 128, pool 2, 256, 256, dense 512,
  512, 10) on `--cnv-frames` random images, at `--cnv-cycles`.

Cycles 0 is the default folding (PE = SIMD = 1 everywhere); others are the folding chooser's
`--target-cycles`. Frames/s is the time spent in hwbnn_top alone (the testbench's own clock),
best of 3 runs; compile s is one g++ build of build/hls/ (no precompiled headers).

The conv rows call hwbnn.codegen.hls and hwbnn.verify.csim directly: the API compiles QONNX
models, and random IRs have none.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import hwbnn
from hwbnn.codegen.hls import generate_hls
from hwbnn.data import load_digits
from hwbnn.export import export_qonnx_model
from hwbnn.ir.folding import Folding, LayerFolding, choose_folding, initiation_interval
from hwbnn.ir.serialize import save_network
from hwbnn.nn import build_model, mlp_config
from hwbnn.reference import to_codes
from hwbnn.sim.csim import build_csim
from hwbnn.sim.random_nets import ConvSpec, random_cnv, random_conv_net
from hwbnn.verify.csim import verify_csim

DIGITS_CNN = [ConvSpec(16, padding=1), ConvSpec(16, padding=1, pool=2), ConvSpec(32)]


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


def timed_csim(build: Path, codes: np.ndarray) -> tuple[float, float]:
    """(compile seconds, best frames/s of 3 runs) of a random-IR build, every run exact against
    the reference."""
    start = time.perf_counter()
    build_csim(build)
    compile_seconds = time.perf_counter() - start
    records = [verify_csim(build, codes) for _ in range(3)]
    assert all(r.ok for r in records), records[0].first_mismatch
    return compile_seconds, max(r.details["frames_per_second"] for r in records)


def mlp_rows(args: argparse.Namespace, tmp: Path) -> None:
    x = load_digits().x_test
    x = np.concatenate([x] * args.repeat)
    print(f"digits-mlp (64-128-128-10), {len(x)} frames per run")
    print("| input | target cycles | PE/SIMD per layer | II cycles | compile s | C-sim frames/s |")
    print("|---|---|---|---|---|---|")
    for mode in ("binary", "integer"):
        onnx_path = tmp / f"{mode}.onnx"
        random_digits_model(mode, onnx_path)
        for cycles in args.cycles:
            build = hwbnn.compile(
                onnx_path, tmp / f"{mode}-{cycles}", target="hls", target_cycles=cycles or None
            )
            # the first run compiles build/hls/ (no precompiled headers), the others reuse it;
            # Build.csim raises VerificationFailed unless the run is exact
            records = [build.csim(x) for _ in range(3)]
            compile_seconds = records[0].details["compile_seconds"]
            rate = max(r.details["frames_per_second"] for r in records)
            folds = " ".join(f"{f.pe}/{f.simd}" for f in build.folding.layers)
            print(
                f"| {mode} | {cycles or 'default'} | {folds} | "
                f"{initiation_interval(build.net, build.folding)} | {compile_seconds:.1f} "
                f"| {rate:,.0f} |",
                flush=True,
            )


def conv_rows(args: argparse.Namespace, tmp: Path) -> None:
    rng = np.random.default_rng(0)
    digits = random_conv_net(rng, (1, 8, 8), DIGITS_CNN, [], 10, 17, binarize_input=True)
    digits_codes = to_codes(digits.input, np.concatenate([load_digits().x_test] * args.repeat))
    cnv = random_cnv(rng)
    cnv_codes = rng.integers(0, 256, size=(args.cnv_frames, cnv.input.elements))
    print("conv nets (random weights); PE/SIMD per layer lists every IR layer (input")
    print("thresholds, sliding windows, MVAUs, pools)")
    print("| net | frames | target cycles | PE/SIMD per layer | II cycles | compile s ", end="")
    print("| C-sim frames/s |")
    print("|---|---|---|---|---|---|---|")
    runs = [("digits-cnn", digits, digits_codes, c) for c in args.conv_cycles]
    runs += [("cnv", cnv, cnv_codes, c) for c in args.cnv_cycles]
    for name, net, codes, cycles in runs:
        if cycles:
            folding = choose_folding(net, cycles)
        else:
            folding = Folding(tuple(LayerFolding(1, 1) for _ in net.layers))
        build = tmp / f"{name}-{cycles}"
        generate_hls(net, folding, build / "model.onnx", build)
        save_network(net, build)  # the reference verify_csim checks against
        compile_seconds, rate = timed_csim(build, codes)
        folds = " ".join(f"{f.pe}/{f.simd}" for f in folding.layers)
        print(
            f"| {name} | {len(codes)} | {cycles or 'default'} | {folds} | "
            f"{initiation_interval(net, folding)} | {compile_seconds:.1f} | {rate:,.1f} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, nargs="+", default=[0, 1024, 128, 16])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--conv-cycles", type=int, nargs="+", default=[0, 4096, 576])
    parser.add_argument("--cnv-cycles", type=int, nargs="+", default=[50000, 20000, 10000])
    parser.add_argument("--cnv-frames", type=int, default=10)
    parser.add_argument("--only", nargs="+", choices=["mlp", "conv"], default=["mlp", "conv"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if "mlp" in args.only:
            mlp_rows(args, Path(tmp))
        if "conv" in args.only:
            conv_rows(args, Path(tmp))


if __name__ == "__main__":
    main()
