"""Analytical resource model of a folded network (LUTs, FFs, block RAMs) for a device.

Matrix-vector units (rtl/hwbnn_mvau.v) and DBF units (rtl/hwbnn_dbf.v) are priced by
hwbnn.fpga.estimate_mvau (its docstring gives the parts and their fit).

A CI-BCNN interaction (hwbnn_interact) costs its registers, ``C*IN_BITS + (LEVELS + 1)*C*
OUT_BITS`` FFs plus control, and per level the two constant comparisons of each source
channel (``OUT_BITS`` LUTs together), 1.5 LUTs per bit and edge (its ``+-c`` term and its adder
in the channel's sum), an ``OUT_BITS`` adder per interacted channel and, when a pixel takes
several beats, the serializer's shift multiplexer (one LUT per bit). Checked on the three
interaction units of a digits-cnn with random 2-level graphs (21-80 edges, synth_ecp5, LUT4 +
2 per CCU2C): LUTs within -7%..+21%, FFs within 3% (docs/graphs.md).

An input-threshold unit costs a (B+1)-bit comparison per SIMD lane and its threshold ROM; with
one beat per frame the thresholds are constants and each compare a LUT function of its B code
bits (:data:`CONST_COMPARE_LUTS_PER_BIT`), and the unit has no register (the beat passes through).

A sliding window (hwbnn_sliding_window) costs its line buffer, :func:`line_buffer_rows` rows
(the window's extent D*(K-1)+1 with dilation D, plus the stride) of ``W*C`` elements of B bits
(1 for bits) in one RAM of ``SIMD*B``-bit words, and counters: about 24 LUTs and 9 FFs per bit
of a pixel coordinate, 8 LUTs and 3 FFs per address bit, and two registers of ``SIMD*B`` bits
(memory read, output). A max pool is a sliding window on bits (padding bit 0) plus
hwbnn_window_or: a CHANNELS-bit shift register of partial ORs, two LUTs per SIMD lane. Neither
has XNOR lanes. (Calibrated on yosys synth_ecp5 of a 30x30x64 window
generator at SIMD 16: 365 LUT-equivalents, 164 FFs, one block RAM.)
A majority pool is a sliding window with its padding plus hwbnn_window_majority
(:func:`majority_cost`): per output lane (``min(SIMD, C)``) a count adder, its compare and the
threshold selection, :data:`MAJORITY_LANE_LUTS` LUTs, plus the popcount of the MMV positions of
a beat (:func:`adder_tree_luts` of MMV bits); FFs: the ``C`` partial counts of
``clog2(K*K+1)`` bits, the output beat and the counters. Fitted to synth_ecp5 of the module out
of context (K = 3; C/SIMD 8/2, 16/2, 16/4, 8/8, 64/16, 32/32, 4/12, 4/36): LUT4 slots within
-9%..+7%, FFs within 4 (the counters of MMV > 1 are narrower).
The model is meant for choosing a folding before synthesis; report.json puts it beside the
yosys and nextpnr counts, which are the truth.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from hwbnn.fpga.boards import Device, Family
from hwbnn.fpga.estimate_memory import (
    BRAM_COST,
    BRAM_SHAPES,
    LOGIC_ROM_WORDS,
    MemoryCost,
    MemoryUse,
    memory_cost,
    memory_resources,
    memory_use,
)
from hwbnn.fpga.estimate_mvau import (
    CONTROL_FFS,
    CONTROL_LUTS,
    adder_tree_luts,
    dbf_cost,
    mvau_cost,
)
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

#: hwbnn_window_majority: LUTs per output lane and of its counters (synth_ecp5 fit)
MAJORITY_LANE_LUTS = 22
MAJORITY_CONTROL_LUTS = 17
MAJORITY_CONTROL_FFS = 8
#: an hwbnn_axis_fifo's handshakes and flags, beside 4 LUTs per pointer bit (yosys synth_ecp5
#: of the digits CNN: 20-36 LUT4 for FIFOs of 2-4 beats)
FIFO_CONTROL_LUTS: dict[Family, int] = {Family.ECP5: 4, Family.ICE40: 20}
#: a sliding window's LUTs per bit of a pixel coordinate (hwbnn_sliding_window_ctrl: about
#: 200 LUT4 on ECP5 and 140 on iCE40 for an 8x8 image)
WINDOW_COORD_LUTS: dict[Family, int] = {Family.ECP5: 24, Family.ICE40: 16}
#: a sliding window's flip-flops beside its coordinates, addresses and data registers
WINDOW_CONTROL_FFS = 20
#: an input-threshold unit's fixed logic (yosys: 98 LUT4 on ECP5, 84 on iCE40 and 14 FFs at
#: SIMD 1, 6-bit thresholds of 64 inputs)
THRESHOLD_CONTROL_LUTS: dict[Family, int] = {Family.ECP5: 70, Family.ICE40: 36}
THRESHOLD_CONTROL_FFS = 8
#: an input-threshold compare against a constant threshold (one beat per frame: hwbnn_input_
#: threshold writes it as gates, synthesis folds it into a LUT function of the code), LUT4 per
#: element and input bit above 2 (yosys, ECP5, random thresholds: 64 elements of 3, 4, 5, 8
#: bits 0.44, 0.6, 1.0, 2.3 LUT4 each with the control; 784 of 8 bits 2.47)
CONST_COMPARE_LUTS_PER_BIT = 0.42


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


__all__ = [
    "BRAM_COST",
    "BRAM_SHAPES",
    "LOGIC_ROM_WORDS",
    "Estimate",
    "LayerEstimate",
    "MemoryCost",
    "MemoryUse",
    "converter_cost",
    "estimate",
    "estimate_plan",
    "estimate_unit",
    "fifo_estimate",
    "line_buffer_rows",
    "majority_cost",
    "memory_cost",
    "memory_resources",
]


def _window_estimate(u: UnitPlan, device: Device) -> tuple[int, int, MemoryUse]:
    """(LUTs, FFs, line buffer) of hwbnn_sliding_window for a planned unit; at SIMD = m*C
    (m window positions per beat) the line buffer is m identical memories, one per position."""
    g = u.window
    assert g is not None
    reads = u.in_per_beat
    copies = u.simd // reads
    words = g.rows * g.w * g.c // reads
    width = u.in_width
    extent = g.dilation * (g.kernel - 1) + 1  # rows (columns) a window spans
    coord = clog2(2 * (g.h + g.w) + extent + g.stride + 2)
    addr = max(1, clog2(words))
    one = memory_use("line buffer", words, width, device, writable=True)
    c = one.cost
    cost = replace(c, brams=copies * c.brams, luts=copies * c.luts, ffs=copies * c.ffs)
    ram = replace(one, width=copies * width, cost=cost)
    per_coord = WINDOW_COORD_LUTS.get(device.family, 24)
    luts = per_coord * coord + 8 * addr * copies + u.out_width + CONTROL_LUTS + ram.cost.luts
    ffs = 9 * coord + 3 * addr * copies + 2 * u.out_width + WINDOW_CONTROL_FFS + ram.cost.ffs
    return luts, ffs, ram


def majority_cost(u: UnitPlan) -> tuple[int, int]:
    """(LUTs, FFs) of hwbnn_window_majority for a planned majority pool (module docstring)."""
    g = u.window
    assert g is not None
    lanes = u.out_per_beat
    mmv = u.simd // lanes if u.simd > lanes else 1
    count_bits = clog2(g.kernel * g.kernel + 1)
    luts = lanes * (MAJORITY_LANE_LUTS + adder_tree_luts(mmv, 1)) + MAJORITY_CONTROL_LUTS
    ffs = g.c * count_bits + lanes + MAJORITY_CONTROL_FFS
    return luts, ffs


def _graph_estimate(u: UnitPlan, device: Device) -> LayerEstimate:
    """Forks (a beat register, one valid per output), add-joins (an adder per element and
    stage), concatenations (a multiplexer and counters), thresholds (a comparator per
    element and step, the threshold ROM) and CI-BCNN interactions (module docstring)."""
    memories: tuple[MemoryUse, ...] = ()
    if u.kind is UnitKind.FORK:
        luts, ffs = u.outputs + 2, u.in_width + u.outputs
    elif u.kind is UnitKind.ADD_JOIN:
        bits = sum(u.chain_bits)
        luts, ffs = u.simd * bits, u.simd * bits + 2 * len(u.chain_bits)
    elif u.kind is UnitKind.INTERACTION:
        _, _, edges, compares, targets = u.interaction
        c, out_bits = u.mw, u.out_bits
        shift = c * out_bits if u.simd < c else 0
        terms = 3 * edges * out_bits // 2  # an edge's +-c term and its adder in the channel's sum
        luts = compares * out_bits + terms + targets * out_bits + shift + CONTROL_LUTS // 2
        ffs = c * u.in_bits + (u.steps + 1) * c * out_bits + u.steps + CONTROL_FFS // 2
    elif u.kind is UnitKind.CONCAT:
        stages = len(u.port_channels) - 1
        luts = stages * (u.out_width + CONTROL_LUTS // 2)
        ffs = stages * (u.out_width + CONTROL_FFS // 2)
    else:
        rom = u.thresholds
        assert rom is not None
        memories = (memory_use("thresholds", rom.depth, rom.word_bits, device),)
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
    if u.kind in (
        UnitKind.FORK,
        UnitKind.ADD_JOIN,
        UnitKind.CONCAT,
        UnitKind.THRESHOLD,
        UnitKind.INTERACTION,
    ):
        return _graph_estimate(u, device)
    if u.kind in (UnitKind.SLIDING_WINDOW, UnitKind.MAX_POOL, UnitKind.MAJORITY_POOL):
        luts, ffs, ram = _window_estimate(u, device)
        if u.kind is UnitKind.MAX_POOL:
            luts += 2 * u.simd + CONTROL_LUTS // 2
            ffs += u.mw + u.simd + CONTROL_FFS // 2
        elif u.kind is UnitKind.MAJORITY_POOL:
            pool_luts, pool_ffs = majority_cost(u)
            luts, ffs = luts + pool_luts, ffs + pool_ffs
        return _with_memories(LayerEstimate(u.name, 0, luts, ffs, 0, 0, u.cycles), (ram,))
    if u.kind is UnitKind.DBF:
        luts, ffs, roms = dbf_cost(u, device)
        return _with_memories(
            LayerEstimate(u.name, u.bases * u.simd, luts, ffs, 0, 0, u.cycles), roms
        )
    if u.kind is UnitKind.INPUT_THRESHOLD:
        rom = u.thresholds
        assert rom is not None
        tmem = memory_use("thresholds", rom.depth, rom.word_bits, device)
        if rom.depth == 1:
            # constant thresholds: a LUT function per element, no adder, and no register or
            # control at all (one beat per frame passes through)
            compare = math.ceil(u.simd * CONST_COMPARE_LUTS_PER_BIT * max(u.threshold_bits - 3, 1))
            control_luts = control_ffs = 0
        else:  # a (B+1)-bit comparison per element
            compare = u.simd * u.threshold_bits
            control_luts = THRESHOLD_CONTROL_LUTS.get(device.family, CONTROL_LUTS)
            # the output beat, and the thresholds of a beat (folded into the compare at 2 words)
            beat_ffs = u.simd * (u.threshold_bits if rom.depth > 2 else 1)
            control_ffs = beat_ffs + THRESHOLD_CONTROL_FFS
        layer = LayerEstimate(
            u.name,
            lanes=u.simd,
            luts=compare + tmem.cost.luts + control_luts,
            ffs=control_ffs,
            brams=0,
            memory_bits=0,
            cycles=u.cycles,
        )
        return _with_memories(layer, (tmem,))
    luts, ffs, memories = mvau_cost(u, device)
    layer = LayerEstimate(u.name, u.pe * u.simd, luts, ffs, 0, 0, u.cycles)
    return _with_memories(layer, memories)


def converter_cost(c: Converter) -> tuple[int, int]:
    """(LUTs, FFs) of a width converter (hwbnn_axis_width_converter): the partial word and
    the output word in registers, a load multiplexer per output bit and a beat counter."""
    wide, narrow = max(c.in_width, c.out_width), min(c.in_width, c.out_width)
    counter = clog2(wide // narrow + 1)
    ffs = 2 * wide - narrow + counter + 3
    if c.in_width < c.out_width:  # narrow to wide: the word fills by enables, no multiplexer
        return 3 * counter + 1, ffs
    return 2 * wide + 8 * counter, ffs


def fifo_estimate(depth: int, width: int, device: Device) -> tuple[int, int, MemoryUse]:
    """(LUTs, FFs, memory) of an hwbnn_axis_fifo of ``depth`` beats of ``width`` bits: a RAM
    of the next power of two words of ``width + 1`` bits (tlast beside tdata), two pointers
    and their compare, the output register and flags."""
    words = 1 << clog2(depth)
    ram = memory_use("FIFO", words, width + 1, device, writable=True)
    addr = max(1, clog2(words))
    luts = FIFO_CONTROL_LUTS.get(device.family, CONTROL_LUTS // 2) + 4 * addr + ram.cost.luts
    ffs = 2 * addr + width + 1 + 3 + ram.cost.ffs
    return luts, ffs, ram


def _fifos(plan: Plan) -> dict[int, list[tuple[int, int]]]:
    """(depth, width) of the FIFOs after each unit: a chain's ``fifo_depth`` (never after the
    last unit), a graph's edges."""
    after: dict[int, list[tuple[int, int]]] = {}
    if plan.edges:
        for e in plan.edges:
            if e.fifo_depth and e.src >= 0:
                after.setdefault(e.src, []).append((e.fifo_depth, e.src_width))
        return after
    for u in plan.units[:-1]:
        if u.fifo_depth:
            after[u.index] = [(u.fifo_depth, u.out_width)]
    return after


def estimate_plan(plan: Plan, device: Device) -> Estimate:
    """The analytical estimate of a hardware plan on ``device``; a width converter and the
    FIFOs (:func:`fifo_estimate`) are counted with the unit they follow."""
    layers = []
    fifos = _fifos(plan)
    for index, u in enumerate(plan.units):
        layer = estimate_unit(u, device)
        converter = plan.converter_after(index)
        if converter is not None:
            luts, ffs = converter_cost(converter)
            layer = replace(layer, luts=layer.luts + luts, ffs=layer.ffs + ffs)
        for depth, width in fifos.get(u.index, []):
            luts, ffs, ram = fifo_estimate(depth, width, device)
            layer = replace(
                layer,
                luts=layer.luts + luts,
                ffs=layer.ffs + ffs,
                brams=layer.brams + ram.cost.brams,
                memory_bits=layer.memory_bits + ram.depth * ram.width,
                memories=(*layer.memories, ram),
            )
        layers.append(layer)
    return Estimate(device.name, tuple(layers), plan.initiation_interval)


def estimate(net: Network, folding: Folding, device: Device) -> Estimate:
    """The analytical estimate of ``net`` folded as ``folding`` on ``device``."""
    return estimate_plan(build_plan(net, folding), device)
