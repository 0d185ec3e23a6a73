"""Digits test accuracy of the zoo models (MLPs and digits-cnn), verified through L0-L2 on the
whole test split.

Each row is ``hwbnn.run`` up to the compile step (train, export, lower to the IR), then
``Build.verify("L2")``: L0 (torch), L1 (execute_onnx) and L2 (reference) agree exactly on the
whole digits test split.

Usage: python benchmarks/digits_accuracy.py [--epochs 30] [--seed 0] [--models digits-cnn,tfc]
Prints a Markdown table (model, shape, input mode, test accuracy, L2 == L0, training time).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import hwbnn
from hwbnn.nn import CONV_SHAPES, MLP_SHAPES
from hwbnn.pipeline.config import BitstreamOptions, CompileOptions, RunConfig, TrainOptions

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


def run_row(out: Path, name: str, mode: str, epochs: int, seed: int) -> tuple[float, bool, float]:
    """(test accuracy, L0 == L1 == L2 on the whole test split, training seconds)."""
    train = TrainOptions(model=name, dataset="digits", input_mode=mode, epochs=epochs, seed=seed)
    cfg = RunConfig(
        out=out,
        train=train,
        compile=CompileOptions(target="ir"),
        bitstream=BitstreamOptions(board=None),
    )
    result = hwbnn.run(cfg, stop="compile", say=lambda _: None, progress=False)
    trained = next(s for s in result.steps if s.name == "train")
    records = result.build.verify("L2", dataset="digits", check=False)
    exact = len(records) == 3 and all(r.ok for r in records)
    return trained.summary["test_accuracy"], exact, trained.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", default=",".join(DIGITS_MODELS), help="comma-separated")
    parser.add_argument("--modes", default="binary,integer", help="input modes, comma-separated")
    args = parser.parse_args()
    print("| model | shape | input | test accuracy | L2 labels == L0 | train time (s) |")
    print("|---|---|---|---|---|---|")
    for name in args.models.split(","):
        for mode in args.modes.split(","):
            with tempfile.TemporaryDirectory() as tmp:
                accuracy, exact, seconds = run_row(Path(tmp), name, mode, args.epochs, args.seed)
            print(
                f"| {name} | {describe(name)} | {mode} | {accuracy:.4f} | "
                f"{'yes' if exact else 'NO'} | {seconds:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
