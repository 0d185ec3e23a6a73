"""Resources and Fmax of one rtl/hwbnn_dbf on ECP5-85F, out of context, beside the estimate.

Each unit is synthesized alone with the project's ECP5 yosys script (hwbnn.fpga.yosys;
LUT4 slots counted as hwbnn.fpga.estimate_check does: LUT4 + 2 per CCU2C + 4 per
TRELLIS_DPR16X4) and, with ``--pnr``, placed and routed with ``nextpnr-ecp5 --85k
--out-of-context`` at a 200 MHz target (only register-to-register paths are timed, as in
benchmarks/mvau_fmax.py). The analytical estimate (hwbnn.fpga.estimate.estimate_unit) is
printed beside the counts.

    python benchmarks/dbf_fmax.py --out /work/scratch/dbf --build build/dbf [--units U] [--pnr]
    python benchmarks/dbf_fmax.py --out /work/scratch/dbf --cases 128x128x32x1x1x16 [--pnr]

``--build``: every DBF unit of a ``--target rtl`` build, with its trained constants. A case
is ``MWxMHxMxPExSIMDxMB[xBITS]`` (M bases, MB bases per cycle; BITS-bit integer input with
accumulator output, else bits and thresholds): random codes, 4-bit alpha and thresholds.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

FREQ_MHZ = 200.0
WRAPPER = """`default_nettype none
module dbf_unit (
    input wire clk, input wire rst,
    input wire [SIMD_BITS-1:0] s_axis_tdata, input wire s_axis_tvalid,
    output wire s_axis_tready, input wire s_axis_tlast,
    output wire [{out}-1:0] m_axis_tdata, output wire m_axis_tvalid,
    input wire m_axis_tready, output wire m_axis_tlast
);
    hwbnn_dbf #(
{params}
    ) u_dbf (.clk(clk), .rst(rst), .s_axis_tdata(s_axis_tdata),
        .s_axis_tvalid(s_axis_tvalid), .s_axis_tready(s_axis_tready),
        .s_axis_tlast(s_axis_tlast), .m_axis_tdata(m_axis_tdata),
        .m_axis_tvalid(m_axis_tvalid), .m_axis_tready(m_axis_tready),
        .m_axis_tlast(m_axis_tlast));
endmodule
`default_nettype wire
"""


def case_units(text: str, seed: int) -> list[tuple[str, Any, Any]]:
    """(name, unit plan, layer) of a random DBF layer ``MWxMHxMxPExSIMDxMB[xBITS]``."""
    from hwbnn.ir.folding import LayerFolding
    from hwbnn.ir.types import DBFMatrixVector
    from hwbnn.plan.build import dbf_unit

    values = [int(v) for v in text.lower().split("x")]
    if len(values) not in (6, 7):
        raise SystemExit(f"case {text!r}: expected MWxMHxMxPExSIMDxMB[xBITS]")
    mw, mh, m, pe, simd, mb = values[:6]
    bits = values[6] if len(values) == 7 else 1
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 2, (m, mw)).astype(bool)
    alpha = rng.integers(-7, 8, (mh, m))
    levels = 2 if bits == 1 else 1 << bits
    probe = DBFMatrixVector(
        "dbf", codes, alpha, bits, levels, out_scale=np.ones(mh), out_bias=np.zeros(mh)
    )
    if bits == 1:
        low, high = probe.acc_range
        t = rng.integers(low // 4, high // 4 + 1, mh)
        layer = DBFMatrixVector("dbf", codes, alpha, bits, levels, thresholds=t)
    else:
        layer = probe
    return [(text, dbf_unit(0, layer, LayerFolding(pe, simd, bases=mb), 0), layer)]


def build_units(build: Path) -> list[tuple[str, Any, Any]]:
    """(name, unit plan, layer) of every DBF unit of a compiled build."""
    from hwbnn.ir.serialize import load_network
    from hwbnn.plan import UnitKind, load_plan

    plan, net = load_plan(build), load_network(build)
    layers = {layer.name: layer for layer in net.layers}
    return [(u.name, u, layers[u.name]) for u in plan.units if u.kind is UnitKind.DBF]


def run_unit(name: str, u: Any, layer: Any, out: Path, seed: int, pnr: bool) -> dict[str, Any]:
    from hwbnn.codegen.rtl_stages import _dbf_params
    from hwbnn.fpga.boards import Family, get_board
    from hwbnn.fpga.estimate import estimate_unit
    from hwbnn.fpga.estimate_check import count_cells
    from hwbnn.fpga.nextpnr import read_report
    from hwbnn.fpga.tools import find_toolchain, run_tool
    from hwbnn.fpga.yosys import render_script, run_yosys
    from hwbnn.resources import rtl_files

    work = out / name.replace("/", "_")
    work.mkdir(parents=True, exist_ok=True)
    sources = []
    for path in rtl_files("hwbnn_dbf"):
        shutil.copy(path, work / path.name)
        sources.append(path.name)
    # a wrapper instantiates the unit with its parameters (chparam of the large literals
    # elaborates the unit once per parameter: minutes)
    params = ",\n".join(
        f"        .{p.name}({p.literal if p.literal is not None else p.value})"
        for p in _dbf_params(u, layer)
    )
    wrapper = WRAPPER.format(params=params, out=u.out_width)
    (work / "dbf_unit.v").write_text(wrapper.replace("SIMD_BITS", str(u.simd * u.in_bits)))
    sources.append("dbf_unit.v")
    tools = find_toolchain(Family.ECP5)
    script = render_script(Family.ECP5, sources, "dbf_unit", "synth.json", "stat.json")
    start = time.perf_counter()
    result = run_yosys(tools.synth, script, work)
    luts, ffs, _ = count_cells(result.cells, Family.ECP5)
    est = estimate_unit(u, get_board("ulx3s-85f").device)
    row: dict[str, Any] = {
        "unit": name,
        "MW": u.mw,
        "MH": u.mh,
        "M": u.bases,
        "PE": u.pe,
        "SIMD": u.simd,
        "MB": u.bases_per_cycle,
        "bits": u.in_bits,
        "lut4": luts,
        "ff": ffs,
        "mult": result.cells.get("MULT18X18D", 0),
        "est_lut4": est.luts,
        "est_ff": est.ffs,
        "fmax_mhz": None,
    }
    if pnr:
        args = ["--85k", "--package", "CABGA381", "--speed", "6", "--out-of-context"]
        args += ["--json", "synth.json", "--report", "pnr_report.json", "-l", "pnr.log", "-q"]
        args += ["--freq", f"{FREQ_MHZ:g}", "--seed", str(seed), "--timing-allow-fail"]
        run_tool(tools.pnr, args, work, "pnr")
        log = (work / "pnr.log").read_text(errors="replace")
        row["fmax_mhz"] = read_report(work / "pnr_report.json", log).achieved_mhz
    row["seconds"] = round(time.perf_counter() - start)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="work directory (not /tmp)")
    parser.add_argument("--build", type=Path, help="a --target rtl build: its DBF units")
    parser.add_argument("--units", default="", help="only these units of --build (comma list)")
    parser.add_argument("--cases", default="", help="comma-separated MWxMHxMxPExSIMDxMB[xBITS]")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pnr", action="store_true", help="also place and route (Fmax)")
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args()
    units = build_units(args.build) if args.build else []
    if args.units:
        units = [t for t in units if t[0] in args.units.split(",")]
    for case in filter(None, args.cases.split(",")):
        units += case_units(case, args.seed)
    print(
        "| unit | MW | MH | M | PE | SIMD | MB | bits | LUT4 | est | FF | est | MULT | Fmax MHz |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    rows = []
    for name, u, layer in units:
        row = run_unit(name, u, layer, args.out.resolve(), args.seed, args.pnr)
        rows.append(row)
        fmax = f"{row['fmax_mhz']:.1f}" if row["fmax_mhz"] is not None else "-"
        print(
            f"| {name} | {row['MW']} | {row['MH']} | {row['M']} | {row['PE']} | {row['SIMD']} "
            f"| {row['MB']} | {row['bits']} | {row['lut4']} | {row['est_lut4']} | {row['ff']} "
            f"| {row['est_ff']} | {row['mult']} | {fmax} |",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
