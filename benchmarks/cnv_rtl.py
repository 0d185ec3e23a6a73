"""CNV (BNN-PYNQ / FINN geometry) as hwbnn RTL at BNN-PYNQ's CNV-w1a1 folding.

Prints the per-layer table (PE, SIMD, analytical cycles/frame), the initiation interval, the
analytical ECP5-85F estimate and, on request, the RTL simulation (cycles/frame measured with
frames back to back) and an ECP5-85F synthesis + place & route (measured LUTs and Fmax),
beside BNN-PYNQ's CNV-w1a1 on PYNQ-Z1 (9,150 frames/s at 100 MHz, 26,072 LUTs, 79.2%).

The network: random_conv_net with CNV's geometry ((3, 32, 32) 8-bit input into the first
convolution, 3x3 convolutions 64, 64, pool 2, 128, 128, pool 2, 256, 256, no padding, dense
512, 512, 10), random weights (resources and cycles do not depend on their values).

The folding is BNN-PYNQ's cnvW1A1 (Xilinx/BNN-PYNQ bnn/src/network/cnvW1A1/hw/config.h,
L0..L8 PE/SIMD), identical to FINN's (Xilinx/finn-examples
build/bnn-pynq/folding_config/cnv-w1a1_folding_config.json), mapped onto our layers: the six
convolutions' MVAUs and window generators (SIMD 3, 32, 32, 32, 32, 32), the three dense layers;
the last layer has PE 5 as in FINN (BNN-PYNQ pads the 10 classes to 64 and uses PE 4). FINN's
pools (StreamingMaxPool) have no folding; ours run at SIMD 32 and 16.

    python3 benchmarks/cnv_rtl.py                      # table, estimate
    python3 benchmarks/cnv_rtl.py --sim verilator      # + RTL simulation (cocotb bench)
    python3 benchmarks/cnv_rtl.py --sim fast --frames 200   # + the fast engine, gaps/backpressure
    python3 benchmarks/cnv_rtl.py --bitstream DIR      # + yosys/nextpnr on ULX3S-85F
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from hwbnn.codegen import write_build
from hwbnn.fpga.boards import LFE5U_85F
from hwbnn.fpga.estimate import estimate
from hwbnn.ir.folding import Folding, LayerFolding, check_folding, initiation_interval, layer_cycles
from hwbnn.ir.types import Network
from hwbnn.plan import load_plan
from hwbnn.sim.random_nets import random_cnv

#: BNN-PYNQ cnvW1A1 (PE, SIMD) per layer name of random_conv_net's CNV
BNN_PYNQ_FOLDING = {
    "swg0": (1, 3),
    "conv0": (16, 3),
    "swg1": (1, 32),
    "conv1": (32, 32),
    "pool1": (1, 32),
    "swg2": (1, 32),
    "conv2": (16, 32),
    "swg3": (1, 32),
    "conv3": (16, 32),
    "pool3": (1, 16),
    "swg4": (1, 32),
    "conv4": (4, 32),
    "swg5": (1, 32),
    "conv5": (1, 32),
    "fc0": (1, 4),
    "fc1": (1, 8),
    "fc2": (5, 1),
}
#: BNN-PYNQ CNV-w1a1 on PYNQ-Z1 (the issue's reference figures)
PYNQ = {"frames_per_second": 9150, "clock_mhz": 100, "luts": 26072, "lut_percent": 79.2}


def cnv_network(seed: int = 0) -> Network:
    """Random weights in CNV's geometry, 256-level integer input into the first convolution."""
    rng = np.random.default_rng(seed)
    return random_cnv(rng)


def cnv_folding(net: Network) -> Folding:
    folding = Folding(tuple(LayerFolding(*BNN_PYNQ_FOLDING[layer.name]) for layer in net.layers))
    check_folding(net, folding)
    return folding


def layer_table(net: Network, folding: Folding) -> list[str]:
    rows = [f"{'layer':8} {'PE':>4} {'SIMD':>5} {'cycles/frame':>13}"]
    for layer, fold in zip(net.layers, folding.layers, strict=True):
        rows.append(f"{layer.name:8} {fold.pe:4} {fold.simd:5} {layer_cycles(layer, fold):13}")
    return rows


def simulate(net: Network, folding: Folding, build: Path, simulator: str, frames: int) -> dict:
    from hwbnn.sim.top import SimConfig
    from hwbnn.verify.rtl import verify_rtl

    write_build(net, folding, build)
    codes = np.random.default_rng(1).integers(0, 256, (frames, net.input.elements))
    start = time.perf_counter()
    if simulator == "fast":  # the fast engine, under random gaps and backpressure
        cfg = SimConfig(
            "verilator", seed=2, gap_prob=0.2, backpressure_prob=0.3, ii_frames=4, fast=True
        )
    else:
        cfg = SimConfig(simulator, gap_prob=0.0, backpressure_prob=0.0, ii_frames=frames)
    report = verify_rtl(build, codes, cfg)
    if not report.ok:
        raise SystemExit(f"CNV RTL differs from the reference: {report.problem}")
    return {
        "frames": report.frames,
        "cycles_per_frame": report.cycles_per_frame,
        "spacings": report.details["cycle_spacings"],
        "latency_cycles": report.latency_cycles,
        "plan_latency_estimate": load_plan(build).latency_cycles,
        "sim_frames_per_second": report.details.get("sim_frames_per_second"),
        "seconds": round(time.perf_counter() - start, 1),
    }


def bitstream(net: Network, folding: Folding, build: Path) -> dict:
    from hwbnn.fpga.bitstream import BitstreamConfig, run_bitstream_flow

    write_build(net, folding, build)
    start = time.perf_counter()
    report = run_bitstream_flow(build, BitstreamConfig(board="ulx3s-85f", clock_mhz=100.0))
    report["seconds"] = round(time.perf_counter() - start, 1)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sim",
        choices=["icarus", "verilator", "fast"],
        help="simulate the RTL (fast: the fast engine under random gaps and backpressure)",
    )
    parser.add_argument("--frames", type=int, default=5, help="frames (--sim)")
    parser.add_argument("--bitstream", type=Path, help="build directory for ECP5-85F P&R")
    parser.add_argument("--work", type=Path, default=Path("cnv_build"), help="sim build dir")
    args = parser.parse_args(argv)
    net = cnv_network()
    folding = cnv_folding(net)
    ii = initiation_interval(net, folding)
    print("\n".join(layer_table(net, folding)))
    est = estimate(net, folding, LFE5U_85F)
    print(f"initiation interval {ii} cycles/frame: {100e6 / ii:,.0f} frames/s at 100 MHz")
    print(f"estimate ECP5-85F: {est.luts} LUTs, {est.ffs} FFs, {est.brams} block RAMs")
    print(f"BNN-PYNQ CNV-w1a1 on PYNQ-Z1: {json.dumps(PYNQ)}")
    if args.sim:
        print("rtl sim:", json.dumps(simulate(net, folding, args.work, args.sim, args.frames)))
    if args.bitstream:
        report = bitstream(net, folding, args.bitstream)
        print(
            "bitstream:", json.dumps({k: report.get(k) for k in ("resources", "clock", "seconds")})
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
