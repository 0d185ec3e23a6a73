"""Test accuracy of every training method (hwbnn.train.methods) against the clipped-STE baseline
and the full-precision net of the same topology: mean and standard deviation over seeds, every
binary model verified L2 (IR reference) == L0 (torch) on the whole test split.

Usage: python benchmarks/methods.py [--epochs 10] [--seeds 0 1 2] [--mnist DIR] [--part K/N]
Prints a Markdown table per dataset (digits always; MNIST when DIR holds its training and test
IDX files). Same topology (digits-mlp 128x128, binarized input), epochs, optimiser and seeds for
every row. Each row is ``hwbnn.run`` up to the compile step (train, export, lower to the IR),
then ``Build.verify("L2")`` (L0 == L1 == L2); the full-precision rows stop after training.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import numpy as np
import torch

import hwbnn
from hwbnn.data import Dataset, load_digits, load_mnist
from hwbnn.errors import DataError
from hwbnn.pipeline.config import BitstreamOptions, CompileOptions, RunConfig, TrainOptions

# (row label, methods); cbcn needs a convolutional model and is not in this MLP table
ROWS: list[tuple[str, list[tuple[str, list[str]]]]] = [
    ("clipped STE (baseline)", []),
    ("full precision (fp)", [("fp", [])]),
    ("approxsign", [("approxsign", [])]),
    ("swishsign", [("swishsign", [])]),
    ("xnor", [("xnor", [])]),
    ("xnorpp", [("xnorpp", [])]),
    ("binaryrelax", [("binaryrelax", [])]),
    ("admm", [("admm", [])]),
    ("distribution_loss", [("distribution_loss", [])]),
    ("wq_loss", [("wq_loss", [])]),
    ("projection_loss", [("projection_loss", [])]),
    (
        "projection_loss scale=scalar center=0.01",
        [("projection_loss", ["scale=scalar", "center=0.01"])],
    ),
    ("distill", [("distill", [])]),
    ("distill adversarial=true", [("distill", ["adversarial=true"])]),
    ("bn variant=center", [("bn", ["variant=center"])]),
    ("bn variant=none", [("bn", ["variant=none"])]),
    ("two_stage", [("two_stage", [])]),
    ("bwnh", [("bwnh", [])]),
    (
        "approxsign + distribution_loss + two_stage",
        [("approxsign", []), ("distribution_loss", []), ("two_stage", [])],
    ),
]


def run_row(
    data: Dataset, data_dir: Path | None, methods, epochs: int, seed: int
) -> tuple[float, bool | None, float]:
    """(test accuracy, L2 == L0 on the whole test split (None: not deployable), seconds)."""
    deployable = all(name != "fp" for name, _ in methods)  # fp: the full-precision baseline
    train = TrainOptions(
        model="digits-mlp",
        dataset=data.name,
        data_dir=data_dir,
        input_mode="binary",
        epochs=epochs,
        seed=seed,
        methods=tuple((name, tuple(options)) for name, options in methods),
    )
    with tempfile.TemporaryDirectory() as tmp:
        cfg = RunConfig(
            out=Path(tmp),
            train=train,
            compile=CompileOptions(target="ir"),
            bitstream=BitstreamOptions(board=None),
        )
        stop = "compile" if deployable else "train"
        result = hwbnn.run(cfg, stop=stop, say=lambda _: None, progress=False)
        trained = next(s for s in result.steps if s.name == "train")
        accuracy, seconds = trained.summary["test_accuracy"], trained.seconds
        if not deployable:
            return accuracy, None, seconds
        records = result.build.verify("L2", dataset=data.name, data_dir=data_dir, check=False)
    return accuracy, len(records) == 3 and all(r.ok for r in records), seconds


def table(
    data: Dataset, data_dir: Path | None, epochs: int, seeds: list[int], part: tuple[int, int]
) -> None:
    print(f"\n{data.name}: {len(data.x_test)} test images, {epochs} epochs, seeds {seeds}\n")
    print("| method | test accuracy (mean ± std) | vs clipped STE | L2 labels == L0 | s/run |")
    print("|---|---|---|---|---|")
    baseline: float | None = None
    k, n = part
    rows = [row for i, row in enumerate(ROWS) if i == 0 or i % n == k % n]
    for label, methods in rows:
        runs = [run_row(data, data_dir, methods, epochs, seed) for seed in seeds]
        accs = [r[0] for r in runs]
        mean = statistics.fmean(accs)
        std = statistics.stdev(accs) if len(accs) > 1 else 0.0
        if baseline is None:
            baseline = mean
        verified = [r[1] for r in runs]
        exact = "not deployable" if verified[0] is None else ("yes" if all(verified) else "NO")
        seconds = float(np.mean([r[2] for r in runs]))
        print(
            f"| {label} | {mean:.4f} ± {std:.4f} | {mean - baseline:+.4f} | {exact} | "
            f"{seconds:.0f} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--mnist", type=Path, help="directory of MNIST IDX files (train + test)")
    parser.add_argument(
        "--part",
        default="0/1",
        help="K/N: only rows i with i %% N == K (and the baseline), to split runs over processes",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    args = parser.parse_args()
    try:
        k, n = (int(v) for v in args.part.split("/"))
    except ValueError:
        parser.error(f"--part must be K/N, got {args.part!r}")
    torch.set_num_threads(args.threads)
    mnist = None
    if args.mnist is not None:  # checked before the digits runs: fail fast
        try:
            mnist = load_mnist(args.mnist)
        except DataError as exc:
            parser.error(str(exc))
        if mnist.x_train is None:
            parser.error(
                f"{args.mnist}: MNIST rows need the training split (train-images-idx3-ubyte and "
                f"train-labels-idx1-ubyte, raw or .gz); only the test split is there"
            )
    table(load_digits(), None, args.epochs, args.seeds, (k, n))
    if mnist is not None:
        table(mnist, args.mnist, args.epochs, args.seeds, (k, n))


if __name__ == "__main__":
    main()
