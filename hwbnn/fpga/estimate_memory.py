"""Where a memory of a unit goes (block RAM, LUT RAM, LUT logic, registers) and what it costs.

Memories follow yosys' ``memory_libmap`` (the pass synth_ecp5 and synth_ice40 run): a memory
goes to block RAM only when the blocks cost strictly less than the soft logic it replaces,
where a block costs 128 (ECP5 DP16KD/PDPW16KD) or 64 (iCE40 SB_RAM40_4K), tiled on the
block's cheapest aspect ratio (width 1, 2, 4, 9, 18, 36 for ECP5; 2, 4, 8, 16 for iCE40, where
narrower words share an entry: 8192 x 1 takes two blocks) plus half a LUT per output bit for
each extra address range (the read multiplexer joining the ranges or depth slices; its select,
the address bits above a block registered as the read is, are the memory's FFs), and soft
logic costs 1/16 per ROM bit and 1 per RAM bit (ECP5 RAMs may also go to 16x4 LUT RAMs of cost 4: a
TRELLIS_DPR16X4 takes 4 LUT4 slots, and joining several 16-word ranges half a LUT per bit
and extra range). So on iCE40 a ROM of
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
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hwbnn.fpga.boards import Device, Family

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


#: yosys memory_libmap cost of one block RAM, per family (lattice/brams_16kd.txt,
#: ice40/brams.txt); soft logic costs 1/16 per ROM bit and 1 per RAM bit
BRAM_COST: dict[Family, int] = {Family.ECP5: 128, Family.ICE40: 64}
#: a ROM in logic of at most this many words: its equal columns share one LUT (8 x 288 bits
#: of random weights took 135 LUT4 on ECP5, not 288)
SHARED_COLUMN_DEPTH = 8
#: words of a ROM column that one LUT (and, on ECP5, its free wide multiplexers) holds
LOGIC_ROM_WORDS: dict[Family, int] = {Family.ECP5: 128, Family.ICE40: 16}


#: a block RAM read multiplexer of more block outputs per bit than this costs
#: WIDE_MUX_LUTS_PER_STEP LUT4 per 2:1 step (yosys synth_ecp5, measured on LFC: 1.47 and 1.74)
WIDE_MUX_OUTPUTS = 128
WIDE_MUX_LUTS_PER_STEP = 1.65
#: a memory packed to the bit whose words are narrower than a block word (at most 8 bits) and
#: that spans more than this many depth slices costs WIDE_MUX_LUTS_PER_STEP per step as well
NARROW_PACKED_SLICES = 16


def _bram_tiling(depth: int, width: int, family: Family) -> tuple[int, float, int, int]:
    """(blocks, memory_libmap cost, read multiplexer LUTs, its select FFs) of the cheapest
    block RAM tiling, of two kinds per block shape (w bits x d words):

    - words side by side: ``k`` narrow words share an entry, over ``ranges`` address ranges;
      the multiplexer takes about 3/4 LUT4 per 2:1 step and output bit up to
      :data:`WIDE_MUX_OUTPUTS` block outputs (sfc's 50,176 x 4 weights on 11 PDPW16KD, 9 words
      an entry, 99 outputs per bit: 308 LUT4), and :data:`WIDE_MUX_LUTS_PER_STEP` above (lfc's
      1-bit weights: 802,816 x 1 on 44 DP16KD of 2,048 x 9, 396 outputs: 581 LUT4;
      1,048,576 x 1 on 57, 513 outputs: 890 and 862 LUT4);
    - packed to the bit: the ``slices = ceil(depth / d)`` depth slices of the memory laid side
      by side as one ``d`` x ``slices * width`` memory on ``ceil(slices * width / w)`` blocks,
      and one LUT4 per 2:1 step and output bit to pick the slice (measured, yosys 0.70 ECP5:
      14,336 x 14 on 11 DP16KD of 2,048 x 9 with 84 LUT4, 3,584 x 56 on 11 of 512 x 36 with
      336 LUT4, where the first kind needs 14; 28,672 x 7 in 14 slices with 84; 65,536 x 16
      in 32 slices on 57 with 502), but :data:`WIDE_MUX_LUTS_PER_STEP` for words of at most
      8 bits over more than :data:`NARROW_PACKED_SLICES` slices (LFC at SIMD 8: 100,352 x 8
      in 49 slices on 44 blocks with 613 LUT4, 131,072 x 8 in 64 on 57 with 813; 32,768 x 8
      in 16 slices took 248, 2.07 per step, not modelled).

    The multiplexer picks among ``n`` block outputs with the address bits above the blocks',
    ``clog2(n)`` of them, registered as the block's read is (yosys memory_libmap; out of
    context 2 FFs for 65,536 x 1 on 4 DP16KD, 4 for 28,672 x 7 as 14 slices).
    """
    best: tuple[int, float, int, int] | None = None
    unit = BRAM_COST.get(family, 0)
    for w, d in BRAM_SHAPES[family]:
        shared = max(1, w // width)  # narrow words share a wide port's entries
        ranges = math.ceil(depth / (d * shared))
        blocks = math.ceil(width / w) * ranges
        cost = unit * blocks + 0.5 * (ranges - 1) * width
        outputs = min(shared, math.ceil(depth / d)) * ranges  # block outputs a bit picks from
        per_step = 0.75 if outputs <= WIDE_MUX_OUTPUTS else WIDE_MUX_LUTS_PER_STEP
        mux = math.ceil(per_step * (outputs - 1) * width)
        slices = math.ceil(depth / d)
        packed = math.ceil(slices * width / w)
        packed_cost = unit * packed + 0.5 * (slices - 1) * width
        side = (blocks, cost, mux, _select_bits(outputs))
        narrow = width <= 8 and slices > NARROW_PACKED_SLICES
        packed_mux = math.ceil((WIDE_MUX_LUTS_PER_STEP if narrow else 1) * (slices - 1) * width)
        for option in (side, (packed, packed_cost, packed_mux, _select_bits(slices))):
            if best is None or option[1] < best[1]:
                best = option
    assert best is not None
    return best


def _select_bits(outputs: int) -> int:
    """Address bits that pick one of ``outputs`` block outputs (0 for one)."""
    return (outputs - 1).bit_length() if outputs > 1 else 0


def memory_resources(
    depth: int, width: int, device: Device, writable: bool = False, rom_style: str | None = None
) -> MemoryCost:
    """Where a ``depth`` x ``width`` memory goes on ``device`` and what it costs (see the
    module docstring): a ROM (``writable`` False, contents from a file) or a RAM written at
    run time (input buffers, line buffers). A ROM's ``rom_style`` ``block`` or ``logic``
    forces block RAM or LUTs (the RTL's rom_style attribute); None lets the cost decide."""
    bits = depth * width
    family = device.family
    if bits == 0 or (depth == 1 and not writable):  # one word: constants
        return MemoryCost("logic", 0, 0, 0)
    if rom_style not in (None, "block", "logic"):
        raise ValueError(f"rom_style must be 'block', 'logic' or None, got {rom_style!r}")
    if family not in BRAM_COST:  # 7-series: the quarter-block rule
        blocks = min(math.ceil(width / w) * math.ceil(depth / d) for w, d in BRAM_SHAPES[family])
        if rom_style == "block" or (rom_style is None and bits * 4 >= device.bram_bits):
            return MemoryCost("bram", blocks, 0, 0)
        return MemoryCost("logic", 0, math.ceil(depth / (1 << device.lut_inputs)) * width, 0)
    blocks, block_cost, mux, select = _bram_tiling(depth, width, family)
    lut_words = 1 << device.lut_inputs
    if writable:
        candidates = [(float(bits), "registers")]
        if family is Family.ECP5:  # TRELLIS_DPR16X4: 16 words x 4 bits, cost 4
            ranges = math.ceil(depth / 16)
            lutram = 4 * ranges * math.ceil(width / 4) + 0.5 * (ranges - 1) * width
            candidates.append((lutram, "lutram"))
        logic_cost, kind = min(candidates)
        if block_cost < int(logic_cost):
            return MemoryCost("bram", blocks, mux, select)
        if kind == "lutram":
            return MemoryCost("lutram", 0, math.ceil(logic_cost), 0)
        return MemoryCost("registers", 0, width * (depth - 1), bits)
    if rom_style == "block" or (rom_style is None and block_cost < int(bits / 16)):
        return MemoryCost("bram", blocks, mux, select)
    leaves = math.ceil(depth / lut_words)
    joins = math.ceil(depth / LOGIC_ROM_WORDS[family]) - 1
    columns = width
    if depth <= SHARED_COLUMN_DEPTH:  # equal columns share their LUT: the expected distinct
        functions = 1 << depth  # columns of random contents, of 2^depth possible
        columns = math.ceil(functions * (1 - (1 - 1 / functions) ** width))
    return MemoryCost("logic", 0, (leaves + joins) * columns, 0)


def memory_cost(depth: int, width: int, device: Device, writable: bool = False) -> tuple[int, int]:
    """(block RAMs, LUTs) of :func:`memory_resources`."""
    cost = memory_resources(depth, width, device, writable)
    return cost.brams, cost.luts


def memory_use(
    name: str,
    depth: int,
    width: int,
    device: Device,
    writable: bool = False,
    rom_style: str | None = None,
) -> MemoryUse:
    """The memory ``name`` of a unit with where it goes (:func:`memory_resources`)."""
    cost = memory_resources(depth, width, device, writable, rom_style)
    return MemoryUse(name, depth, width, cost)
