"""What DBF and CI-BCNN buy and cost on an FPGA: issue 18's table.

Rows: plain digits-cnn, ``dbf`` with two basis counts M and ``ci_bcnn``, each trained with the
same epochs and seeds on digits (``hwbnn.run``: train, export, compile, L0 == L1 == L2 on the
whole test split). Accuracy is the mean and standard deviation over the seeds. For the first
seed the whole flow runs to hardware at the same cycles/frame for every row: RTL simulation of
``--frames`` test images under random gaps and backpressure (exact against the reference, the
measured cycles/frame beside the analytical one), then yosys + nextpnr for ULX3S-85F at 100 MHz:
yosys' LUT4 slots (LUT4 + 2 per CCU2C + 4 per TRELLIS_DPR16X4), flip-flops and DP16KD of the
board top, nextpnr's Fmax, and the bits of the weight memories the plan stores.

    python benchmarks/structured_methods.py --out /work/scratch/methods_hw [--epochs 10]
        [--seeds 0 1 2] [--cycles 2304] [--frames 100] [--rows plain,dbf8,dbf32,ci_bcnn]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import torch

import hwbnn
from hwbnn.fpga.boards import Family
from hwbnn.fpga.estimate_check import count_cells
from hwbnn.pipeline.config import (
    BitstreamOptions,
    CompileOptions,
    RunConfig,
    SimOptions,
    TrainOptions,
)

#: row name -> (label, methods)
ROWS: dict[str, tuple[str, tuple[tuple[str, tuple[str, ...]], ...]]] = {
    "plain": ("digits-cnn (clipped STE)", ()),
    "dbf8": ("dbf bases=8", (("dbf", ("bases=8",)),)),
    "dbf32": ("dbf bases=32", (("dbf", ("bases=32",)),)),
    "ci_bcnn": ("ci_bcnn", (("ci_bcnn", ()),)),
}


def run_row(
    out: Path, methods: tuple[tuple[str, tuple[str, ...]], ...], args: argparse.Namespace, seed: int
) -> dict[str, Any]:
    """Train and verify one (row, seed); the first seed also simulates and builds the bitstream."""
    hardware = seed == args.seeds[0]
    cfg = RunConfig(
        out=out,
        train=TrainOptions(model="digits-cnn", epochs=args.epochs, seed=seed, methods=methods),
        compile=CompileOptions(target_cycles=args.cycles),
        sim=SimOptions(frames=args.frames, fast=args.fast),
        bitstream=BitstreamOptions(board="ulx3s-85f" if hardware else None, clock_mhz=100.0),
    )
    start = time.monotonic()
    result = hwbnn.run(cfg, stop=None if hardware else "verify", say=lambda _: None, progress=False)
    steps = {s.name: s for s in result.steps}
    row: dict[str, Any] = {
        "seed": seed,
        "accuracy": steps["train"].summary["test_accuracy"],
        "ladder_exact": "verify" in steps,  # the verify step raises on any mismatch
        "seconds": time.monotonic() - start,
    }
    if not hardware:
        return row
    sim = steps["simulate"].summary
    plan = json.loads((out / "plan.json").read_text())
    report = steps["bitstream"].summary
    lut4, ff, bram = count_cells(report["yosys_cells"], Family.ECP5)
    row.update(
        rtl_frames=sim["frames"],
        rtl_exact=sim["mismatches"] == 0,
        cycles_measured=sim.get("cycles_per_frame"),
        cycles_analytical=plan["initiation_interval"],
        weight_bits=sum(
            u[m]["depth"] * u[m]["lanes"] * u[m]["lane_bits"]
            for u in plan["units"]
            for m in ("weights",)
            if u.get(m)
        ),
        lut4=lut4,
        ff=ff,
        bram=bram,
        fmax_mhz=report["clock"]["achieved_mhz"],
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="work directory (not /tmp)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cycles", type=int, default=2304, help="target cycles/frame (all rows)")
    parser.add_argument("--frames", type=int, default=100, help="RTL-simulated test images")
    parser.add_argument("--fast", action="store_true", help="simulate in the Verilator harness")
    parser.add_argument("--rows", default=",".join(ROWS), help=f"of {', '.join(ROWS)}")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()
    names = args.rows.split(",")
    unknown = sorted(set(names) - set(ROWS))
    if unknown:
        parser.error(f"unknown rows {unknown}; choose from {', '.join(ROWS)}")
    torch.set_num_threads(args.threads)
    print(
        f"digits, {args.epochs} epochs, seeds {args.seeds}; hardware of seed {args.seeds[0]} at "
        f"{args.cycles:,} cycles/frame target, ULX3S-85F at 100 MHz\n"
    )
    print(
        "| method | test accuracy (mean ± std) | L0 = L1 = L2 | RTL exact (frames) "
        "| cycles/frame measured / analytical | LUT4 | FF | DP16KD | weight bits | Fmax MHz |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    results = {}
    for name in names:
        label, methods = ROWS[name]
        runs = [run_row(args.out / f"{name}-s{s}", methods, args, s) for s in args.seeds]
        results[name] = runs
        accs = [r["accuracy"] for r in runs]
        std = statistics.stdev(accs) if len(accs) > 1 else 0.0
        hw = runs[0]
        measured = hw["cycles_measured"]
        cycles = f"{measured:,.0f}" if measured is not None else "n/a"
        print(
            f"| {label} | {statistics.fmean(accs):.4f} ± {std:.4f} "
            f"| {'yes' if all(r['ladder_exact'] for r in runs) else 'NO'} "
            f"| {'yes' if hw['rtl_exact'] else 'NO'} ({hw['rtl_frames']}) "
            f"| {cycles} / {hw['cycles_analytical']:,} | {hw['lut4']:,} | {hw['ff']:,} "
            f"| {hw['bram']} | {hw['weight_bits']:,} | {hw['fmax_mhz']:.1f} |",
            flush=True,
        )
    (args.out / "structured_methods.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
