"""Our MLPs and CNV on ECP5-85F (ULX3S-85F) beside FINN SFC-max and BNN-PYNQ LFC/CNV-w1a1.

Each network has random weights and thresholds (hwbnn.sim.random_nets: the hardware cost does
not depend on the values): TFC/SFC/LFC-shaped MLPs on a 28x28 input of 8-bit pixels binarized
by an input-threshold unit, as FINN's TFC/SFC/LFC-w1a1, and CNV's geometry on 32x32x3 8-bit
codes. For every folding target the folding chooser picks PE/SIMD (least estimated LUTs on the
ECP5-85F, as ``hwbnn compile`` does), ``hwbnn bitstream --board ulx3s-85f`` runs yosys +
nextpnr with a timing target of ``--clock-mhz``, and the table gets the nextpnr counts (LUT4
slots, FFs, DP16KD), the achieved clock, cycles/frame, frames/s at the achieved clock and
frames/s per LUT, beside the analytical estimate and the published rows (LUT6s, with the
accuracy of each topology when trained; ours have random weights). Configurations that do not
fit or that exceed the time budget are listed as such.

    python benchmarks/bitstream_resources.py --out /tmp/bench [--only tfc,sfc,lfc,cnv]
        [--budget-s 10800] [--targets 1,2]

The table's heading names the commit (``+changes`` when the work tree differs from it);
``results.json`` in ``--out`` keeps it with the rows. A configuration stopped by the budget
keeps nextpnr's packed cell count when place and route had begun.

Published references (Xilinx LUT6s; an ECP5 LUT4 holds less logic): FINN SFC-max 12.3 M
frames/s with 91,131 LUTs at 200 MHz on a ZC706 (Umuroglu et al., FPGA 2017); BNN-PYNQ
LFC-w1a1 356,633 frames/s with 28,360 LUTs and CNV-w1a1 9,150 frames/s with 26,072 LUTs at
100 MHz on a PYNQ-Z1.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from pathlib import Path
from typing import Any

import numpy as np

SHAPES = {
    "tfc": (64, 64, 64),
    "sfc": (256, 256, 256),
    "lfc": (1024, 1024, 1024),
}
#: cycles/frame targets per network: fully folded first, then more parallel, down to issue 16's
#: fully parallel points (TFC at 1 cycle/frame, SFC at 16)
TARGETS = {
    "tfc": (3136, 784, 1),  # fully folded: the chooser takes 3,136 (cheaper than SIMD 1)
    "sfc": (65536, 4096, 1024, 16),
    "lfc": (65536, 4096, 512),  # the chooser takes 65,536 for any slower target
    "cnv": (16384,),  # the fastest that routed (4,800-7,200 with MMV did not: docs/benchmarks.md)
}
#: published designs: name, LUTs (LUT6), MHz, frames/s, accuracy of the topology (the
#: Brevitas retraining of BNN-PYNQ's networks, brevitas/src/brevitas_examples/bnn_pynq/README.md)
PUBLISHED = [
    ("FINN SFC-max (ZC706)", 91131, 200.0, 12.3e6, "97.81% (SFC_1W1A, MNIST)"),
    ("BNN-PYNQ LFC-w1a1 (PYNQ-Z1)", 28360, 100.0, 356633.0, "98.88% (LFC_1W1A, MNIST)"),
    ("BNN-PYNQ CNV-w1a1 (PYNQ-Z1)", 26072, 100.0, 9150.0, "84.22% (CNV_1W1A, CIFAR-10)"),
]
#: accuracy of our rows' topologies when trained (the weights here are random)
TOPOLOGY_ACCURACY = {
    "tfc": "93.17% (TFC_1W1A)",
    "sfc": "97.81% (SFC_1W1A)",
    "lfc": "98.88% (LFC_1W1A)",
    "cnv": "84.22% (CNV_1W1A)",
}


def plan(name: str, target: int) -> tuple[Any, Any, dict[str, Any]]:
    """The random network, the chooser's folding for ``target`` and the row's plan columns
    (interval, folding, estimate)."""
    from hwbnn.fpga.boards import LFE5U_85F
    from hwbnn.fpga.estimate import estimate
    from hwbnn.fpga.estimate_cost import estimate_cost
    from hwbnn.ir.folding import choose_folding
    from hwbnn.sim.random_nets import random_cnv, random_mlp

    rng = np.random.default_rng(0)
    if name == "cnv":  # CNV's geometry on 32x32x3 8-bit codes
        net = random_cnv(rng)
    else:
        net = random_mlp(rng, 784, SHAPES[name], 10, input_shape=(28, 28))
    folding = choose_folding(net, target, estimate_cost(net, LFE5U_85F))
    est = estimate(net, folding, LFE5U_85F)
    row: dict[str, Any] = {
        "net": name,
        "target": target,
        "cycles": est.initiation_interval,
        "folding": [(f.pe, f.simd) for f in folding.layers],
        "estimate_luts": est.luts,
        "estimate_brams": est.brams,
    }
    return net, folding, row


def run_one(
    planned: tuple[Any, Any, dict[str, Any]], out: Path, clock_mhz: float
) -> dict[str, Any]:
    """Build, synthesize, place and route one :func:`plan`; its row with nextpnr's counts."""
    from hwbnn.errors import HwbnnError
    from hwbnn.fpga.bitstream import BitstreamConfig, run_bitstream_flow
    from hwbnn.fpga.synthetic import write_network_build

    net, folding, row = planned
    row = dict(row)
    build = write_network_build(net, folding, out / f"{row['net']}-{row['target']}")
    start = time.perf_counter()
    try:
        report = run_bitstream_flow(build, BitstreamConfig("ulx3s-85f", clock_mhz=clock_mhz))
    except HwbnnError as exc:
        row["error"] = str(exc)
        row["seconds"] = round(time.perf_counter() - start)
        return row
    res = report["resources"]
    fmax = report["clock"]["achieved_mhz"]
    row.update(
        luts=res["lut"]["used"],
        ffs=res["ff"]["used"],
        brams=res["bram"]["used"],
        fmax_mhz=fmax,
        fps=fmax * 1e6 / row["cycles"],
        seconds=round(time.perf_counter() - start),
    )
    return row


def _worker(args: tuple[tuple[Any, Any, dict[str, Any]], Path, float], queue: Any) -> None:
    """run_one, its row put on ``queue``. The parent stops it with SIGTERM when the budget is
    spent: the guard turns that into KeyboardInterrupt, so subprocess.run kills yosys or
    nextpnr and the flow cleans up (without it the tool outlived the worker, still running)."""
    from hwbnn.cli.interrupts import interrupt_guard

    with interrupt_guard() as guard:
        try:
            queue.put(run_one(*args))
        except KeyboardInterrupt as exc:
            guard.acknowledge(exc)
        except Exception as exc:  # reported in the row instead of a bare "died"
            queue.put({"error": f"{type(exc).__name__}: {exc}"})
            raise


def packed_cells(work: Path) -> dict[str, Any]:
    """nextpnr's utilisation after packing from the newest unfinished flow directory under
    ``work`` (``Device utilisation`` comes before placement), for a run stopped by the budget."""
    from hwbnn.fpga.nextpnr import read_report

    logs = sorted(work.glob("bitstream/.*tmp*/pnr.log"), key=lambda p: p.stat().st_mtime)
    if not logs:
        return {}
    util = read_report(logs[-1].with_name("pnr_report.json"), logs[-1].read_text()).utilization
    comb = util.get("TRELLIS_COMB")
    return {"packed_luts": comb["used"], "available_luts": comb["available"]} if comb else {}


def run_with_budget(name: str, target: int, out: Path, clock: float, budget: float) -> dict:
    """run_one in a child process, stopped after ``budget`` seconds (the row then keeps the
    plan's columns and the packed cell count if place and route had begun)."""
    planned = plan(name, target)  # once: the forked child gets it as it is
    queue: Any = multiprocessing.Queue()
    proc = multiprocessing.Process(target=_worker, args=((planned, out, clock), queue))
    proc.start()
    proc.join(budget)
    if proc.is_alive():
        packed = packed_cells(out / f"{name}-{target}")
        proc.terminate()
        proc.join(60)
        if proc.is_alive():
            proc.kill()
            proc.join()
        return {**planned[2], "error": f"over the {budget:.0f} s budget", **packed}
    if queue.empty():
        return {**planned[2], "error": f"the child process died (exit code {proc.exitcode})"}
    return {**planned[2], **queue.get()}


def commit() -> str:
    """The commit the rows come from (with "+changes" when the work tree differs from it)."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=root,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return f"{head or 'unknown'}{' +changes' if dirty else ''}"


def table(rows: list[dict[str, Any]]) -> str:
    """Our rows (nextpnr's counts) beside the published ones; frames/s per LUT is frames/s
    over the LUT count of its kind (an ECP5 LUT4 slot holds less logic than a LUT6)."""
    lines = [
        "| design | cycles/frame | PE,SIMD per layer | LUTs | FF | block RAM | est. LUT / BRAM "
        "| Fmax MHz | frames/s | frames/s per LUT | accuracy (trained topology) | run s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        fold = " ".join(f"{p},{s}" for p, s in r.get("folding", []))
        est = f"{r['estimate_luts']:,} / {r['estimate_brams']}" if "estimate_luts" in r else "-"
        name = f"{r['net']} at {r['target']:,} (ULX3S-85F)"
        accuracy = f"random weights; {TOPOLOGY_ACCURACY[r['net']]}"
        if "error" in r:
            packed = "-"
            if "packed_luts" in r:
                share = 100 * r["packed_luts"] / r["available_luts"]
                packed = f"{r['packed_luts']:,} LUT4 packed ({share:.0f}%)"
            cycles = f"{r['cycles']:,}" if "cycles" in r else "-"
            lines.append(
                f"| {name} | {cycles} | {fold} | {packed} | - | - | {est} | - | - "
                f"| - | {accuracy} | {r.get('seconds', '-')} ({r['error']}) |"
            )
            continue
        lines.append(
            f"| {name} | {r['cycles']:,} | {fold} | {r['luts']:,} LUT4 | {r['ffs']:,} "
            f"| {r['brams']} DP16KD | {est} | {r['fmax_mhz']:.1f} | {r['fps']:,.0f} "
            f"| {r['fps'] / r['luts']:,.1f} | {accuracy} | {r['seconds']:,} |"
        )
    for name, luts, mhz, fps, accuracy in PUBLISHED:
        lines.append(
            f"| {name} | | | {luts:,} LUT6 | | | | {mhz:.0f} | {fps:,.0f} "
            f"| {fps / luts:,.1f} | {accuracy} | |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="directory for the builds")
    parser.add_argument("--only", default="tfc,sfc,lfc,cnv", help="comma-separated networks")
    parser.add_argument("--clock-mhz", type=float, default=100.0, help="nextpnr timing target")
    parser.add_argument(
        "--budget-s", type=float, default=10800.0, help="per configuration (TFC at 1 takes hours)"
    )
    parser.add_argument(
        "--targets", help="cycles/frame targets instead of the defaults, e.g. 1,2 (every net)"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    source = commit()  # at the start: the rows are built from this tree, whatever comes later
    rows = []
    for name in args.only.split(","):
        targets = [int(t) for t in args.targets.split(",")] if args.targets else TARGETS[name]
        for target in targets:
            row = run_with_budget(name, target, args.out, args.clock_mhz, args.budget_s)
            print(json.dumps(row), flush=True)
            rows.append(row)
    results = {"commit": source, "clock_mhz": args.clock_mhz, "rows": rows}
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"commit {results['commit']}, nextpnr timing target {args.clock_mhz:g} MHz")
    print(table(rows))


if __name__ == "__main__":
    main()
