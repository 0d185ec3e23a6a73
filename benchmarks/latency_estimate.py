"""The plan's frame latency estimate (hwbnn.plan.latency) against the latency measured in RTL
simulation, on random chains, conv nets and graphs at three foldings.

Usage: python benchmarks/latency_estimate.py [--sim verilator|icarus] [--speedups 1 3 4]
Each network is built directly as IR (hwbnn.sim.random_nets, hwbnn.sim.random_graphs; latency
does not depend on training), folded at its slowest folding's cycles divided by each speed-up,
generated and simulated (6 frames back to back, no gaps or backpressure); the measured latency
is the throughput phase's first frame, from its first accepted input beat to its last output
beat. Results in docs/graphs.md.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from hwbnn.codegen import write_build
from hwbnn.ir.folding import choose_folding, max_cycles
from hwbnn.ir.types import Network
from hwbnn.plan import build_plan
from hwbnn.sim.random_graphs import random_graph_net
from hwbnn.sim.random_nets import ConvSpec, random_conv_net, random_mlp
from hwbnn.sim.top import SimConfig
from hwbnn.verify.rtl import verify_rtl


def networks() -> Iterator[tuple[str, Network]]:
    yield "MLP 64-32-32-10", random_mlp(np.random.default_rng(0), 64, [32, 32], 10, 16)
    yield "MLP 4-6-3", random_mlp(np.random.default_rng(0), 4, [6], 3, 16)
    convs = [ConvSpec(8, 3, 1, 0, 3), ConvSpec(6, 1, 1, 0, 0)]
    yield (
        "conv, 3x3 pool stride 3",
        random_conv_net(np.random.default_rng(2), (2, 9, 9), convs, [], 5, 4),
    )
    convs = [ConvSpec(4, 3, 1, 1, 2)]
    yield (
        "conv 3x3 pad 1, 2x2 pool",
        random_conv_net(np.random.default_rng(1), (1, 8, 8), convs, [], 4, 16),
    )
    for kind in ("identity", "pool", "conv", "add", "concat"):
        yield f"graph {kind}", random_graph_net(np.random.default_rng(7), (1, 6, 6), 4, (kind,), 3)
    blocks = ("identity", "conv")
    yield (
        "graph identity + conv",
        random_graph_net(np.random.default_rng(8), (2, 8, 8), 4, blocks, 4),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sim", default="verilator", choices=["verilator", "icarus"])
    parser.add_argument("--speedups", type=int, nargs="+", default=[1, 3, 4])
    args = parser.parse_args()
    print("| network | speed-up | II | estimated | measured | ratio |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, net in networks():
            for speedup in args.speedups:
                folding = choose_folding(net, max(1, max_cycles(net) // speedup))
                plan = build_plan(net, folding)
                build = Path(tmp) / f"{len(list(Path(tmp).iterdir()))}"
                write_build(net, folding, build, plan=plan)
                codes = np.random.default_rng(1).integers(
                    0, net.input.levels, (6, net.input.elements)
                )
                cfg = SimConfig(args.sim, 1, 0.0, 0.0, ii_frames=6)
                measured = verify_rtl(build, codes, cfg).latency_cycles
                assert measured is not None
                print(
                    f"| {name} | {speedup} | {plan.initiation_interval:,} | "
                    f"{plan.latency_cycles:,} | {measured:,} | "
                    f"{plan.latency_cycles / measured:.3f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
