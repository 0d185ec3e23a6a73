"""hwbnn_popcount_cell: every KIND on all 16 input words against its definition.

The cocotb test (``cell_truth_table``) drives each 4-bit input and compares ``out`` = {carry,
sum} with the sum of the cell's three one-bit terms (rtl/hwbnn_popcount_cell.v's header):
two XNOR lanes (KIND 0), two bits and an XNOR lane (KIND 1), a half adder's {g, p} plus an
XNOR lane (KIND 2, for the inputs a half adder can produce: g and p never both 1), three bits
(KIND 3), and with constant weights W picked by the select in[3]: three lanes (KIND 4), two
bits and a lane (KIND 5), for several W.
"""

from __future__ import annotations

from pathlib import Path

import cocotb
import pytest
from cocotb.triggers import Timer

from hwbnn.resources import rtl_files
from hwbnn.sim.runner import run_cocotb
from hwbnn.sim.tb import param


def cell_model(kind: int, word: int, w: int = 0) -> int | None:
    """{carry, sum} of the cell's terms for input ``word`` (and weights ``w``), or None where
    KIND 2's {g, p} is not a half adder's output."""
    bit = [(word >> i) & 1 for i in range(4)]
    weight = [(w >> (3 * bit[3] + k)) & 1 for k in range(3)]  # lane k's weight at select in[3]
    if kind == 4:
        return sum(int(bit[k] == weight[k]) for k in range(3))
    if kind == 5:
        return bit[0] + bit[1] + int(bit[2] == weight[0])
    xnor_low, xnor_high = int(bit[0] == bit[1]), int(bit[2] == bit[3])
    if kind == 0:
        return xnor_low + xnor_high
    if kind == 1:
        return bit[0] + bit[1] + xnor_high
    if kind == 2:
        p, g = bit[0], bit[1]
        return None if p and g else 2 * g + p + xnor_high
    return bit[0] + bit[1] + bit[2]


@cocotb.test()
async def cell_truth_table(dut):
    """out equals the model on every input word."""
    kind, w = param(dut, "KIND"), param(dut, "W")
    cell_in = getattr(dut, "in")  # the port is named in, a Python keyword
    checked = 0
    for word in range(16):
        cell_in.value = word
        await Timer(1, "ns")
        expected = cell_model(kind, word, w)
        if expected is None:
            continue
        got = int(dut.out.value)
        assert got == expected, f"KIND {kind} in {word:04b}: out {got:02b} != {expected:02b}"
        checked += 1
    assert checked == (12 if kind == 2 else 16)


@pytest.mark.parametrize(
    ("kind", "w"),
    [
        (0, 0),
        (1, 0),
        (2, 0),
        (3, 0),
        (4, 0b000000),
        (4, 0b101110),
        (4, 0b010011),
        (5, 0b001000),
        (5, 0b000001),
    ],
)
def test_hwbnn_popcount_cell(tmp_path: Path, kind: int, w: int) -> None:
    run_cocotb(
        sources=rtl_files("hwbnn_popcount_cell"),
        toplevel="hwbnn_popcount_cell",
        test_module=Path(__file__),
        build_dir=tmp_path,
        parameters={"KIND": kind, "W": w},
    )
