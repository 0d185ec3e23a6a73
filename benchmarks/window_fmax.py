"""Fmax and resources of one rtl/hwbnn_sliding_window on ECP5-85F, out of context, per SIMD.

Each case synthesizes hwbnn_sliding_window alone with the project's ECP5 yosys script
(hwbnn.fpga.yosys) and places and routes it with ``nextpnr-ecp5 --85k --out-of-context`` (no
IO buffers, only register-to-register paths are timed) at a 200 MHz target, which only makes
nextpnr optimize for speed. The table gets nextpnr's LUT4/FF/DP16KD counts and the achieved
clock of ``clk``. The default cases are CNV's first window (32x32x3 8-bit codes, 3x3, no
padding) at SIMD 3 (one position per beat), 9 (a window row per beat, MMV 3) and 27 (the
whole window per beat, MMV 9).

    python benchmarks/window_fmax.py --out /work/scratch/window [--cases 32x32x3x3x3x8,...]

A case is ``HxWxCxKxSIMDxBITS`` (stride 1, no padding).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

DEFAULT_CASES = ("32x32x3x3x3x8", "32x32x3x3x9x8", "32x32x3x3x27x8")
FREQ_MHZ = 200.0


def parse_case(text: str) -> dict[str, int]:
    values = [int(v) for v in text.lower().split("x")]
    if len(values) != 6:
        raise SystemExit(f"case {text!r}: expected HxWxCxKxSIMDxBITS")
    h, w, c, k, simd, bits = values
    return {"IN_H": h, "IN_W": w, "CHANNELS": c, "KERNEL": k, "SIMD": simd, "ELEM_BITS": bits}


def run_case(name: str, params: dict[str, int], out: Path, seed: int) -> dict[str, Any]:
    import shutil

    from hwbnn.fpga.boards import Family
    from hwbnn.fpga.nextpnr import read_report
    from hwbnn.fpga.tools import find_toolchain, run_tool
    from hwbnn.fpga.yosys import render_script, run_yosys
    from hwbnn.resources import rtl_files

    work = out / name
    work.mkdir(parents=True, exist_ok=True)
    sources = []
    for path in rtl_files("hwbnn_sliding_window"):
        shutil.copy(path, work / path.name)
        sources.append(path.name)
    tools = find_toolchain(Family.ECP5)
    script = render_script(
        Family.ECP5,
        sources,
        "hwbnn_sliding_window",
        "synth.json",
        "stat.json",
        parameters=list(params.items()),
    )
    start = time.perf_counter()
    run_yosys(tools.synth, script, work)
    args = ["--85k", "--package", "CABGA381", "--speed", "6", "--out-of-context"]
    args += ["--json", "synth.json", "--report", "pnr_report.json", "-l", "pnr.log", "-q"]
    args += ["--freq", f"{FREQ_MHZ:g}", "--seed", str(seed), "--timing-allow-fail"]
    run_tool(tools.pnr, args, work, "pnr")
    log = (work / "pnr.log").read_text(errors="replace")
    report = read_report(work / "pnr_report.json", log)
    util = report.utilization
    return {
        "case": name,
        **params,
        "lut4": util.get("TRELLIS_COMB", {}).get("used"),
        "ff": util.get("TRELLIS_FF", {}).get("used"),
        "dp16kd": util.get("DP16KD", {}).get("used", 0),
        "fmax_mhz": report.achieved_mhz,
        "seconds": round(time.perf_counter() - start),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="work directory (not /tmp)")
    parser.add_argument("--cases", default=",".join(DEFAULT_CASES))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args()
    rows = []
    print("| image | K | SIMD | MMV | elem bits | LUT4 | FF | DP16KD | Fmax MHz | run s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for case in args.cases.split(","):
        params = parse_case(case)
        row = run_case(case, params, args.out.resolve(), args.seed)
        rows.append(row)
        fmax = f"{row['fmax_mhz']:.1f}" if row["fmax_mhz"] is not None else "-"
        c, simd = row["CHANNELS"], row["SIMD"]
        mmv = simd // c if simd > c else 1
        print(
            f"| {row['IN_H']}x{row['IN_W']}x{c} | {row['KERNEL']} | {simd} | {mmv} "
            f"| {row['ELEM_BITS']} | {row['lut4']} | {row['ff']} | {row['dp16kd']} | {fmax} "
            f"| {row['seconds']} |",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
