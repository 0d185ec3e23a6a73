"""Resource model of the matrix-vector units (rtl/hwbnn_mvau.v) and the DBF units
(rtl/hwbnn_dbf.v), for hwbnn.fpga.estimate.

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
  registered write port of an input buffer in block RAM, and :data:`MVAU_CONTROL_FFS`; the
  places behind the output register (one; two when the pipeline enable has two register
  levels) and the enable's copies; on the constant sparser-half path the inputs once per
  :data:`MVAU_X_GROUP` PEs and their first stage once per :data:`MVAU_X_MID_GROUP` of those,
  the count of all inputs likewise;
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
"""

from __future__ import annotations

import math

from hwbnn.fpga.boards import Device, Family
from hwbnn.fpga.estimate_memory import MemoryUse, memory_use
from hwbnn.ir.folding import WeightStorage
from hwbnn.plan import Memory, UnitPlan, clog2

#: a unit's fixed control logic where no unit- or family-specific figure exists
CONTROL_LUTS = 40
CONTROL_FFS = 40
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
MVAU_X_GROUP = 4
#: copies of the input register per copy of its first stage (a_x), once there are more copies
#: (rtl/hwbnn_mvau.v X_MID_GROUP)
MVAU_X_MID_GROUP = 4
#: output bits per copy of the output places' state at two enable levels (rtl/hwbnn_mvau.v
#: OUT_GROUP), and each copy's flip-flops (valid, skid count, s3_valid, enable) and LUT4s
#: (yosys synth_ecp5, 64 x 64 at PE 64 SIMD 64: 7 more copies, +35 FFs and +41 LUT4)
MVAU_OUT_GROUP = 8
MVAU_OUT_GROUP_FFS = 5
MVAU_OUT_GROUP_LUTS = 6
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


def adder_tree_luts(operands: int, width: int) -> int:
    """LUTs of a pairwise tree adding ``operands`` numbers of ``width`` bits (one per bit)."""
    total = 0
    while operands > 1:
        pairs = operands // 2
        width += 1
        total += pairs * width
        operands = operands - pairs
    return total


def mvau_cost(u: UnitPlan, device: Device) -> tuple[int, int, tuple[MemoryUse, ...]]:
    """(LUTs, FFs, memories) of a matrix-vector unit (the module docstring gives the parts);
    the memories' LUTs and FFs are in the totals."""
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
            copies = mvau_x_copies(pe)
            shared_ffs = copies * (clog2(simd) + 1) + (copies - 1) * simd
            # and the input register's first stage once per MVAU_X_MID_GROUP of those, S's
            # first level alike (one copy of S per mid when there are several)
            mids = mvau_x_mids(pe)
            shared_ffs += (mids - 1) * simd + (mids * (clog2(simd) + 1) if mids > 1 else 0)
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
    # the accumulator's adder (none with one SIMD group per vector: each pair is a whole sum)
    accumulate = sum_width if u.sf > 1 else 0
    luts = pe * (lane_luts + tree + accumulate + compare) + shared + control
    # two stages of operand registers (weights and inputs), the trees' pipeline registers
    # and the control word travelling with them, the accumulators, the output register
    tag = (max(1, clog2(u.nf)) + 4) * tree_regs
    memories = [] if constant else [weight_memory(u.weights, device)]
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
    # the output's places behind the output register (skid: one, or two when the pipeline
    # enable has two levels; a beat and its tlast each, a 2:1 multiplexer per bit before the
    # output register) and the copies of the pipeline enable: one for the control, one per PE
    # and per copy of the inputs; at two levels a first level of copies (one per a_x copy),
    # one per a_x copy, one for s_axis_tready, and 3 more per copy of the inputs' registers
    # (a_x and b_x: one enable copy per quarter of their bits)
    half_path = binary and constant and words == 1 and simd >= POPCOUNT_SIMD
    x_copies = mvau_x_copies(pe) if half_path else 1
    mids = mvau_x_mids(pe) if half_path else 1
    places = 2 if mids > 1 else 1
    skid = places * pe * u.out_bits
    luts += skid
    ffs += skid + 2 + 1 + pe + x_copies
    if mids > 1:
        ffs += 2 * mids + 1 + 3 * (mids + x_copies)
        # the output places' state and its logic once per group of output bits
        groups = math.ceil(pe * u.out_bits / MVAU_OUT_GROUP)
        luts += MVAU_OUT_GROUP_LUTS * (groups - 1)
        ffs += MVAU_OUT_GROUP_FFS * (groups - 1)
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
    luts += sum(m.cost.luts for m in memories)
    ffs += sum(m.cost.ffs for m in memories)
    return luts, ffs, tuple(memories)


def mvau_x_copies(pe: int) -> int:
    """Copies of the second input register of an MVAU of ``pe`` PEs on the constant
    sparser-half path: one per MVAU_X_GROUP PEs."""
    return math.ceil(pe / MVAU_X_GROUP)


def mvau_x_mids(pe: int) -> int:
    """Copies of the first input register (a_x) of an MVAU of ``pe`` PEs on the constant
    sparser-half path: one per MVAU_X_MID_GROUP copies of the second once there are more."""
    copies = mvau_x_copies(pe)
    return math.ceil(copies / MVAU_X_MID_GROUP) if copies > MVAU_X_MID_GROUP else 1


def mvau_counter_bits(u: UnitPlan) -> int:
    """Bits of an MVAU's counters (rtl/hwbnn_mvau.v), each an incrementer with a clear at its
    last value: the weight address over the vector's ``NF*SF`` (fold, SIMD group) pairs, the
    fold and the SIMD group being issued, the input word being written and the vector of the
    frame being loaded. Deep weight ROMs and long vectors widen them (SFC's 256 x 256 layers at
    SIMD 1: 40 bits, the digits MLP's layers 23-29)."""
    return clog2(u.nf * u.sf) + clog2(u.nf) + 2 * clog2(u.sf) + clog2(u.pixels)


def dbf_cost(u: UnitPlan, device: Device) -> tuple[int, int, tuple[MemoryUse, ...]]:
    """(LUTs, FFs, ROMs) of a DBF unit (rtl/hwbnn_dbf.v; the module docstring gives the parts
    and their fit); the ROMs' LUTs are in the LUTs."""
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
    return luts, ffs, tuple(roms)


def weight_memory(weights: Memory | None, device: Device) -> MemoryUse:
    """The weight ROM where the plan stores it: synthesis' choice, or forced to block RAM or
    logic (constant weights have no memory)."""
    assert weights is not None and weights.storage is not WeightStorage.CONSTANT
    style = {WeightStorage.BLOCK_RAM: "block", WeightStorage.LUT_ROM: "logic"}
    return memory_use(
        "weights", weights.depth, weights.word_bits, device, rom_style=style.get(weights.storage)
    )
