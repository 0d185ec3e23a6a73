"""Digits test accuracy of the zoo models (MLPs and digits-cnn), verified through L0-L2 on the
whole test split.

Usage: python benchmarks/digits_accuracy.py [--epochs 30] [--seed 0] [--models digits-cnn,tfc]
Prints a Markdown table (model, shape, input mode, test accuracy, L2 == L0, training time).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from hwbnn.data import load_digits
from hwbnn.export import load_qonnx
from hwbnn.frontend.lower import lower
from hwbnn.nn import CONV_SHAPES, MLP_SHAPES
from hwbnn.pipeline.steps import export_checkpoint, train_to_dir
from hwbnn.train import TrainConfig, load_checkpoint
from hwbnn.verify.ladder import run_ladder

DIGITS_MODELS = ("digits-mlp", "tfc", "sfc", "lfc", "digits-cnn")


def describe(name: str) -> str:
    """Hidden widths of an MLP; conv stages (channels, p = -1 padding, mpK = max pool) and dense
    widths of a conv net."""
    if name in MLP_SHAPES:
        return "x".join(str(w) for w in MLP_SHAPES[name])
    stages, dense = CONV_SHAPES[name]
    parts = []
    for s in stages:
        parts.append(f"{s.channels}{'p' if s.padding else ''}")
        if s.pool > 1:
            parts.append(f"mp{s.pool}")
    return f"conv {'-'.join(parts)}; dense {'x'.join(map(str, dense)) or '-'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", default=",".join(DIGITS_MODELS), help="comma-separated")
    parser.add_argument("--modes", default="binary,integer", help="input modes, comma-separated")
    args = parser.parse_args()
    data = load_digits()
    print("| model | shape | input | test accuracy | L2 labels == L0 | train time (s) |")
    print("|---|---|---|---|---|---|")
    for name in args.models.split(","):
        for mode in args.modes.split(","):
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp)
                start = time.perf_counter()
                cfg = TrainConfig(epochs=args.epochs, seed=args.seed, progress=False)
                info = train_to_dir(out, name, "digits", None, mode, None, cfg)
                seconds = time.perf_counter() - start
                export_checkpoint(out / "model.pt", out / "model.onnx", None)
                net = lower(load_qonnx(out / "model.onnx"))
                model, _ = load_checkpoint(out / "model.pt")
                report = run_ladder(net, data.x_test, data.y_test, model)
            print(
                f"| {name} | {describe(name)} | {mode} | {info['test_accuracy']:.4f} | "
                f"{'yes' if report.ok else 'NO'} | {seconds:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
