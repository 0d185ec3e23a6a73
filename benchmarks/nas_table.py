"""What binarized architecture search finds, and what it costs on an FPGA: issue 19's table.

Rows: the networks ``hwbnn search`` finds with ``bnas`` and ``cpnas``, each without and with
the hardware cost term (``--cost-weight``), beside the hand-designed digits-cnn. For every row
and seed: the search on digits in its default small configuration (timed), then ``hwbnn.run``
of the found genotype (or of digits-cnn): train ``--epochs`` epochs, export, compile at
``--cycles`` cycles/frame, L0 == L1 == L2 on the whole test split, RTL simulation of
``--frames`` test images under random gaps and backpressure (the Verilator harness) exact
against the reference, and yosys synthesis of the generated ``hwbnn_top`` for ECP5 (LUT4
slots: LUT4 + 2 per CCU2C + 4 per TRELLIS_DPR16X4; no place and route). Accuracy is the mean
and standard deviation over the seeds; LUT4, cycles/frame and search minutes are given per
seed, as each seed finds its own cell.

    python benchmarks/nas_table.py --out /work/scratch/nas [--seeds 0 1 2] [--epochs 10]
        [--cycles 1024] [--cost-weight 0.03] [--rows digits-cnn,bnas,bnas+cost,cpnas,cpnas+cost]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import torch

import hwbnn
from hwbnn.fpga.boards import Family
from hwbnn.fpga.estimate_check import synthesize_top
from hwbnn.pipeline.config import CompileOptions, RunConfig, SimOptions, TrainOptions

#: row name -> (search method or None for the hand-designed net, with the cost term)
ROWS: dict[str, tuple[str | None, bool]] = {
    "digits-cnn": (None, False),
    "bnas": ("bnas", False),
    "bnas+cost": ("bnas", True),
    "cpnas": ("cpnas", False),
    "cpnas+cost": ("cpnas", True),
}


def search(out: Path, method: str, cost: bool, seed: int, args: argparse.Namespace) -> dict:
    """Run ``hwbnn search`` into ``out`` (unless its genotype exists); the genotype's search
    record (wall time, the cells' estimated LUTs)."""
    if (out / "genotype.json").is_file():
        return json.loads((out / "genotype.json").read_text())["search"]
    argv = ["search", "--method", method, "--dataset", "digits", "--seed", str(seed)]
    argv += ["--cycles", str(args.cycles), "--out", str(out), "--json"]
    if cost:
        argv += ["--cost-weight", str(args.cost_weight)]
    subprocess.run([sys.executable, "-m", "hwbnn.cli", *argv], check=True, capture_output=True)
    return json.loads((out / "genotype.json").read_text())["search"]


def run_point(out: Path, genotype: Path | None, seed: int, args: argparse.Namespace) -> dict:
    """Train, verify, simulate and synthesize one network; its row values."""
    train = (
        TrainOptions(genotype=genotype, epochs=args.epochs, seed=seed)
        if genotype is not None
        else TrainOptions(model="digits-cnn", epochs=args.epochs, seed=seed)
    )
    cfg = RunConfig(
        out=out,
        train=train,
        compile=CompileOptions(target_cycles=args.cycles),
        sim=SimOptions(frames=args.frames, fast=True),
    )
    result = hwbnn.run(cfg, stop="simulate", say=lambda _: None, progress=False)
    steps = {s.name: s for s in result.steps}
    sim = steps["simulate"].summary
    plan = json.loads((out / "plan.json").read_text())
    synth = synthesize_top(out, Family.ECP5, out / "synth")
    return {
        "seed": seed,
        "accuracy": steps["train"].summary["test_accuracy"],
        "ladder_exact": "verify" in steps,  # the verify step raises on any mismatch
        "rtl_exact": sim["mismatches"] == 0,
        "rtl_frames": sim["frames"],
        "cycles": plan["initiation_interval"],
        "lut4": synth.luts,
        "ff": synth.ffs,
        "bram": synth.brams,
    }


def _per_seed(runs: list[dict[str, Any]], key: str) -> str:
    return " / ".join(f"{r[key]:,}" for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="work directory (not /tmp)")
    parser.add_argument("--epochs", type=int, default=10, help="training epochs of every row")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cycles", type=int, default=1024, help="target cycles/frame")
    parser.add_argument("--cost-weight", type=float, default=0.03, help="of the +cost rows")
    parser.add_argument("--frames", type=int, default=20, help="RTL-simulated test images")
    parser.add_argument("--rows", default=",".join(ROWS), help=f"of {', '.join(ROWS)}")
    args = parser.parse_args()
    names = args.rows.split(",")
    unknown = sorted(set(names) - set(ROWS))
    if unknown:
        parser.error(f"unknown rows {unknown}; choose from {', '.join(ROWS)}")
    torch.set_num_threads(1)
    print(
        f"digits, {args.epochs} training epochs, seeds {args.seeds}, {args.cycles:,} "
        f"cycles/frame target, cost weight {args.cost_weight}\n"
    )
    print(
        "| network | test accuracy (mean ± std) | L0 = L1 = L2, RTL exact | LUT4 (yosys) "
        "| FF | cycles/frame | cells' estimated LUTs (search) | search minutes |"
    )
    print("|---|---|---|---|---|---|---|---|")
    results: dict[str, list[dict[str, Any]]] = {}
    for name in names:
        method, cost = ROWS[name]
        runs = []
        for seed in args.seeds:
            point = args.out / f"{name}-s{seed}"
            record, genotype = None, None
            if method is not None:
                record = search(point / "search", method, cost, seed, args)
                genotype = point / "search" / "genotype.json"
            row = run_point(point / "build", genotype, seed, args)
            row["search"] = record
            runs.append(row)
        results[name] = runs
        accs = [r["accuracy"] for r in runs]
        std = statistics.stdev(accs) if len(accs) > 1 else 0.0
        exact = all(r["ladder_exact"] and r["rtl_exact"] for r in runs)
        minutes = (
            " / ".join(f"{r['search']['wall_time_s'] / 60:.1f}" for r in runs) if method else "-"
        )
        estimated = (
            " / ".join(f"{r['search']['estimated_cell_luts']:,}" for r in runs) if method else "-"
        )
        lut4, ff, cycles = (_per_seed(runs, key) for key in ("lut4", "ff", "cycles"))
        print(
            f"| {name} | {statistics.fmean(accs):.4f} ± {std:.4f} | {'yes' if exact else 'NO'} "
            f"| {lut4} | {ff} | {cycles} | {estimated} | {minutes} |",
            flush=True,
        )
    (args.out / "nas_table.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
