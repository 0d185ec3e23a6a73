"""Analytical resource model of a folded network (LUTs, FFs, block RAMs) for a device.

Per matrix-vector unit with fan-in MW, MH outputs, PE x SIMD lanes, B input bits:

- lanes: ``PE * SIMD``. A K-input LUT holds the XNOR and the first adder level of
  ``g = K // 2`` lanes (g = 2 for LUT4, 3 for LUT6) and emits their 2-bit count, so the lanes
  cost ``2 * ceil(SIMD / g)`` LUTs per PE (B > 1: a +-code adder of B+1 bits per lane);
- popcount adder tree: the ``ceil(SIMD / g)`` partial counts are added pairwise, level by level,
  one LUT per result bit (carry-chain adders), until one popcount of
  ``ceil(log2(SIMD + 1))`` bits is left;
- accumulator, comparison: one LUT per bit of the running sum and of the threshold compare,
  per PE; FFs: the operand registers (PE*SIMD weight bits, SIMD*B input bits), the lane sums,
  the accumulators, the output register, and about 40 FFs of control per unit;
- memories: the weight ROM (``MH*MW`` bits, words of ``PE*SIMD``), the threshold ROM (``MH``
  thresholds, words of ``PE*THRESH_WIDTH``) and the double-buffered input vector
  (``2*MW*B`` bits). A memory of at least a quarter block goes to block RAM, tiled on the
  block's best aspect ratio (width 1, 2, 4, 9, 18, 36 for ECP5; 2, 4, 8, 16 for iCE40; 1 .. 72
  for 7-series); a smaller one to LUTs (16 bits per LUT4 or 64 per LUT6, per output bit).

An input-threshold unit costs a (B+1)-bit comparison per SIMD lane and its threshold ROM.

A sliding window (hwbnn_sliding_window) costs its line buffer, :func:`line_buffer_rows` rows
of ``W*C`` elements of B bits (1 for bits) in one RAM of ``SIMD*B``-bit words, and counters:
about 24 LUTs and 9 FFs per bit of a pixel coordinate, 8 LUTs and 3 FFs per address bit, and
two registers of ``SIMD*B`` bits (memory read, output). A max pool is a sliding window without
padding on bits plus hwbnn_window_or: a CHANNELS-bit shift register of partial ORs, two LUTs
per SIMD lane. Neither has XNOR lanes. (Calibrated on yosys synth_ecp5 of a 30x30x64 window
generator at SIMD 16: 365 LUT-equivalents, 164 FFs, one block RAM.)
The model is meant for choosing a folding before synthesis; report.json puts it beside the
yosys and nextpnr counts, which are the truth.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from hwbnn.fpga.boards import Device, Family
from hwbnn.ir.folding import Folding
from hwbnn.ir.types import Network
from hwbnn.plan import Plan, UnitKind, UnitPlan, build_plan, clog2, line_buffer_rows

#: block RAM aspect ratios (width, depth) per family
BRAM_SHAPES: dict[Family, tuple[tuple[int, int], ...]] = {
    Family.ECP5: ((1, 16384), (2, 8192), (4, 4096), (9, 2048), (18, 1024), (36, 512)),
    Family.ICE40: ((2, 2048), (4, 1024), (8, 512), (16, 256)),
    Family.XILINX7: (
        (1, 32768),
        (2, 16384),
        (4, 8192),
        (9, 4096),
        (18, 2048),
        (36, 1024),
        (72, 512),
    ),
}
CONTROL_LUTS = 40
CONTROL_FFS = 40


@dataclass(frozen=True)
class LayerEstimate:
    name: str
    lanes: int
    luts: int
    ffs: int
    brams: int
    memory_bits: int
    cycles: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Estimate:
    device: str
    layers: tuple[LayerEstimate, ...]
    initiation_interval: int

    @property
    def luts(self) -> int:
        return sum(layer.luts for layer in self.layers)

    @property
    def ffs(self) -> int:
        return sum(layer.ffs for layer in self.layers)

    @property
    def brams(self) -> int:
        return sum(layer.brams for layer in self.layers)

    @property
    def lanes(self) -> int:
        return sum(layer.lanes for layer in self.layers)

    def frames_per_second(self, clock_mhz: float) -> float:
        return clock_mhz * 1e6 / self.initiation_interval

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "luts": self.luts,
            "ffs": self.ffs,
            "brams": self.brams,
            "lanes": self.lanes,
            "initiation_interval": self.initiation_interval,
            "layers": [layer.to_dict() for layer in self.layers],
        }


def memory_cost(depth: int, width: int, device: Device) -> tuple[int, int]:
    """(block RAMs, LUTs) for a ``depth`` x ``width`` ROM on ``device``."""
    bits = depth * width
    if bits == 0:
        return 0, 0
    if bits * 4 >= device.bram_bits:
        shapes = BRAM_SHAPES[device.family]
        blocks = min(math.ceil(width / w) * math.ceil(depth / d) for w, d in shapes)
        return blocks, 0
    entries_per_lut = 1 << device.lut_inputs
    return 0, math.ceil(depth / entries_per_lut) * width


def adder_tree_luts(operands: int, width: int) -> int:
    """LUTs of a pairwise tree adding ``operands`` numbers of ``width`` bits (one per bit)."""
    total = 0
    while operands > 1:
        pairs = operands // 2
        width += 1
        total += pairs * width
        operands = operands - pairs
    return total


__all__ = [
    "Estimate",
    "LayerEstimate",
    "adder_tree_luts",
    "estimate",
    "estimate_plan",
    "estimate_unit",
    "line_buffer_rows",
    "memory_cost",
]


def _window_estimate(u: UnitPlan, device: Device) -> tuple[int, int, int, int]:
    """(LUTs, FFs, block RAMs, memory bits) of hwbnn_sliding_window for a planned unit."""
    g = u.window
    assert g is not None
    words = g.rows * g.w * g.c // u.simd
    width = u.in_width
    coord = clog2(2 * (g.h + g.w) + g.kernel + g.stride + 2)
    addr = max(1, clog2(words))
    brams, ram_luts = memory_cost(words, width, device)
    luts = 24 * coord + 8 * addr + width + CONTROL_LUTS + ram_luts
    ffs = 9 * coord + 3 * addr + 2 * width + CONTROL_FFS
    return luts, ffs, brams, words * width


def _graph_estimate(u: UnitPlan, device: Device) -> LayerEstimate:
    """Forks (a beat register, one valid per output), add-joins (an adder per element and
    stage), concatenations (a multiplexer and counters) and thresholds (a comparator per
    element and step, the threshold ROM)."""
    brams, memory_bits = 0, 0
    if u.kind is UnitKind.FORK:
        luts, ffs = u.outputs + 2, u.in_width + u.outputs
    elif u.kind is UnitKind.ADD_JOIN:
        bits = sum(u.chain_bits)
        luts, ffs = u.simd * bits, u.simd * bits + 2 * len(u.chain_bits)
    elif u.kind is UnitKind.CONCAT:
        stages = len(u.port_channels) - 1
        luts = stages * (u.out_width + CONTROL_LUTS // 2)
        ffs = stages * (u.out_width + CONTROL_FFS // 2)
    else:
        rom = u.thresholds
        assert rom is not None
        brams, rom_luts = memory_cost(rom.depth, rom.word_bits, device)
        selections = 2 if u.side else 1
        compare = u.simd * u.steps * (u.threshold_bits + 1) * selections
        luts = compare + u.simd * u.out_bits + rom_luts + CONTROL_LUTS // 2
        ffs = u.simd * u.out_bits + rom.word_bits + CONTROL_FFS // 2
        memory_bits = rom.bits
    return LayerEstimate(u.name, 0, luts, ffs, brams, memory_bits, u.cycles)


def estimate_unit(u: UnitPlan, device: Device) -> LayerEstimate:
    """The estimate of one planned unit (widths and memories from hwbnn.plan)."""
    if u.kind in (UnitKind.FORK, UnitKind.ADD_JOIN, UnitKind.CONCAT, UnitKind.THRESHOLD):
        return _graph_estimate(u, device)
    if u.kind is UnitKind.SLIDING_WINDOW:
        luts, ffs, brams, memory_bits = _window_estimate(u, device)
        return LayerEstimate(u.name, 0, luts, ffs, brams, memory_bits, u.cycles)
    if u.kind is UnitKind.MAX_POOL:
        luts, ffs, brams, memory_bits = _window_estimate(u, device)
        luts += 2 * u.simd + CONTROL_LUTS // 2
        ffs += u.mw + u.simd + CONTROL_FFS // 2
        return LayerEstimate(u.name, 0, luts, ffs, brams, memory_bits, u.cycles)
    if u.kind is UnitKind.INPUT_THRESHOLD:
        rom = u.thresholds
        assert rom is not None
        brams, rom_luts = memory_cost(rom.depth, rom.word_bits, device)
        return LayerEstimate(
            u.name,
            lanes=u.simd,
            luts=u.simd * u.threshold_bits + rom_luts + CONTROL_LUTS // 2,
            ffs=u.simd * u.threshold_bits + CONTROL_FFS // 2,
            brams=brams,
            memory_bits=rom.bits,
            cycles=u.cycles,
        )
    pe, simd, b = u.pe, u.simd, u.in_bits
    binary = b == 1
    sum_width = u.popcount_bits if binary else u.acc_bits
    if binary:
        group = max(1, device.lut_inputs // 2)
        groups = math.ceil(simd / group)
        lane_luts = 2 * groups
        tree = adder_tree_luts(groups, 2)
    else:
        lane_luts = simd * (b + 1)
        tree = adder_tree_luts(simd, b + 1)
    compare = 0 if u.is_output else u.threshold_bits + 1
    luts = pe * (lane_luts + tree + sum_width + compare) + CONTROL_LUTS
    ffs = pe * simd + simd * b + pe * (2 * sum_width + u.out_bits) + CONTROL_FFS
    weights = u.weights
    assert weights is not None
    w_brams, w_luts = memory_cost(weights.depth, weights.word_bits, device)
    t_brams, t_luts, t_bits = 0, 0, 0
    if u.thresholds is not None:
        t_brams, t_luts = memory_cost(u.thresholds.depth, u.thresholds.word_bits, device)
        t_bits = u.thresholds.bits
    i_brams, i_luts = memory_cost(2 * u.sf, u.in_width, device)  # double-buffered input vector
    return LayerEstimate(
        u.name,
        lanes=pe * simd,
        luts=luts + w_luts + t_luts + i_luts,
        ffs=ffs,
        brams=w_brams + t_brams + i_brams,
        memory_bits=weights.bits + t_bits + 2 * u.mw * b,
        cycles=u.cycles,
    )


def estimate_plan(plan: Plan, device: Device) -> Estimate:
    """The analytical estimate of a hardware plan on ``device``."""
    layers = tuple(estimate_unit(u, device) for u in plan.units)
    return Estimate(device.name, layers, plan.initiation_interval)


def estimate(net: Network, folding: Folding, device: Device) -> Estimate:
    """The analytical estimate of ``net`` folded as ``folding`` on ``device``."""
    return estimate_plan(build_plan(net, folding), device)
