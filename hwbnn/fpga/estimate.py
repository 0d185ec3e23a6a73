"""Analytical resource model of a folded network (LUTs, FFs, block RAMs) for a device.

Per matrix-vector unit (rtl/hwbnn_mvau.v) with fan-in MW, MH outputs, PE x SIMD lanes, B
input bits:

- lane sums, per PE: XNOR lanes from SIMD 16 go to hwbnn_popcount (full-adder cells with the
  XNORs inside, carry chains above level 3): :data:`POPCOUNT_LUTS_PER_LANE` LUT4 per lane.
  Below SIMD 16 (hwbnn_adder_tree), a K-input LUT holds the XNOR and the first adder level of
  ``g = K // 2`` lanes and emits their 2-bit count (``2 * ceil(SIMD / g)`` LUTs), then the
  partial counts are added pairwise, one LUT per result bit. With B > 1: a +-code adder of
  B+1 bits per lane, then the pairwise tree;
- accumulator, comparison: one LUT per bit of the running sum and of the threshold compare,
  per PE, the counters (:func:`mvau_counter_bits`: weight address, fold, SIMD group, input
  word, vector; :data:`MVAU_COUNTER_LUTS_PER_BIT` each on ECP5, so deep weight ROMs and long
  vectors cost more) and the unit's other control (:data:`MVAU_CONTROL_LUTS`, more for a unit
  that emits accumulators);
- FFs: two stages of operand registers (PE*SIMD weight bits, SIMD*B input bits: a_w/b_w and
  a_x/b_x; a block RAM holds the first weight stage), the trees' pipeline registers (one
  after every third adder level: about SIMD/2 per PE after level 3, SIMD/8 after each later
  one, and the control word beside them), the accumulators and the output register per PE,
  the counters and four copies of the fold index (the operand, lane-sum and accumulate
  stages), a block RAM's output select (:func:`memory_resources`) and, on ECP5, the
  registered write port of an input buffer in block RAM, and :data:`MVAU_CONTROL_FFS`;
- a width converter (:func:`converter_cost`) and a FIFO (:func:`fifo_estimate`) after the
  unit are counted with it;
- memories: the weight ROM (``MH*MW`` bits, words of ``PE*SIMD``) where the plan stores it
  (``Memory.storage``: a ROM whose kind the cost decides, or forced to block RAM or LUTs),
  the threshold ROM (``MH`` thresholds, words of ``PE*THRESH_WIDTH``) and the
  double-buffered input vector (``2*MW*B`` bits, a RAM), priced by :func:`memory_resources`.
  Constant weights (at most two words: PE*SIMD covers the layer or half of it) have no
  memory and no weight registers, and their lanes no XNOR
  (:data:`CONSTANT_POPCOUNT_LUTS_PER_LANE`).

The constants were fitted to yosys (0.70, YoWASP; the project's synth_ecp5 / synth_ice40
scripts, flattened designs) on the digits MLP and a small conv net at several foldings
(benchmarks/estimate_accuracy.py; the table in docs/benchmarks.md);
tests/fpga/test_estimate_synth.py keeps the ECP5 estimate within 15% of them.

A DBF unit (rtl/hwbnn_dbf.v, M bases, B bases per cycle, ALPHA_BITS-bit alpha, D-bit slot
values: the count P_m of bits or the sum d_m of codes) has no block RAM. Basis stage: per basis
the lanes of hwbnn_mvau_lanes priced as the MVAU's (constant codes), the running sum over the
beats (:data:`DBF_ACCUMULATE_LUTS_PER_BIT` per bit when MW/SIMD > 1), and the codes' ROM in
logic from three beats per vector. Combination: the basis fold's D picked from the two slots
(a 2*(M/B)-to-1 multiplexer per bit), alpha's ROM (NF*M/B words of PE*B*ALPHA_BITS bits)
unless alpha is a constant of each product, the products (ALPHA_BITS*D AND gates and
ALPHA_BITS-1 adders each; one adder for a constant alpha), an adder tree per PE, the running
sum over the basis folds, the fold constants' ROM and the compare. The ROMs are priced by
:func:`~hwbnn.fpga.estimate_memory.memory_resources` in logic, times :data:`DBF_ROM_FACTOR`.
FFs: the input beat, the lanes' registers, two slots of M values, the issued D, alpha and the
products, the trees' registers, the running sums, constants, output and counters. Fitted to
yosys synth_ecp5 (benchmarks/dbf_fmax.py, out of context) on the three units of the DBF
digits-mlp at 256 and 1,024 cycles/frame and five random unit sizes (bits and 8-bit codes, 1 to
4 beats per vector, constant and ROM alpha): LUT4 slots within -11%..+9%, FFs within
-8%..+15%; the whole build at 256 and 1,024 cycles/frame within +7% and -3% (docs/dbf.md).
A CI-BCNN interaction (hwbnn_interact) costs its registers, ``C*IN_BITS + (LEVELS + 1)*C*
OUT_BITS`` FFs plus control, and per level the two constant comparisons of each source
channel (``OUT_BITS`` LUTs together), 1.5 LUTs per bit and edge (its ``+-c`` term and its adder
in the channel's sum), an ``OUT_BITS`` adder per interacted channel and, when a pixel takes
several beats, the serializer's shift multiplexer (one LUT per bit). Checked on the three
interaction units of a digits-cnn with random 2-level graphs (21-80 edges, synth_ecp5, LUT4 +
2 per CCU2C): LUTs within -7%..+21%, FFs within 3% (docs/graphs.md).

An input-threshold unit costs a (B+1)-bit comparison per SIMD lane and its threshold ROM; with
one beat per frame the thresholds are constants and each compare a LUT function of its B code
bits (:data:`CONST_COMPARE_LUTS_PER_BIT`).

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
from hwbnn.ir.folding import Folding, WeightStorage
from hwbnn.ir.types import Network
from hwbnn.plan import (
    Converter,
    Memory,
    Plan,
    UnitKind,
    UnitPlan,
    build_plan,
    clog2,
    line_buffer_rows,
)

CONTROL_LUTS = 40
#: hwbnn_window_majority: LUTs per output lane and of its counters (synth_ecp5 fit)
MAJORITY_LANE_LUTS = 22
MAJORITY_CONTROL_LUTS = 17
MAJORITY_CONTROL_FFS = 8
CONTROL_FFS = 40
#: an hwbnn_axis_fifo's handshakes and flags, beside 4 LUTs per pointer bit (yosys synth_ecp5
#: of the digits CNN: 20-36 LUT4 for FIFOs of 2-4 beats)
FIFO_CONTROL_LUTS: dict[Family, int] = {Family.ECP5: 4, Family.ICE40: 20}
#: a sliding window's LUTs per bit of a pixel coordinate (hwbnn_sliding_window_ctrl: about
#: 200 LUT4 on ECP5 and 140 on iCE40 for an 8x8 image)
WINDOW_COORD_LUTS: dict[Family, int] = {Family.ECP5: 24, Family.ICE40: 16}
#: a sliding window's flip-flops beside its coordinates, addresses and data registers
WINDOW_CONTROL_FFS = 20
#: an MVAU's input buffer banks, flags and handshakes beside its counters (yosys synth_ecp5
#: of the digits MLP and a small conv net, 2026-12-06; the counters' LUT4s on ECP5 and the
#: fold index copies' FFs split off 2026-12-07), and the accumulator output's extra logic
#: (2*popcount - MW, signed) of a unit that emits accumulators
MVAU_CONTROL_LUTS: dict[Family, int] = {Family.ECP5: 30, Family.ICE40: 45}
MVAU_CONTROL_FFS: dict[Family, int] = {Family.ECP5: 20, Family.ICE40: 40}
#: LUT4 slots per bit of an MVAU's counters (:func:`mvau_counter_bits`): on ECP5 the
#: incrementer's half CCU2C, the clear/hold LUT4 and a quarter LUT4 of the compare with the
#: last value (yosys synth_ecp5 out of context: 2.0-2.3 per bit at 26 to 42 counter bits,
#: 256 x 256 at SIMD 1: 89 LUT4 for 40 bits); iCE40 keeps them in MVAU_CONTROL_LUTS
MVAU_COUNTER_LUTS_PER_BIT: dict[Family, float] = {Family.ECP5: 2.25}
MVAU_OUTPUT_LUTS: dict[Family, int] = {Family.ECP5: 40, Family.ICE40: 0}
#: hwbnn_popcount (rtl/hwbnn_popcount.v), chosen by hwbnn_mvau for XNOR lanes from SIMD 16:
#: lane logic per lane (docs/benchmarks.md: 2.42-2.47 LUT4 per lane at 64 to 1,024 lanes)
POPCOUNT_SIMD = 16
POPCOUNT_LUTS_PER_LANE = 2.45
#: the same with constant weights (hwbnn_popcount CONST_A: no XNOR, commit 42c9134: 1.9 LUT4
#: per lane at 256 lanes out of context); with one word a PE counts only the inputs of its
#: sparser weight half and adds one count of all inputs that the PEs share (hwbnn_mvau_lanes)
CONSTANT_POPCOUNT_LUTS_PER_LANE = 1.9
#: PEs per copy of the input register on the sparser-half path (rtl/hwbnn_mvau.v X_GROUP)
MVAU_X_GROUP = 8
#: a DBF unit (rtl/hwbnn_dbf.v): LUT4 slots per bit of a basis' running sum over the beats
#: (the slot's multiplexer, the first beat's bypass, the adder), and its control
DBF_ACCUMULATE_LUTS_PER_BIT = 3
DBF_CONTROL_LUTS = 40
DBF_CONTROL_FFS = 30
#: the DBF unit's ROMs in logic (codes, alpha, constants: narrow fields of random values)
#: measured about a third above hwbnn.fpga.estimate_memory's ROM model (alpha 256 x 64:
#: 1,460 LUT4 slots against 1,088)
DBF_ROM_FACTOR = 4 / 3
#: adder levels per pipeline register of the lane-sum trees (hwbnn_mvau TREE_LEVELS_PER_REG):
#: XNOR counts, and sums of +-codes
TREE_LEVELS_PER_REG = 3
CODE_TREE_LEVELS_PER_REG = 2
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
    "BRAM_COST",
    "BRAM_SHAPES",
    "LOGIC_ROM_WORDS",
    "Estimate",
    "LayerEstimate",
    "MemoryCost",
    "MemoryUse",
    "adder_tree_luts",
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
        return _dbf_estimate(u, device)
    if u.kind is UnitKind.INPUT_THRESHOLD:
        rom = u.thresholds
        assert rom is not None
        tmem = memory_use("thresholds", rom.depth, rom.word_bits, device)
        if rom.depth == 1:  # constant thresholds: a LUT function per element, no adder
            compare = math.ceil(u.simd * CONST_COMPARE_LUTS_PER_BIT * max(u.threshold_bits - 3, 1))
        else:  # a (B+1)-bit comparison per element
            compare = u.simd * u.threshold_bits
        layer = LayerEstimate(
            u.name,
            lanes=u.simd,
            luts=compare + tmem.cost.luts + THRESHOLD_CONTROL_LUTS.get(device.family, CONTROL_LUTS),
            # the thresholds of a beat in a register (folded into the compare at 1-2 words)
            ffs=u.simd * (u.threshold_bits if rom.depth > 2 else 1) + THRESHOLD_CONTROL_FFS,
            brams=0,
            memory_bits=0,
            cycles=u.cycles,
        )
        return _with_memories(layer, (tmem,))
    pe, simd, b = u.pe, u.simd, u.in_bits
    binary = b == 1
    assert u.weights is not None
    constant = u.weights.storage is WeightStorage.CONSTANT
    sum_width = u.popcount_bits if binary else u.acc_bits
    per_reg = TREE_LEVELS_PER_REG if binary else CODE_TREE_LEVELS_PER_REG
    tree_regs = (clog2(simd) - 1) // per_reg if simd > 1 else 0
    tree_ffs = 0
    shared = shared_ffs = 0  # logic and registers shared by the PEs
    if binary and simd >= POPCOUNT_SIMD:  # hwbnn_popcount, the XNORs in its cells
        per_lane = CONSTANT_POPCOUNT_LUTS_PER_LANE if constant else POPCOUNT_LUTS_PER_LANE
        lane_luts, tree = math.ceil(per_lane * simd), 0
        if constant and u.weights.depth == 1:
            # hwbnn_mvau_lanes: a PE counts the inputs of its sparser weight half (at most
            # SIMD/2, no XNOR) and adds the count of all inputs, shared by the PEs
            lane_luts = math.ceil(CONSTANT_POPCOUNT_LUTS_PER_LANE * simd / 2) + sum_width
            shared = math.ceil(CONSTANT_POPCOUNT_LUTS_PER_LANE * simd)
        half = constant and u.weights.depth == 1
        counted = simd // 2 if half else simd
        if tree_regs:  # half the lanes' sums after level 3, an eighth after each later one
            tree_ffs = counted // 2 + (tree_regs - 1) * counted // 8
        if half:  # the register before 2P - S + n0: each PE's count, and S; S and the
            # input register once per group of MVAU_X_GROUP PEs
            tree_ffs += clog2(counted) + 1
            copies = math.ceil(pe / MVAU_X_GROUP)
            shared_ffs = copies * (clog2(simd) + 1) + (copies - 1) * simd
            tree_regs += 1
    elif binary:
        group = max(1, device.lut_inputs // 2)
        groups = math.ceil(simd / group)
        lane_luts = 2 * groups
        tree = adder_tree_luts(groups, 2)
        tree_ffs = tree_regs * math.ceil(simd / 8) * 4
    else:
        lane_luts = simd * (b + 1)
        tree = adder_tree_luts(simd, b + 1)
        tree_ffs = tree_regs * math.ceil(simd / 8) * (b + 4)
    compare = 0 if u.is_output else u.threshold_bits + 1
    control = MVAU_CONTROL_LUTS.get(device.family, CONTROL_LUTS)
    per_bit = MVAU_COUNTER_LUTS_PER_BIT.get(device.family, 0.0)
    control += math.ceil(per_bit * mvau_counter_bits(u))
    if u.emits_acc:
        control += MVAU_OUTPUT_LUTS.get(device.family, 0)
    luts = pe * (lane_luts + tree + sum_width + compare) + shared + control
    # two stages of operand registers (weights and inputs), the trees' pipeline registers
    # and the control word travelling with them, the accumulators, the output register
    tag = (max(1, clog2(u.nf)) + 4) * tree_regs
    memories = [] if constant else [_weight_memory(u.weights, device)]
    # the weights' two register stages (a block RAM holds the first, and yosys registers the
    # address instead of the word of a ROM in logic of at most 8 words, as measured on the
    # digits CNN; constant weights have only the word select), the inputs' two, the counters
    # and addresses
    words = u.weights.depth
    if constant or memories[0].cost.kind == "bram":
        first = 0
    else:
        first = clog2(words) if words <= 8 else pe * simd
    stages = 0 if constant else pe * simd + first
    ffs = stages + 2 + 2 * simd * b + pe * (tree_ffs + sum_width + u.out_bits) + shared_ffs
    # the counters, and the fold index travelling with the pair through the operand, lane-sum
    # and accumulate stages (a_ctrl, b_ctrl, s2_nf, s3_nf) to pick the thresholds and tlast
    counters = mvau_counter_bits(u) + 4 * clog2(u.nf)
    ffs += tag + MVAU_CONTROL_FFS.get(device.family, CONTROL_FFS) + counters
    # the output's second place (skid: a beat, its tlast and valid; a 2:1 multiplexer per bit
    # before the output register) and the copies of the pipeline enable: one for the control,
    # one per PE and one per copy of the inputs
    skid = pe * u.out_bits
    half_path = binary and constant and words == 1 and simd >= POPCOUNT_SIMD
    x_copies = math.ceil(pe / MVAU_X_GROUP) if half_path else 1
    luts += skid
    ffs += skid + 2 + 1 + pe + x_copies
    if u.thresholds is not None:
        rom = u.thresholds
        tmem = memory_use("thresholds", rom.depth, rom.word_bits, device)
        memories.append(tmem)
        if rom.depth > 8 and tmem.cost.kind != "bram":
            # read a stage early and registered again beside stage 3: a ROM in logic has
            # both words in flip-flops (yosys registers the address of one of at most 8
            # words instead; a block RAM holds the first)
            ffs += rom.word_bits
    # the double-buffered input vector, written at run time; in an ECP5 block RAM its write
    # port (address, beat, enable) gets a register stage of its own (yosys synth_ecp5: 9-11
    # FFs at the 512 x 1 buffers of SFC's SIMD-1 layers, 16 at 224 x 7; not measured on iCE40,
    # whose FF estimate is above yosys' already)
    # (none at one beat per vector and one fold: the beat goes straight to the operands)
    if u.sf > 1 or u.nf > 1:
        ibuf = memory_use("input buffer", 2 * u.sf, u.in_width, device, writable=True)
        memories.append(ibuf)
        if ibuf.cost.kind == "bram" and device.family is Family.ECP5:
            ffs += clog2(ibuf.depth) + ibuf.width + 1
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


def mvau_counter_bits(u: UnitPlan) -> int:
    """Bits of an MVAU's counters (rtl/hwbnn_mvau.v), each an incrementer with a clear at its
    last value: the weight address over the vector's ``NF*SF`` (fold, SIMD group) pairs, the
    fold and the SIMD group being issued, the input word being written and the vector of the
    frame being loaded. Deep weight ROMs and long vectors widen them (SFC's 256 x 256 layers at
    SIMD 1: 40 bits, the digits MLP's layers 23-29)."""
    return clog2(u.nf * u.sf) + clog2(u.nf) + 2 * clog2(u.sf) + clog2(u.pixels)


def _dbf_estimate(u: UnitPlan, device: Device) -> LayerEstimate:
    """A DBF unit (rtl/hwbnn_dbf.v; the module docstring gives the parts and their fit)."""
    m, simd, b, pe, mb = u.bases, u.simd, u.in_bits, u.pe, u.bases_per_cycle
    bf, sf, nf = m // mb, u.sf, u.nf
    binary = b == 1
    d = u.popcount_bits - 1 if binary else u.popcount_bits  # a slot's P_m (bits) or d_m
    prod = d + u.alpha_bits  # alpha * D
    # the basis stage: per basis the lanes against its code (hwbnn_mvau_lanes), the running
    # sum over the beats; the codes' ROM of SF words from three beats on
    lane_ffs = 0
    if binary and simd >= POPCOUNT_SIMD:
        per_lane = CONSTANT_POPCOUNT_LUTS_PER_LANE if sf <= 2 else POPCOUNT_LUTS_PER_LANE
        lanes = m * math.ceil(per_lane * simd)
        counted = simd
        if sf == 1:  # the sparser half of each code, and the count of all inputs once
            lanes = m * (math.ceil(per_lane * simd / 2) + d) + math.ceil(per_lane * simd)
            counted = simd // 2
            lane_ffs = m * (clog2(counted) + 1) + clog2(simd) + 1
        regs = (clog2(simd) - 1) // TREE_LEVELS_PER_REG
        if regs:  # as the MVAU's: half the lanes' sums after level 3, an eighth later
            lane_ffs += m * (counted // 2 + (regs - 1) * counted // 8)
    elif binary:
        groups = math.ceil(simd / max(1, device.lut_inputs // 2))
        lanes = m * (groups + adder_tree_luts(groups, 2))
    else:
        lanes = m * (simd * (b + 1) + adder_tree_luts(simd, b + 1))
        lane_ffs = (
            m * ((clog2(simd) - 1) // CODE_TREE_LEVELS_PER_REG) * math.ceil(simd / 4) * (b + 2)
        )
    accumulate = m * d * DBF_ACCUMULATE_LUTS_PER_BIT if sf > 1 else 0
    per_reg = TREE_LEVELS_PER_REG if binary else CODE_TREE_LEVELS_PER_REG
    if sf > 1 and clog2(simd) > per_reg:  # the lanes' sums registered before the running sum
        lane_ffs += m * (clog2(simd + 1) if binary else clog2(simd * ((1 << b) - 1) + 1) + 1)
    roms = []
    if sf > 2:
        roms.append(memory_use("codes", sf, m * simd, device, rom_style="logic"))
    # the combination stage: the basis fold's D from the slots (a 2*BF-to-1 multiplexer per
    # bit), alpha from its ROM unless constant, the products (shift-add), a tree per PE, the
    # running sum over the basis folds, the fold's constants and the compare (or 2Y' - K)
    select = mb * d * (bf + max(0, bf // 4 - 1))
    if nf * bf > 1:
        roms.append(memory_use("alpha", nf * bf, pe * mb * u.alpha_bits, device, rom_style="logic"))
        product = u.alpha_bits * d + (u.alpha_bits - 1) * prod
    else:  # constant alpha: about one adder of shifted copies of D (or a negation)
        product = prod
    if nf > 1:
        roms.append(memory_use("constants", nf, pe * (u.acc_bits + 1), device, rom_style="logic"))
    running = 2 * u.acc_bits if bf > 1 else 0
    per_pe = mb * product + adder_tree_luts(mb, prod) + running + u.acc_bits
    luts = lanes + accumulate + select + pe * per_pe + DBF_CONTROL_LUTS
    luts += math.ceil(DBF_ROM_FACTOR * sum(r.cost.luts for r in roms))
    # FFs: the input beat and its flags, the lanes' registers, the two slots, the issued D
    # and alpha, the products, the trees' registers, the running sums, the constants, the
    # output register, the tags and counters
    tree_regs = (clog2(mb) - 1) // 2 if mb > 1 else 0
    ffs = simd * b + lane_ffs + 2 * m * d + mb * d
    if nf * bf > 1:
        ffs += pe * mb * (u.alpha_bits + prod)
    else:  # constant alpha: equal bits of the products' registers (sign, zeros) merge
        ffs += pe * mb * (prod // 2)
    ffs += pe * (tree_regs * (mb // 4) * (prod + 2) + u.acc_bits + u.out_bits)
    ffs += pe * (u.acc_bits + 1) if nf > 1 else 0
    counters = 2 * clog2(sf) + 2 * clog2(nf) + 2 * clog2(bf) + clog2(u.pixels)
    ffs += counters + DBF_CONTROL_FFS
    layer = LayerEstimate(u.name, m * simd, luts, ffs, 0, 0, u.cycles)
    return _with_memories(layer, tuple(roms))


def _weight_memory(weights: Memory | None, device: Device) -> MemoryUse:
    """The weight ROM where the plan stores it: synthesis' choice, or forced to block RAM or
    logic (constant weights have no memory)."""
    assert weights is not None and weights.storage is not WeightStorage.CONSTANT
    style = {WeightStorage.BLOCK_RAM: "block", WeightStorage.LUT_ROM: "logic"}
    return memory_use(
        "weights", weights.depth, weights.word_bits, device, rom_style=style.get(weights.storage)
    )


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
