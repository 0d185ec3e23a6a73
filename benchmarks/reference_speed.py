"""Images/s of the packed NumPy reference (L2) vs qonnx execute_onnx (L1) vs the Brevitas torch
forward (L0), on the same SFC-shaped MLP (784-256-256-256-10, binarized input), same batch.

Usage: python benchmarks/reference_speed.py [--batches 1 100 1000 10000] [--repeats 3] [--mnist DIR]
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
from hwbnn.frontend.lower import lower
from hwbnn.nn import build_model, mlp_config
from hwbnn.reference import Reference
from hwbnn.verify.ladder import run_ladder


def _best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 100, 1000, 10000])
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
    n = max(args.batches)
    if args.mnist:
        pool = load_mnist(args.mnist).x_test
        x_all = pool[np.arange(n) % len(pool)]
    else:
        rng = np.random.default_rng(0)
        x_all = code_values(256)[rng.integers(0, 256, (n, 1, 28, 28))]
    with tempfile.TemporaryDirectory() as tmp:
        qmodel = export_qonnx_model(model, Path(tmp) / "sfc.onnx")
    net = lower(qmodel)
    reference = Reference(net)
    print(f"SFC-shaped MLP (784-256-256-256-10), torch threads {torch.get_num_threads()}")
    print(
        "| batch | reference (L2) img/s | execute_onnx (L1) img/s | torch (L0) img/s "
        "| L2 / L1 | L2 / L0 |"
    )
    print("|---|---|---|---|---|---|")
    for batch in args.batches:
        x = x_all[:batch]
        assert all(r.ok for r in run_ladder(net, x, None, model, qmodel)), "L0/L1/L2 disagree"
        xt = torch.from_numpy(x)

        def torch_forward(xt=xt) -> None:
            with torch.no_grad():
                model(xt)

        ref = batch / _best(lambda x=x: reference.run(x), args.repeats)
        onnx_rate = batch / _best(lambda x=x: run_qonnx(qmodel, x, len(x)), args.repeats)
        torch_rate = batch / _best(torch_forward, args.repeats)
        print(
            f"| {batch} | {ref:,.0f} | {onnx_rate:,.0f} | {torch_rate:,.0f} | "
            f"{ref / onnx_rate:.1f}x | {ref / torch_rate:.1f}x |",
            flush=True,
        )


if __name__ == "__main__":
    main()
