"""Small helpers shared by the cocotb testbenches of rtl/ (run inside the simulator)."""

from __future__ import annotations

from typing import Any

from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge

from hwbnn.sim.axis import park

CLOCK_PERIOD_NS = 10


async def start_clock_and_reset(dut: Any, reset_cycles: int = 3) -> None:
    """Start a 100 MHz clock on ``dut.clk`` and hold ``dut.rst`` high for a few cycles;
    ``s_axis_tvalid`` and ``m_axis_tready``, where present, are held at 0 (hwbnn.sim.axis.park).

    Returns right after the rising edge at which ``rst`` is released (drops to 0).
    """
    Clock(dut.clk, CLOCK_PERIOD_NS, unit="ns").start()
    park(dut)
    dut.rst.value = 1
    await ClockCycles(dut.clk, reset_cycles)
    dut.rst.value = 0
    await RisingEdge(dut.clk)


def param(dut: Any, name: str) -> int:
    """Read an integer parameter or localparam of the DUT."""
    return int(getattr(dut, name).value)
