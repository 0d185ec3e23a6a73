"""hwbnn_popcount: the XNOR popcount of two N-bit words, exact, REGS enabled cycles late.

The cocotb test (``popcount_sums``) drives random operand words (and the extremes first: all
lanes equal, all lanes different, then words with one equal lane and one different lane, so
each carry-in lane and each leaf is seen alone), a random tag, a random clock enable and one
reset pulse, and checks ``sum`` and ``tag`` after every clock edge against a model of the
pipeline: REGS stages that shift when ``en`` is high, the tag stages cleared by ``rst``. The
derived parameters read back from the DUT must equal their definitions, and REGS must equal
hwbnn_adder_tree's for the same N (the MVAU's latency does not depend on which one it uses).
``test_hwbnn_popcount`` runs the full-adder tree under Icarus over lane counts (odd levels,
lone nodes, lanes left for the upper levels), registers per level and carry-chain levels;
``test_word_popcount_model_equals_the_tree`` runs the same checks on the simulation model that
``HWBNN_FAST_POPCOUNT`` selects (the fast engine's Verilator build), so both forms meet one
model cycle by cycle. With ``CONST_A`` the first operands are row ``in_sel`` of the parameter
``A_ROWS`` (random rows, a random select each cycle; ``in_a`` is driven with noise that must not
matter): ``test_constant_rows`` runs both forms over the same sizes.
"""

from __future__ import annotations

import random
from pathlib import Path

import cocotb
import pytest
from cocotb.triggers import ReadOnly, RisingEdge

from hwbnn.resources import rtl_files
from hwbnn.sim.runner import Bits, get_tb_args, run_cocotb
from hwbnn.sim.tb import param, start_clock_and_reset


def operand_words(n: int, cycle: int, rng: random.Random) -> tuple[int, int]:
    """(in_a, in_b) for one cycle: the extremes, then one lane at a time, then random."""
    mask = (1 << n) - 1
    a = rng.getrandbits(n)
    if cycle < 2:  # all lanes equal, then all different
        return a, a if cycle == 0 else a ^ mask
    lane = cycle - 2
    if lane < 2 * n:  # lane k alone equal (then alone different)
        one = 1 << (lane % n)
        return a, (a ^ mask ^ one) if lane < n else (a ^ one)
    return a, rng.getrandbits(n)


@cocotb.test()
async def popcount_sums(dut):
    """sum and tag equal the model after every edge, under random en and one reset pulse."""
    args = get_tb_args()
    n, levels_per_reg = param(dut, "N"), param(dut, "LEVELS_PER_REG")
    tag_width = param(dut, "TAG_WIDTH")
    depth = (n - 1).bit_length()  # ceil(log2(N))
    regs = param(dut, "REGS")
    assert param(dut, "SUM_WIDTH") == depth + 1
    assert regs == ((depth - 1) // levels_per_reg if depth > 0 else 0)
    assert regs == args["regs"], f"REGS={regs}, the case expects {args['regs']}"
    rng = random.Random(args["seed"])
    cycles = args["cycles"] + 2 * n

    rows = args.get("rows")  # CONST_A: (row 0, row 1)
    dut.en.value = 0
    dut.in_a.value = 0
    dut.in_sel.value = 0
    dut.in_b.value = 0
    dut.in_tag.value = 0
    await start_clock_and_reset(dut)
    # stage k holds (sum, tag) after register k; sums are unknown until filled, tags are 0
    stages: list[tuple[int | None, int]] = [(None, 0)] * regs
    reset_at = cycles // 2
    checked = 0
    for cycle in range(cycles):
        a, b = operand_words(n, cycle, rng)
        if rows is not None:  # the select picks the row; in_a gets noise
            select = rng.getrandbits(1)
            dut.in_sel.value = select
            a, b = rows[select], (b ^ a ^ rows[select])  # keep the extremes' equal lanes
            dut.in_a.value = rng.getrandbits(n)
        count = n - bin(a ^ b).count("1")
        tag = rng.getrandbits(tag_width)
        en = cycle < 2 * n + 2 or rng.random() < args["en_prob"]
        rst = cycle == reset_at
        if rows is None:
            dut.in_a.value = a
        dut.in_b.value = b
        dut.in_tag.value = tag
        dut.en.value = int(en)
        dut.rst.value = int(rst)
        await ReadOnly()
        expected_sum, expected_tag = stages[-1] if regs else (count, tag)
        assert int(dut.tag.value) == expected_tag, f"cycle {cycle}: tag"
        if expected_sum is not None:
            got = int(dut.sum.value)
            assert got == expected_sum, f"cycle {cycle}: sum {got} != {expected_sum}"
            checked += 1
        await RisingEdge(dut.clk)
        if regs and en:
            stages = [(count, tag), *stages[:-1]]
        if rst:
            stages = [(s, 0) for s, _ in stages]
    assert checked > cycles // 3, f"only {checked} sums checked"


@pytest.mark.parametrize(
    ("n", "levels_per_reg", "chain_level", "regs"),
    [
        (1, 3, 5, 0),  # a single lane: one XNOR
        (2, 3, 5, 0),  # two lanes: one half adder
        (3, 3, 5, 0),  # one full node
        (7, 1, 5, 2),  # a register after every level but the last
        (17, 3, 5, 1),  # lone nodes, lanes for the upper levels
        (64, 3, 5, 1),  # the MVAU's SIMD 64
        (100, 2, 3, 3),  # carry-chain sums from level 3, a register every 2 levels
        (196, 3, 2, 2),  # every level above the first a carry-chain sum
    ],
)
def test_hwbnn_popcount(
    tmp_path: Path, n: int, levels_per_reg: int, chain_level: int, regs: int
) -> None:
    run_cocotb(
        sources=rtl_files("hwbnn_popcount"),
        toplevel="hwbnn_popcount",
        test_module=Path(__file__),
        build_dir=tmp_path,
        parameters={
            "N": n,
            "LEVELS_PER_REG": levels_per_reg,
            "CHAIN_LEVEL": chain_level,
            "TAG_WIDTH": 3,
        },
        tb_args={"seed": n, "cycles": 200, "en_prob": 0.7, "regs": regs},
    )


@pytest.mark.parametrize(("n", "levels_per_reg", "regs"), [(1, 3, 0), (17, 1, 4), (576, 3, 3)])
def test_word_popcount_model_equals_the_tree(
    tmp_path: Path, n: int, levels_per_reg: int, regs: int
) -> None:
    run_cocotb(
        sources=rtl_files("hwbnn_popcount"),
        toplevel="hwbnn_popcount",
        test_module=Path(__file__),
        build_dir=tmp_path,
        parameters={"N": n, "LEVELS_PER_REG": levels_per_reg, "TAG_WIDTH": 3},
        defines=["HWBNN_FAST_POPCOUNT"],
        simulator="verilator",
        tb_args={"seed": n, "cycles": 200, "en_prob": 0.7, "regs": regs},
    )


@pytest.mark.parametrize(
    ("n", "levels_per_reg", "chain_level", "regs", "fast"),
    [
        (1, 3, 5, 0, False),
        (2, 3, 5, 0, False),
        (7, 1, 5, 2, False),
        (17, 3, 5, 1, False),
        (100, 2, 3, 3, False),
        (196, 3, 2, 2, False),
        (17, 1, 4, 4, True),
        (576, 3, 4, 3, True),
    ],
)
def test_constant_rows(
    tmp_path: Path, n: int, levels_per_reg: int, chain_level: int, regs: int, fast: bool
) -> None:
    rng = random.Random(n)
    rows = (rng.getrandbits(n), rng.getrandbits(n))
    run_cocotb(
        sources=rtl_files("hwbnn_popcount"),
        toplevel="hwbnn_popcount",
        test_module=Path(__file__),
        build_dir=tmp_path,
        parameters={
            "N": n,
            "LEVELS_PER_REG": levels_per_reg,
            "CHAIN_LEVEL": chain_level,
            "TAG_WIDTH": 3,
            "CONST_A": 1,
            "A_ROWS": Bits((rows[1] << n) | rows[0], 2 * n),
        },
        defines=["HWBNN_FAST_POPCOUNT"] if fast else [],
        simulator="verilator" if fast else "icarus",
        tb_args={"seed": n, "cycles": 200, "en_prob": 0.7, "regs": regs, "rows": rows},
    )
