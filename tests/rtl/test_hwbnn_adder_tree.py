"""hwbnn_adder_tree: the sum of N operands, exact against Python's sum, REGS enabled cycles late.

The cocotb test (``adder_tree_sums``) drives random operands (and the extreme ones: all at the
largest and all at the smallest value), a random tag, a random clock enable and one reset
pulse, and checks ``sum`` and ``tag`` after every clock edge against a model of the pipeline:
REGS stages that shift when ``en`` is high, the tag stages cleared by ``rst``. The derived
parameters read back from the DUT must equal their definitions. ``test_hwbnn_adder_tree``
drives it from pytest over operand counts, widths, signedness and registers per level;
``test_word_popcount_model_equals_the_tree`` runs the same checks on the simulation model that
``HWBNN_FAST_POPCOUNT`` selects for 1-bit unsigned operands (the fast engine's build), so both
forms meet one model cycle by cycle.
"""

from __future__ import annotations

import random
from pathlib import Path

import cocotb
import pytest
from cocotb.triggers import ReadOnly, RisingEdge

from hwbnn.resources import rtl_files
from hwbnn.sim.runner import get_tb_args, run_cocotb
from hwbnn.sim.tb import param, start_clock_and_reset


def pack(values: list[int], width: int) -> int:
    """Operands LSB first, two's complement in ``width`` bits."""
    mask = (1 << width) - 1
    return sum((v & mask) << (i * width) for i, v in enumerate(values))


@cocotb.test()
async def adder_tree_sums(dut):
    """sum and tag equal the model after every edge, under random en and one reset pulse."""
    args = get_tb_args()
    n, width, signed = param(dut, "N"), param(dut, "OPERAND_WIDTH"), param(dut, "SIGNED")
    levels_per_reg, tag_width = param(dut, "LEVELS_PER_REG"), param(dut, "TAG_WIDTH")
    depth = (n - 1).bit_length()  # ceil(log2(N))
    regs = param(dut, "REGS")
    assert param(dut, "SUM_WIDTH") == width + depth
    assert regs == ((depth - 1) // levels_per_reg if depth > 0 else 0)
    assert regs == args["regs"], f"REGS={regs}, the case expects {args['regs']}"
    low, high = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)
    sum_mask = (1 << (width + depth)) - 1
    rng = random.Random(args["seed"])

    dut.en.value = 0
    dut.in_data.value = 0
    dut.in_tag.value = 0
    await start_clock_and_reset(dut)
    # stage k holds (sum, tag) after register k; sums are unknown until filled, tags are 0
    stages: list[tuple[int | None, int]] = [(None, 0)] * regs
    reset_at = args["cycles"] // 2
    checked = 0
    for cycle in range(args["cycles"]):
        if cycle < 4:  # the extremes first: the largest and the smallest sums
            operands = [high if cycle % 2 == 0 else low] * n
        else:
            operands = [rng.randint(low, high) for _ in range(n)]
        tag = rng.getrandbits(tag_width)
        en = cycle < 4 or rng.random() < args["en_prob"]
        rst = cycle == reset_at
        dut.in_data.value = pack(operands, width)
        dut.in_tag.value = tag
        dut.en.value = int(en)
        dut.rst.value = int(rst)
        await ReadOnly()
        expected_sum, expected_tag = stages[-1] if regs else (sum(operands), tag)
        assert int(dut.tag.value) == expected_tag, f"cycle {cycle}: tag"
        if expected_sum is not None:
            got = int(dut.sum.value)
            assert got == expected_sum & sum_mask, f"cycle {cycle}: sum {got} != {expected_sum}"
            checked += 1
        await RisingEdge(dut.clk)
        if regs and en:
            stages = [(sum(operands), tag), *stages[:-1]]
        if rst:
            stages = [(s, 0) for s, _ in stages]
    assert checked > args["cycles"] // 3, f"only {checked} sums checked"


@pytest.mark.parametrize(
    ("n", "width", "signed", "levels_per_reg", "regs"),
    [
        (1, 1, 0, 3, 0),  # a single operand passes through
        (2, 1, 0, 3, 0),  # one half adder
        (5, 4, 0, 3, 0),
        (7, 3, 1, 1, 2),  # a register after every level but the last
        (64, 1, 0, 3, 1),  # the MVAU's XNOR tree for SIMD = 64
        (64, 1, 0, 2, 2),
        (20, 5, 1, 2, 2),
        (300, 9, 1, 3, 2),
    ],
)
def test_hwbnn_adder_tree(
    tmp_path: Path, n: int, width: int, signed: int, levels_per_reg: int, regs: int
) -> None:
    run_cocotb(
        sources=rtl_files("hwbnn_adder_tree"),
        toplevel="hwbnn_adder_tree",
        test_module=Path(__file__),
        build_dir=tmp_path,
        parameters={
            "N": n,
            "OPERAND_WIDTH": width,
            "SIGNED": signed,
            "LEVELS_PER_REG": levels_per_reg,
            "TAG_WIDTH": 3,
        },
        tb_args={"seed": n * 100 + width, "cycles": 300, "en_prob": 0.7, "regs": regs},
    )


@pytest.mark.parametrize(
    ("n", "levels_per_reg", "regs"),
    [(1, 3, 0), (5, 1, 2), (100, 3, 2), (576, 3, 3)],
)
def test_word_popcount_model_equals_the_tree(
    tmp_path: Path, n: int, levels_per_reg: int, regs: int
) -> None:
    run_cocotb(
        sources=rtl_files("hwbnn_adder_tree"),
        toplevel="hwbnn_adder_tree",
        test_module=Path(__file__),
        build_dir=tmp_path,
        parameters={
            "N": n,
            "OPERAND_WIDTH": 1,
            "SIGNED": 0,
            "LEVELS_PER_REG": levels_per_reg,
            "TAG_WIDTH": 3,
        },
        defines=["HWBNN_FAST_POPCOUNT"],
        simulator="verilator",
        tb_args={"seed": n, "cycles": 300, "en_prob": 0.7, "regs": regs},
    )
