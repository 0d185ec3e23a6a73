"""Images/s of the packed NumPy reference (L2) vs qonnx execute_onnx (L1) vs the Brevitas torch
forward (L0), on the same SFC-shaped MLP (784-256-256-256-10, binarized input), same batch.

Usage: python benchmarks/reference_speed.py [--batch 1000] [--repeats 3] [--mnist DIR]
The model has random weights and BatchNorm statistics (speed does not depend on training).
Inputs are MNIST test images when --mnist is given, else random 8-bit codes.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from hwbnn.data import code_values, load_mnist
from hwbnn.export import export_qonnx_model, run_qonnx
from hwbnn.ir.lower import lower
from hwbnn.ladder import run_ladder
from hwbnn.nn import build_model, mlp_config
from hwbnn.reference import Reference


def _best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--mnist", type=Path)
    args = parser.parse_args()
    torch.manual_seed(0)
    config = mlp_config("sfc", (1, 28, 28), 10, 256, 8, "binary")
    model = build_model(config).eval()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.running_mean.uniform_(-8, 8)
                module.running_var.uniform_(20, 200)
    if args.mnist:
        x = load_mnist(args.mnist).x_test[: args.batch]
    else:
        rng = np.random.default_rng(0)
        x = code_values(256)[rng.integers(0, 256, (args.batch, 1, 28, 28))]
    with tempfile.TemporaryDirectory() as tmp:
        qmodel = export_qonnx_model(model, Path(tmp) / "sfc.onnx")
    net = lower(qmodel)
    assert run_ladder(net, x, None, model, qmodel).ok, "L0/L1/L2 disagree"
    reference = Reference(net)
    xt = torch.from_numpy(x)

    def torch_forward() -> None:
        with torch.no_grad():
            model(xt)

    rates = {
        "reference (L2, packed NumPy)": len(x) / _best(lambda: reference.run(x), args.repeats),
        "execute_onnx (L1, qonnx)": len(x) / _best(lambda: run_qonnx(qmodel, x, len(x)), 1),
        "torch forward (L0, Brevitas)": len(x) / _best(torch_forward, args.repeats),
    }
    base = rates["execute_onnx (L1, qonnx)"]
    print(f"SFC-shaped MLP, batch {len(x)}, torch threads {torch.get_num_threads()}")
    print("| engine | images/s | vs execute_onnx |")
    print("|---|---|---|")
    for name, rate in rates.items():
        print(f"| {name} | {rate:,.0f} | {rate / base:.1f}x |")


if __name__ == "__main__":
    main()
