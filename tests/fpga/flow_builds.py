"""Builds for the flow tests made directly from random IR networks (no training, no ONNX)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hwbnn.fpga.synthetic import write_network_build
from hwbnn.ir.folding import choose_folding
from hwbnn.sim.random_nets import random_mlp


def random_rtl_build(
    build: Path,
    inputs: int,
    hidden: tuple[int, ...],
    classes: int,
    target_cycles: int,
    seed: int = 0,
) -> Path:
    net = random_mlp(np.random.default_rng(seed), inputs, hidden, classes)
    return write_network_build(net, choose_folding(net, target_cycles), build)
