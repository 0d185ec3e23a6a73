"""The resource estimate against yosys: LUT4, FF and block RAM of ``hwbnn_top``, per design.

Each design has random weights and thresholds (hwbnn.sim.random_nets; the hardware cost does
not depend on the values), is folded by the chooser ``hwbnn compile`` uses (least estimated
LUTs on the device: hwbnn.fpga.estimate_cost) and written as a ``--target rtl`` build; its
``hwbnn_top`` goes through the project's yosys script alone (no place and route) and the cells
are counted as the estimate counts them (hwbnn.fpga.estimate_check: LUT4 slots with 2 per
CCU2C and 4 per LUT RAM, flip-flops, DP16KD / SB_RAM40_4K). Designs: the digits MLP
(64-128-128-10, 17-level input binarized), digits-cnn (8x8, convs 16 pad 1, 16 pad 1 + pool
2, 32, classifier), TFC, SFC and LFC (784 inputs of 256 levels), at several cycles/frame, and a
64-32-10 MLP at 1 and 2 cycles/frame (constant weights).

    PYTHONPATH=. python3 benchmarks/estimate_accuracy.py --out /work/scratch/estimate
        [--only digits-mlp] [--family ecp5|ice40] [--json rows.json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

#: design -> cycles/frame targets
TARGETS: dict[str, tuple[int, ...]] = {
    "digits-mlp": (16384, 784, 256, 64),
    "digits-cnn": (9216, 2304, 576),
    "tfc": (50176, 3136, 784),
    "sfc": (65536, 4096, 1024),
    "lfc": (1048576, 65536),  # 1-bit weight ROMs over 44-57 block RAMs: wide read multiplexers
    "mlp-64-32": (2, 1),  # every weight word a constant (1-2 words per lane)
}


def make_net(name: str) -> Any:
    from hwbnn.sim.random_nets import ConvSpec, random_conv_net, random_mlp

    rng = np.random.default_rng(0)
    if name == "digits-mlp":
        return random_mlp(rng, 64, (128, 128), 10, 17)
    if name == "mlp-64-32":
        return random_mlp(rng, 64, (32,), 10, 17)
    if name == "digits-cnn":
        convs = [ConvSpec(16, 3, 1, 1), ConvSpec(16, 3, 1, 1, pool=2), ConvSpec(32, 3, 1, 0)]
        return random_conv_net(rng, (1, 8, 8), convs, (), 10, 17)
    hidden = {"tfc": (64, 64, 64), "sfc": (256, 256, 256), "lfc": (1024, 1024, 1024)}[name]
    return random_mlp(rng, 784, hidden, 10, input_shape=(28, 28))


def run_row(name: str, target: int, family_name: str, out: Path) -> dict[str, Any]:
    from hwbnn.fpga.boards import ICE40UP5K, LFE5U_85F, Family
    from hwbnn.fpga.estimate import estimate
    from hwbnn.fpga.estimate_check import synthesize_top
    from hwbnn.fpga.estimate_cost import estimate_cost
    from hwbnn.fpga.synthetic import write_network_build
    from hwbnn.ir.folding import choose_folding, initiation_interval

    family = Family(family_name)
    device = LFE5U_85F if family is Family.ECP5 else ICE40UP5K
    net = make_net(name)
    folding = choose_folding(net, target, estimate_cost(net, device))
    build = out / f"{name}-{target}"
    shutil.rmtree(build, ignore_errors=True)
    write_network_build(net, folding, build)
    est = estimate(net, folding, device)
    start = time.perf_counter()
    synth = synthesize_top(build, family, out / f"{name}-{target}-{family.value}")
    return {
        "design": name,
        "family": family.value,
        "cycles": initiation_interval(net, folding),
        "folding": " ".join(f"{f.pe},{f.simd}" for f in folding.layers),
        "est": [est.luts, est.ffs, est.brams],
        "yosys": [synth.luts, synth.ffs, synth.brams],
        "seconds": round(time.perf_counter() - start),
    }


def _ratio(est: int, real: int) -> str:
    return f"{100 * (est - real) / real:+.1f}%" if real else ("0" if est == 0 else "-")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="work directory (not /tmp)")
    parser.add_argument("--only", help="comma-separated designs (default: all)")
    parser.add_argument("--family", default="ecp5", choices=("ecp5", "ice40"))
    parser.add_argument("--json", type=Path, help="also write the rows to this file")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(TARGETS)
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    print(
        "| design | cycles/frame | PE,SIMD per layer | LUT4 est / yosys | FF est / yosys "
        "| BRAM est / yosys | yosys s |"
    )
    print("|---|---|---|---|---|---|---|")
    rows = []
    for name in names:
        for target in TARGETS[name]:
            row = run_row(name, target, args.family, out)
            rows.append(row)
            (el, ef, eb), (yl, yf, yb) = row["est"], row["yosys"]
            print(
                f"| {name} | {row['cycles']:,} | {row['folding']} "
                f"| {el:,} / {yl:,} ({_ratio(el, yl)}) | {ef:,} / {yf:,} ({_ratio(ef, yf)}) "
                f"| {eb} / {yb} | {row['seconds']} |",
                flush=True,
            )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
