"""Analytical resource model of a folded network (LUTs, FFs, block RAMs) for a device.

Per matrix-vector unit with fan-in MW, MH outputs, PE x SIMD lanes, B input bits:

- lanes: ``PE * SIMD``. A K-input LUT holds the XNOR and the first adder level of
  ``g = K // 2`` lanes (g = 2 for LUT4, 3 for LUT6) and emits their 2-bit count, so the lanes
  cost ``2 * ceil(SIMD / g)`` LUTs per PE (B > 1: a +-code adder of B+1 bits per lane);
- popcount adder tree: the ``ceil(SIMD / g)`` partial counts are added pairwise, level by level,
  one LUT per result bit (carry-chain adders), until one popcount of
  ``ceil(log2(SIMD + 1))`` bits is left;
- accumulator, comparison: one LUT per bit of the running sum and of the threshold compare,
  per PE; FFs: two stages of operand registers (PE*SIMD weight bits, SIMD*B input bits; yosys
  on the digits MLP at 64 cycles/frame: a_w/b_w and a_x/b_x), the lane sums, the
  accumulators, the output register, and about 40 FFs of control per unit;
- a width converter after the unit (:func:`converter_cost`) is counted with it;
- memories: the weight ROM (``MH*MW`` bits, words of ``PE*SIMD``), the threshold ROM (``MH``
  thresholds, words of ``PE*THRESH_WIDTH``) and the double-buffered input vector
  (``2*MW*B`` bits, a RAM), priced by :func:`memory_resources`.

Memories follow yosys' ``memory_libmap`` (the pass synth_ecp5 and synth_ice40 run): a memory
goes to block RAM only when the blocks cost strictly less than the soft logic it replaces,
where a block costs 128 (ECP5 DP16KD/PDPW16KD) or 64 (iCE40 SB_RAM40_4K), tiled on the
block's cheapest aspect ratio (width 1, 2, 4, 9, 18, 36 for ECP5; 2, 4, 8, 16 for iCE40, where
narrower words share an entry: 8192 x 1 takes two blocks) plus
half a LUT per output bit for each extra address range, and soft logic costs 1/16 per ROM bit
and 1 per RAM bit (ECP5 RAMs may also go to 16x4 LUT RAMs of cost 4). So on iCE40 a ROM of
64 words or fewer never takes block RAM (64 x 128 bits: 8 blocks cost 512, logic 512, logic
wins the tie), nor on ECP5 a 64 x 128 ROM (4 blocks cost 512). A ROM in logic costs, per
output bit, one LUT4 per 16 words plus, on iCE40 (no wide multiplexers), a LUT4 per 2:1
multiplexer joining them (64 words: 7 LUT4; ECP5's PFUMX/L6MUX21 join up to 128 words for
free); a RAM in logic costs its bits in FFs and a 2:1 multiplexer LUT per bit and extra word.
Measured with yosys 0.70 (YoWASP), registered-read ROMs of random contents: iCE40 64 x 128
904 LUT4, 64 x 16 136, 32 x 64 213, 16 x 64 65, 128 x 16 one SB_RAM40_4K; ECP5 64 x 128 512
LUT4, 128 x 16 128 LUT4, 64 x 36 and 64 x 144 block RAM (1 and 4 DP16KD).
7-series keeps the older rule (no yosys flow here): block RAM from a quarter block up, else
LUT6s of 64 words per output bit.

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
from dataclasses import asdict, dataclass, replace
from typing import Any

from hwbnn.fpga.boards import Device, Family
from hwbnn.fpga.link import LinkFormat
from hwbnn.ir.folding import Folding
from hwbnn.ir.types import Network
from hwbnn.plan import (
    Converter,
    Plan,
    UnitKind,
    UnitPlan,
    build_plan,
    clog2,
    line_buffer_rows,
)

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
class MemoryCost:
    """Where a memory goes and what it costs: ``kind`` is ``bram``, ``lutram``, ``logic``
    (a ROM as LUTs) or ``registers`` (a RAM as FFs and multiplexers)."""

    kind: str
    brams: int
    luts: int
    ffs: int


@dataclass(frozen=True)
class MemoryUse:
    """One memory of a unit (``weights``, ``thresholds``, ``input buffer``, ``line buffer``),
    its shape and where it goes (:func:`memory_resources`)."""

    name: str
    depth: int
    width: int
    cost: MemoryCost


@dataclass(frozen=True)
class LayerEstimate:
    name: str
    lanes: int
    luts: int
    ffs: int
    brams: int
    memory_bits: int
    cycles: int
    memories: tuple[MemoryUse, ...] = ()

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


#: yosys memory_libmap cost of one block RAM, per family (lattice/brams_16kd.txt,
#: ice40/brams.txt); soft logic costs 1/16 per ROM bit and 1 per RAM bit
BRAM_COST: dict[Family, int] = {Family.ECP5: 128, Family.ICE40: 64}
#: words of a ROM column that one LUT (and, on ECP5, its free wide multiplexers) holds
LOGIC_ROM_WORDS: dict[Family, int] = {Family.ECP5: 128, Family.ICE40: 16}


def _bram_tiling(depth: int, width: int, family: Family) -> tuple[int, float]:
    """(blocks, memory_libmap cost) of the cheapest block RAM tiling."""
    best: tuple[int, float] | None = None
    for w, d in BRAM_SHAPES[family]:
        words = d * max(1, w // width)  # narrow words share a wide port's entries
        ranges = math.ceil(depth / words)
        blocks = math.ceil(width / w) * ranges
        cost = BRAM_COST.get(family, 0) * blocks + 0.5 * (ranges - 1) * width
        if best is None or cost < best[1]:
            best = (blocks, cost)
    assert best is not None
    return best


def memory_resources(depth: int, width: int, device: Device, writable: bool = False) -> MemoryCost:
    """Where a ``depth`` x ``width`` memory goes on ``device`` and what it costs (see the
    module docstring): a ROM (``writable`` False, contents from a file) or a RAM written at
    run time (input buffers, line buffers)."""
    bits = depth * width
    family = device.family
    if bits == 0:
        return MemoryCost("logic", 0, 0, 0)
    if family not in BRAM_COST:  # 7-series: the quarter-block rule
        if bits * 4 >= device.bram_bits:
            blocks = min(
                math.ceil(width / w) * math.ceil(depth / d) for w, d in BRAM_SHAPES[family]
            )
            return MemoryCost("bram", blocks, 0, 0)
        return MemoryCost("logic", 0, math.ceil(depth / (1 << device.lut_inputs)) * width, 0)
    blocks, block_cost = _bram_tiling(depth, width, family)
    lut_words = 1 << device.lut_inputs
    if writable:
        candidates = [(float(bits), "registers")]
        if family is Family.ECP5:  # TRELLIS_DPR16X4: 16 words x 4 bits, cost 4
            ranges = math.ceil(depth / 16)
            lutram = 4 * ranges * math.ceil(width / 4) + 0.5 * (ranges - 1) * width
            candidates.append((lutram, "lutram"))
        logic_cost, kind = min(candidates)
        if block_cost < int(logic_cost):
            return MemoryCost("bram", blocks, 0, 0)
        if kind == "lutram":
            return MemoryCost("lutram", 0, math.ceil(depth / lut_words) * width, 0)
        return MemoryCost("registers", 0, width * (depth - 1), bits)
    if block_cost < int(bits / 16):
        return MemoryCost("bram", blocks, 0, 0)
    leaves = math.ceil(depth / lut_words)
    joins = math.ceil(depth / LOGIC_ROM_WORDS[family]) - 1
    return MemoryCost("logic", 0, (leaves + joins) * width, 0)


def memory_cost(depth: int, width: int, device: Device, writable: bool = False) -> tuple[int, int]:
    """(block RAMs, LUTs) of :func:`memory_resources`."""
    cost = memory_resources(depth, width, device, writable)
    return cost.brams, cost.luts


def _memory(name: str, depth: int, width: int, device: Device, writable: bool = False) -> MemoryUse:
    return MemoryUse(name, depth, width, memory_resources(depth, width, device, writable))


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
    "ResourceFit",
    "LayerEstimate",
    "MemoryCost",
    "MemoryUse",
    "adder_tree_luts",
    "board_fit",
    "bridge_cost",
    "converter_cost",
    "estimate",
    "estimate_plan",
    "estimate_unit",
    "line_buffer_rows",
    "memory_cost",
    "memory_resources",
]


def _window_estimate(u: UnitPlan, device: Device) -> tuple[int, int, MemoryUse]:
    """(LUTs, FFs, line buffer) of hwbnn_sliding_window for a planned unit."""
    g = u.window
    assert g is not None
    words = g.rows * g.w * g.c // u.simd
    width = u.in_width
    coord = clog2(2 * (g.h + g.w) + g.kernel + g.stride + 2)
    addr = max(1, clog2(words))
    ram = _memory("line buffer", words, width, device, writable=True)
    luts = 24 * coord + 8 * addr + width + CONTROL_LUTS + ram.cost.luts
    ffs = 9 * coord + 3 * addr + 2 * width + CONTROL_FFS + ram.cost.ffs
    return luts, ffs, ram


def _graph_estimate(u: UnitPlan, device: Device) -> LayerEstimate:
    """Forks (a beat register, one valid per output), add-joins (an adder per element and
    stage), concatenations (a multiplexer and counters) and thresholds (a comparator per
    element and step, the threshold ROM)."""
    memories: tuple[MemoryUse, ...] = ()
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
        memories = (_memory("thresholds", rom.depth, rom.word_bits, device),)
        selections = 2 if u.side else 1
        compare = u.simd * u.steps * (u.threshold_bits + 1) * selections
        luts = compare + u.simd * u.out_bits + memories[0].cost.luts + CONTROL_LUTS // 2
        ffs = u.simd * u.out_bits + rom.word_bits + CONTROL_FFS // 2
    return _with_memories(LayerEstimate(u.name, 0, luts, ffs, 0, 0, u.cycles), memories)


def _with_memories(layer: LayerEstimate, memories: tuple[MemoryUse, ...]) -> LayerEstimate:
    """``layer`` with the block RAMs and bits of ``memories`` (their LUTs and FFs are in
    ``layer`` already, priced with the unit's logic)."""
    return replace(
        layer,
        brams=layer.brams + sum(m.cost.brams for m in memories),
        memory_bits=layer.memory_bits + sum(m.depth * m.width for m in memories),
        memories=memories,
    )


def estimate_unit(u: UnitPlan, device: Device) -> LayerEstimate:
    """The estimate of one planned unit (widths and memories from hwbnn.plan)."""
    if u.kind in (UnitKind.FORK, UnitKind.ADD_JOIN, UnitKind.CONCAT, UnitKind.THRESHOLD):
        return _graph_estimate(u, device)
    if u.kind in (UnitKind.SLIDING_WINDOW, UnitKind.MAX_POOL):
        luts, ffs, ram = _window_estimate(u, device)
        if u.kind is UnitKind.MAX_POOL:
            luts += 2 * u.simd + CONTROL_LUTS // 2
            ffs += u.mw + u.simd + CONTROL_FFS // 2
        return _with_memories(LayerEstimate(u.name, 0, luts, ffs, 0, 0, u.cycles), (ram,))
    if u.kind is UnitKind.INPUT_THRESHOLD:
        rom = u.thresholds
        assert rom is not None
        tmem = _memory("thresholds", rom.depth, rom.word_bits, device)
        layer = LayerEstimate(
            u.name,
            lanes=u.simd,
            luts=u.simd * u.threshold_bits + tmem.cost.luts + CONTROL_LUTS // 2,
            ffs=u.simd * u.threshold_bits + CONTROL_FFS // 2,
            brams=0,
            memory_bits=0,
            cycles=u.cycles,
        )
        return _with_memories(layer, (tmem,))
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
    # two stages of operand registers (weights and inputs), the sums, the output register
    ffs = 2 * (pe * simd + simd * b) + pe * (2 * sum_width + u.out_bits) + CONTROL_FFS
    weights = u.weights
    assert weights is not None
    memories = [_memory("weights", weights.depth, weights.word_bits, device)]
    if u.thresholds is not None:
        rom = u.thresholds
        memories.append(_memory("thresholds", rom.depth, rom.word_bits, device))
    # the double-buffered input vector, written at run time
    memories.append(_memory("input buffer", 2 * u.sf, u.in_width, device, writable=True))
    layer = LayerEstimate(
        u.name,
        lanes=pe * simd,
        luts=luts + sum(m.cost.luts for m in memories),
        ffs=ffs + sum(m.cost.ffs for m in memories),
        brams=0,
        memory_bits=0,
        cycles=u.cycles,
    )
    return _with_memories(layer, tuple(memories))


def converter_cost(c: Converter) -> tuple[int, int]:
    """(LUTs, FFs) of a width converter (hwbnn_axis_width_converter): the partial word and
    the output word in registers, a load multiplexer per output bit and a beat counter."""
    wide, narrow = max(c.in_width, c.out_width), min(c.in_width, c.out_width)
    counter = clog2(wide // narrow + 1)
    return wide + 4 * counter, 2 * wide - narrow + counter + 3


def estimate_plan(plan: Plan, device: Device) -> Estimate:
    """The analytical estimate of a hardware plan on ``device``; a width converter is counted
    with the unit it follows."""
    layers = []
    for index, u in enumerate(plan.units):
        layer = estimate_unit(u, device)
        converter = plan.converter_after(index)
        if converter is not None:
            luts, ffs = converter_cost(converter)
            layer = replace(layer, luts=layer.luts + luts, ffs=layer.ffs + ffs)
        layers.append(layer)
    return Estimate(device.name, tuple(layers), plan.initiation_interval)


def estimate(net: Network, folding: Folding, device: Device) -> Estimate:
    """The analytical estimate of ``net`` folded as ``folding`` on ``device``."""
    return estimate_plan(build_plan(net, folding), device)


def bridge_cost(link: LinkFormat) -> tuple[int, int]:
    """(LUTs, FFs) of the board top's UART bridge around ``hwbnn_top`` (receiver, transmitter,
    byte/beat packers, power-on reset): measured 150 LUT4 and 162 FFs on iCE40 with 5-bit input
    and 45-bit output beats, most of it fixed, the rest one or two registers per beat bit."""
    return 110 + link.in_width + link.out_width, 80 + 2 * (link.in_width + link.out_width)


@dataclass(frozen=True)
class ResourceFit:
    """One resource of a board: the estimate of the whole board top and what the FPGA has."""

    name: str
    estimated: int
    available: int

    @property
    def fraction(self) -> float:
        return self.estimated / self.available

    @property
    def fits(self) -> bool:
        return self.estimated <= self.available


def board_fit(est: Estimate, device: Device, link: LinkFormat) -> tuple[ResourceFit, ...]:
    """The estimate of the board top (``est`` plus the UART bridge, :func:`bridge_cost`)
    against ``device``, per resource: LUT4 (LUT6 on 7-series), FFs and block RAMs.

    On iCE40 a logic cell holds one LUT4 and one FF, which share it only when the LUT drives
    the FF, so the logic resource is logic cells, counted as LUT4s plus half the FFs (nextpnr:
    6,406 cells for 4,667 LUT4 + 2,725 FFs, digits MLP at 64 cycles/frame; 811 for 586 + 432
    fully folded). ECP5 slices hold LUT4s and FFs apart, so they are checked apart."""
    bridge_luts, bridge_ffs = bridge_cost(link)
    luts, ffs = est.luts + bridge_luts, est.ffs + bridge_ffs
    if device.family is Family.ICE40:
        logic = ResourceFit("logic cells (LUT4 + FF)", luts + math.ceil(ffs / 2), device.luts)
    else:
        logic = ResourceFit(f"LUT{device.lut_inputs}", luts, device.luts)
    return (
        logic,
        ResourceFit("FF", ffs, device.ffs),
        ResourceFit("block RAM", est.brams, device.brams),
    )
