"""hwbnn_uart_rx against the 8N1 line model of hwbnn.driver.cocotb_uart (cocotbext-uart).

Random bytes with random idle gaps must come out exactly, in order, with no error pulse, also
when the sender's bit time is 3 % off. A held byte plus two more gives two overrun pulses and
keeps the held byte; a bad stop bit gives a frame_error pulse and no byte; a break gives
frame_error, then line_break once the line is high again; a short low glitch gives nothing.
The divider is read back from the DUT (CLKS_PER_BIT).
"""

from __future__ import annotations

import random
from pathlib import Path

import cocotb
import pytest
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge

from hwbnn.driver.cocotb_uart import UartLineSource
from hwbnn.resources import rtl_files
from hwbnn.sim.axis import AxisProbe, axis_sink, random_pauses
from hwbnn.sim.runner import get_tb_args, run_cocotb


class RxMonitor:
    """Take the DUT's bytes with cocotbext-axi's sink (tready random or held low), record them
    with the stream probe, and count the DUT's error pulses each cycle."""

    def __init__(self, dut, ready_prob: float, seed: int) -> None:
        self.dut = dut
        self.sink = axis_sink(dut, dut.clk)
        self.probe = AxisProbe(self.sink.bus, dut.clk)
        self.pulses = {"overrun": 0, "frame_error": 0, "line_break": 0}
        self.accept(ready_prob, seed)
        cocotb.start_soon(self._count())

    def accept(self, ready_prob: float, seed: int = 0) -> None:
        """Raise tready with probability ``ready_prob`` each cycle (0: never, 1: always)."""
        self.sink.clear_pause_generator()
        self.sink.pause = ready_prob == 0.0
        if 0.0 < ready_prob < 1.0:
            self.sink.set_pause_generator(random_pauses(1.0 - ready_prob, seed))

    @property
    def bytes(self) -> list[int]:
        assert not self.probe.protocol_errors, self.probe.protocol_errors[:3]
        return [b.data for b in self.probe.beats]

    async def _count(self) -> None:
        while True:
            await RisingEdge(self.dut.clk)
            for name in self.pulses:
                self.pulses[name] += int(getattr(self.dut, name).value)


async def setup(
    dut, ready_prob: float = 1.0, bit_cycles: int | None = None
) -> tuple[UartLineSource, RxMonitor, int]:
    """The sender's bits last ``bit_cycles`` (default: the receiver's CLKS_PER_BIT)."""
    cpb = int(dut.CLKS_PER_BIT.value)
    Clock(dut.clk, 10, unit="ns").start()
    line = UartLineSource(dut.rx, dut.clk, bit_cycles or cpb)
    dut.rst.value = 1
    dut.m_axis_tready.value = 0
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    monitor = RxMonitor(dut, ready_prob, get_tb_args()["seed"])
    await line.idle(2)
    return line, monitor, cpb


@cocotb.test()
async def rx_random_bytes(dut):
    """Random bytes, random gaps, tready dropping now and then: all arrive, in order."""
    args = get_tb_args()
    line, monitor, _ = await setup(dut, 0.7, args.get("sender_bit_cycles"))
    rng = random.Random(args["seed"])
    data = [0x00, 0xFF, 0x55, 0xAA] + [rng.randrange(256) for _ in range(40)]
    for byte in data:
        await line.send_byte(byte)
        if rng.random() < 0.3:
            await line.idle(rng.randrange(1, 3))
    await line.idle(3)
    assert monitor.bytes == data, f"got {monitor.bytes[:8]}..., sent {data[:8]}..."
    assert monitor.pulses == {"overrun": 0, "frame_error": 0, "line_break": 0}, monitor.pulses


@cocotb.test()
async def rx_overrun(dut):
    """A byte nobody takes stays; the next two are dropped with an overrun pulse each."""
    line, monitor, _ = await setup(dut, ready_prob=0.0)
    for byte in (0x12, 0x34, 0x56):
        await line.send_byte(byte)
    await line.idle(2)
    assert monitor.pulses["overrun"] == 2, monitor.pulses
    assert dut.m_axis_tvalid.value == 1 and int(dut.m_axis_tdata.value) == 0x12
    monitor.accept(1.0)
    await line.idle(2)
    assert monitor.bytes == [0x12]
    await line.send_byte(0x78)
    await line.idle(2)
    assert monitor.bytes == [0x12, 0x78]


@cocotb.test()
async def rx_frame_error_and_break(dut):
    """A bad stop bit drops the byte; a break ends in one line_break pulse; then bytes flow."""
    line, monitor, _ = await setup(dut)
    await line.send_byte(0x5A, stop=0)
    await line.idle(3)
    assert monitor.bytes == [] and monitor.pulses["frame_error"] == 1, monitor.pulses
    assert monitor.pulses["line_break"] == 0, "a framing error with data is not a break"
    await line.send_break(25)
    assert monitor.pulses["frame_error"] == 2 and monitor.pulses["line_break"] == 1
    await line.send(bytes([0xC3, 0x3C]))
    await line.idle(2)
    assert monitor.bytes == [0xC3, 0x3C], monitor.bytes


@cocotb.test()
async def rx_glitch(dut):
    """A low pulse shorter than half a bit is not a start bit."""
    line, monitor, cpb = await setup(dut)
    dut.rx.value = 0
    await ClockCycles(dut.clk, max(1, cpb // 2 - 1))
    dut.rx.value = 1
    await line.idle(12)
    assert monitor.bytes == [] and sum(monitor.pulses.values()) == 0, monitor.pulses


def run(tmp_path: Path, clk_hz: int, baud: int, sender_bit_cycles: int | None = None) -> None:
    run_cocotb(
        sources=rtl_files("hwbnn_uart_rx"),
        toplevel="hwbnn_uart_rx",
        test_module=Path(__file__),
        build_dir=tmp_path,
        parameters={"CLK_HZ": clk_hz, "BAUD": baud},
        tb_args={"seed": clk_hz // baud, "sender_bit_cycles": sender_bit_cycles},
    )


@pytest.mark.parametrize(("clk_hz", "baud"), [(400, 100), (500, 100), (1_600, 100)])
def test_hwbnn_uart_rx(tmp_path: Path, clk_hz: int, baud: int) -> None:
    run(tmp_path, clk_hz, baud)


@pytest.mark.parametrize("sender_bit_cycles", [31, 33])
def test_hwbnn_uart_rx_baud_tolerance(tmp_path: Path, sender_bit_cycles: int) -> None:
    """The sender's bit time 3 % off the receiver's 32 cycles."""
    run(tmp_path, 3_200, 100, sender_bit_cycles)
