"""hwbnn_compare_ge: ``ge = (a >= b)``, unsigned or two's complement, as ">=" or as gates.

The cocotb test (``compare_matches_python``) drives every pair of a and b up to 5 bits (500
random pairs above) and checks ``ge`` against Python's comparison of the values read
unsigned or as two's complement.
"""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import cocotb
import pytest
from cocotb.triggers import Timer

from hwbnn.resources import rtl_files
from hwbnn.sim.runner import run_cocotb
from hwbnn.sim.tb import param


def value(bits: int, width: int, signed: bool) -> int:
    return bits - (1 << width) if signed and bits >> (width - 1) else bits


@cocotb.test()
async def compare_matches_python(dut):
    """ge equals a >= b for every pair (small widths) or 500 random pairs."""
    width, signed = param(dut, "WIDTH"), bool(param(dut, "SIGNED"))
    rng = random.Random(width)
    if width <= 5:
        pairs = list(itertools.product(range(1 << width), repeat=2))
    else:
        pairs = [(rng.getrandbits(width), rng.getrandbits(width)) for _ in range(500)]
    for a, b in pairs:
        dut.a.value, dut.b.value = a, b
        await Timer(1, "ns")
        expected = value(a, width, signed) >= value(b, width, signed)
        assert int(dut.ge.value) == int(expected), f"a={a:#x} b={b:#x}"


@pytest.mark.parametrize(
    ("width", "signed", "gates"),
    [(1, 0, 1), (1, 1, 1), (4, 0, 0), (4, 1, 0), (5, 0, 1), (5, 1, 1), (12, 1, 1), (12, 0, 1)],
)
def test_hwbnn_compare_ge(tmp_path: Path, width: int, signed: int, gates: int) -> None:
    run_cocotb(
        sources=rtl_files("hwbnn_compare_ge"),
        toplevel="hwbnn_compare_ge",
        test_module=Path(__file__),
        build_dir=tmp_path,
        parameters={"WIDTH": width, "SIGNED": signed, "GATES": gates},
    )
