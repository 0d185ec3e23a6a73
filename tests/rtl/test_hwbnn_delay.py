"""hwbnn_delay: ``out`` is ``in`` of STAGES enabled cycles ago, cleared by rst when RESET = 1.

The cocotb test (``delay_follows_the_model``) drives random values, a random clock enable and
reset pulses, and compares ``out`` after every edge with a list of STAGES stages that shift when
``en`` is high and are cleared by ``rst`` only with RESET = 1 (stages never written are
unknown and not compared).
"""

from __future__ import annotations

import random
from pathlib import Path

import cocotb
import pytest
from cocotb.triggers import ReadOnly, RisingEdge

from hwbnn.resources import rtl_files
from hwbnn.sim.runner import run_cocotb
from hwbnn.sim.tb import param, start_clock_and_reset


@cocotb.test()
async def delay_follows_the_model(dut):
    """out equals the model on 300 cycles of random values, enables and resets."""
    width, stages, reset = param(dut, "WIDTH"), param(dut, "STAGES"), param(dut, "RESET")
    rng = random.Random(width * 100 + stages * 10 + reset)
    dut.en.value = 0
    dut_in = getattr(dut, "in")  # the port is named in, a Python keyword
    dut_in.value = 0
    await start_clock_and_reset(dut)
    model: list[int | None] = [0 if reset else None] * stages
    checked = 0
    for cycle in range(300):
        value, en, rst = rng.getrandbits(width), rng.random() < 0.7, rng.random() < 0.05
        dut_in.value = value
        dut.en.value = int(en)
        dut.rst.value = int(rst)
        await ReadOnly()
        expected = model[-1] if stages else value
        if expected is not None:
            assert int(dut.out.value) == expected, f"cycle {cycle}"
            checked += 1
        await RisingEdge(dut.clk)
        if stages and rst and reset:
            model = [0] * stages
        elif stages and en:
            model = [value, *model[:-1]]
    assert checked > 150, f"only {checked} cycles checked"


@pytest.mark.parametrize(
    ("width", "stages", "reset"), [(1, 0, 0), (5, 1, 1), (9, 3, 0), (4, 3, 1), (33, 2, 1)]
)
def test_hwbnn_delay(tmp_path: Path, width: int, stages: int, reset: int) -> None:
    run_cocotb(
        sources=rtl_files("hwbnn_delay"),
        toplevel="hwbnn_delay",
        test_module=Path(__file__),
        build_dir=tmp_path,
        parameters={"WIDTH": width, "STAGES": stages, "RESET": reset},
    )
