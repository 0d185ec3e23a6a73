"""Fmax and resources of one rtl/hwbnn_mvau on ECP5-85F, out of context, per PE/SIMD.

Each case synthesizes hwbnn_mvau alone (random weights and thresholds written by
hwbnn.codegen.memfiles) with the project's ECP5 yosys script (hwbnn.fpga.yosys), trims its
carry-chain ends as ``hwbnn bitstream`` does (hwbnn.fpga.carry_chains), and places and routes
it with ``nextpnr-ecp5 --85k --out-of-context`` (no IO buffers, so any port width
fits; only register-to-register paths are timed) at a 200 MHz target, which only makes
nextpnr optimize for speed. The table gets nextpnr's LUT4/FF/DP16KD counts and the achieved
clock of ``clk``.

    python benchmarks/mvau_fmax.py --out /work/scratch/mvau [--cases 3136x64x1x16,...] [--rtl F]

A case is ``MWxMHxPExSIMD`` (XNOR-popcount input, threshold output) or
``MWxMHxPExSIMDxBITS`` (BITS-bit integer input, accumulator output); a trailing ``c`` wires the
weights as constants (WEIGHT_STORAGE 3, at most two words: PE*SIMD*2 >= MW*MH). LUT4 per
lane is the whole unit's LUT4 over its PE*SIMD lanes (control, memories and accumulators
included).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_CASES = (
    "3136x16x1x1",
    "3136x16x1x16",
    "3136x16x1x64",
    "3136x16x1x196",
    "3136x16x4x64",
    "4096x16x1x256",
    "4096x16x1x1024",
    "784x16x4x16x8",
)
FREQ_MHZ = 200.0


def parse_case(text: str) -> dict[str, int]:
    constant = text.lower().endswith("c")  # constant weights (WEIGHT_STORAGE 3)
    values = [int(v) for v in text.lower().removesuffix("c").split("x")]
    if len(values) not in (4, 5):
        raise SystemExit(f"case {text!r}: expected MWxMHxPExSIMD[xBITS]")
    mw, mh, pe, simd = values[:4]
    bits = values[4] if len(values) == 5 else 1
    return {
        "MW": mw,
        "MH": mh,
        "PE": pe,
        "SIMD": simd,
        "INPUT_BITS": bits,
        "OUTPUT_MODE": 0 if bits == 1 else 1,
        "WEIGHT_STORAGE": 3 if constant else 0,
    }


def run_case(
    name: str, params: dict[str, int], out: Path, seed: int, rtl: Path | None = None
) -> dict[str, Any]:
    import shutil

    from hwbnn.codegen.memfiles import mvau_threshold_range, write_mvau_memfiles
    from hwbnn.fpga.boards import Family
    from hwbnn.fpga.carry_chains import trim_file
    from hwbnn.fpga.nextpnr import read_report
    from hwbnn.fpga.tools import find_toolchain, run_tool
    from hwbnn.fpga.yosys import render_script, run_yosys
    from hwbnn.plan.packing import weight_constant
    from hwbnn.resources import rtl_files

    work = out / name
    work.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    mw, mh, bits = params["MW"], params["MH"], params["INPUT_BITS"]
    w = rng.integers(0, 2, (mh, mw)).astype(bool)
    t = None
    if params["OUTPUT_MODE"] == 0:
        lo, hi = mvau_threshold_range(mw, bits)
        t = rng.integers(lo, hi + 1, mh)
    wfile, tfile = write_mvau_memfiles(w, t, params["PE"], params["SIMD"], bits, work, "mvau")
    # hwbnn_mvau.v (or --rtl's file in its place) with the rtl/ modules it instantiates
    sources = []
    for path in rtl_files("hwbnn_mvau"):
        source = rtl if rtl is not None and path.name == "hwbnn_mvau.v" else path
        shutil.copy(source, work / path.name)
        sources.append(path.name)
    # Files first: each chparam elaborates the module again, and without a file the memory is
    # cleared by an initial loop that yosys unrolls (minutes for a deep memory).
    hdl: list[tuple[str, str | int]] = [("WEIGHT_FILE", f'"{wfile.name}"')]
    if params["WEIGHT_STORAGE"] == 3:  # the weights as the WEIGHTS literal, no file
        value = weight_constant(w, params["PE"], params["SIMD"])
        hdl = [("WEIGHTS", f"{mw * mh}'h{value:x}")]
    if tfile is not None:
        hdl.append(("THRESH_FILE", f'"{tfile.name}"'))
    hdl += list(params.items())
    tools = find_toolchain(Family.ECP5)
    script = render_script(
        Family.ECP5, sources, "hwbnn_mvau", "synth.json", "stat.json", parameters=hdl
    )
    start = time.perf_counter()
    run_yosys(tools.synth, script, work)
    trim = trim_file(work / "synth.json")  # as hwbnn bitstream does for ECP5
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
        "carry_chains": trim.as_dict(),
        "seconds": round(time.perf_counter() - start),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="work directory (not /tmp)")
    parser.add_argument("--cases", default=",".join(DEFAULT_CASES))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    parser.add_argument(
        "--rtl", type=Path, help="another hwbnn_mvau.v (default: rtl/'s); its submodules from rtl/"
    )
    args = parser.parse_args()
    rows = []
    print(
        "| MW | MH | PE | SIMD | input bits | LUT4 | LUT4 per lane | FF | DP16KD "
        "| Fmax MHz | run s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for case in args.cases.split(","):
        params = parse_case(case)
        row = run_case(case, params, args.out.resolve(), args.seed, args.rtl)
        rows.append(row)
        fmax = f"{row['fmax_mhz']:.1f}" if row["fmax_mhz"] is not None else "-"
        lanes = row["PE"] * row["SIMD"]
        per_lane = f"{row['lut4'] / lanes:.2f}" if row["lut4"] is not None else "-"
        print(
            f"| {row['MW']} | {row['MH']} | {row['PE']} | {row['SIMD']} | {row['INPUT_BITS']} "
            f"| {row['lut4']} | {per_lane} | {row['ff']} | {row['dp16kd']} | {fmax} "
            f"| {row['seconds']} |",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
