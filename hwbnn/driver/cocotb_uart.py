"""A UART line model for cocotb, and a :class:`hwbnn.driver.Transport` built on it.

Time is counted in clock cycles of the DUT: ``clks_per_bit`` cycles per bit, as the board top's
``CLK_HZ/BAUD`` divider, on a clock of ``clock_period_ns``. :class:`UartLineSource` drives a
DUT input (its ``uart_rx``) with 8N1 characters, a character with a bad stop bit, or a line
break; :class:`UartLineSink` watches a DUT output (its ``uart_tx``), samples each bit in its
middle, and records the bytes, bad stop bits and the cycle of every change of the line (so a
bench can check bit timing).

Plain characters are sent by cocotbext-uart's ``UartSource`` (cocotbext-uart 0.1.4 runs on
cocotb 2.1; its bit time is ``int(1e9 / baud)`` ns, so the baud rate given to it is chosen to
make that exactly ``clks_per_bit`` clock periods). What is ours, and why:

- bad stop bits, line breaks and idle time (:meth:`UartLineSource.send_byte` with ``stop=0``,
  :meth:`UartLineSource.send_break`): cocotbext-uart's source always ends a character with a
  stop bit of 1 and has no break;
- the whole sink: cocotbext-uart's ``UartSink`` never samples the stop bit (it cannot report a
  framing error) and records no bit timing, and those are what the benches check of the DUT's
  transmitter.

:class:`CocotbUartTransport` gives blocking ``write``/``read``/``reset`` that run the line
model: call them from a thread started with ``cocotb.task.bridge`` (they are
``cocotb.task.resume`` wrappers), which lets the unchanged :class:`hwbnn.driver.Driver` talk to
the simulated board.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections import deque
from typing import Any

import cocotb
from cocotb.task import resume
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge
from cocotb.utils import get_sim_time
from cocotbext.uart import UartSource

from hwbnn.driver.transport import DriverError

#: The clock period the benches use (hwbnn.sim.tb.CLOCK_PERIOD_NS).
CLOCK_PERIOD_NS = 10
# cocotbext-uart 0.1.4 still calls setimmediatevalue, deprecated (not removed) in cocotb 2.
warnings.filterwarnings("ignore", "Use `handle.set", DeprecationWarning, "cocotbext")


def _level(signal: Any) -> int:
    """The line's level; an undriven or unknown line (before reset) reads as idle (1)."""
    try:
        return int(signal.value)
    except ValueError:
        return 1


def exact_baud(bit_ns: int) -> float:
    """The baud rate for which cocotbext-uart's bit time ``int(1e9 / baud)`` is ``bit_ns``."""
    baud = 1e9 / bit_ns
    while int(1e9 / baud) < bit_ns:  # 1e9 / (1e9 / n) may round to just below n
        baud = math.nextafter(baud, 0.0)
    return baud


class UartLineSource:
    """Drive a serial line (idle high) with characters of ``clks_per_bit`` cycles per bit."""

    def __init__(
        self, signal: Any, clk: Any, clks_per_bit: int, clock_period_ns: int = CLOCK_PERIOD_NS
    ) -> None:
        if clks_per_bit < 2:
            raise ValueError(f"clks_per_bit must be >= 2, got {clks_per_bit}")
        self.signal = signal
        self.clk = clk
        self.clks_per_bit = clks_per_bit
        logging.getLogger(f"cocotb.{signal._path}").setLevel(logging.WARNING)
        self.uart = UartSource(signal, baud=exact_baud(clks_per_bit * clock_period_ns), bits=8)

    async def _bit(self, value: int, cycles: int) -> None:
        self.signal.value = value
        await ClockCycles(self.clk, cycles)

    async def send_byte(self, byte: int, stop: int = 1) -> None:
        """One character: start bit, 8 data bits LSB first, stop bit (``stop`` = 0 makes a
        framing error; cocotbext-uart cannot, so that character is ours)."""
        if stop:
            await self.send(bytes([byte]))
            return
        await self._bit(0, self.clks_per_bit)
        for i in range(8):
            await self._bit((byte >> i) & 1, self.clks_per_bit)
        await self._bit(0, self.clks_per_bit)
        self.signal.value = 1

    async def send(self, data: bytes, gap_bits: int = 0) -> None:
        """Characters back to back (``gap_bits`` idle bit times between them)."""
        if not gap_bits:
            await self.uart.write(data)
            await self.uart.wait()
            return
        for byte in data:
            await self.send(bytes([byte]))
            await self.idle(gap_bits)

    async def send_break(self, bit_times: int = 30) -> None:
        """Hold the line low for ``bit_times`` bits (at least a character: 10), then idle."""
        await self._bit(0, bit_times * self.clks_per_bit)
        await self._bit(1, 2 * self.clks_per_bit)

    async def idle(self, bit_times: int) -> None:
        await self._bit(1, bit_times * self.clks_per_bit)


class UartLineSink:
    """Receive 8N1 characters from a serial line; runs as a cocotb task from construction.

    ``received`` queues the data bytes; ``framing_errors`` counts characters whose stop bit
    was 0; ``edges`` lists the clock cycle of every change of the line (cycles counted from
    construction, on a clock of ``clock_period_ns``).
    """

    def __init__(
        self, signal: Any, clk: Any, clks_per_bit: int, clock_period_ns: int = CLOCK_PERIOD_NS
    ) -> None:
        self.signal = signal
        self.clk = clk
        self.clks_per_bit = clks_per_bit
        self.clock_period_ns = clock_period_ns
        self.received: deque[int] = deque()
        self.framing_errors = 0
        self.edges: list[int] = []
        self._start_ns = get_sim_time("ns")
        self._tasks = [cocotb.start_soon(self._watch()), cocotb.start_soon(self._run())]

    async def _watch(self) -> None:
        """Record line changes as they happen (no work on cycles where the line is still)."""
        last = _level(self.signal)
        while True:
            await self.signal.value_change
            value = _level(self.signal)
            if value != last:
                ns = get_sim_time("ns") - self._start_ns
                self.edges.append(round(ns / self.clock_period_ns))
                last = value

    async def _run(self) -> None:
        half = self.clks_per_bit // 2
        while True:
            if _level(self.signal) == 1:
                await FallingEdge(self.signal)
            await ClockCycles(self.clk, half)
            if _level(self.signal) != 0:
                continue  # a glitch
            byte = 0
            for i in range(8):
                await ClockCycles(self.clk, self.clks_per_bit)
                byte |= _level(self.signal) << i
            await ClockCycles(self.clk, self.clks_per_bit)
            if _level(self.signal) == 1:
                self.received.append(byte)
            else:
                self.framing_errors += 1
                while _level(self.signal) == 0:
                    await RisingEdge(self.signal)

    async def read(self, size: int, timeout_cycles: int) -> bytes:
        """The next ``size`` bytes; DriverError if they do not arrive in ``timeout_cycles``."""
        waited = 0
        while len(self.received) < size:
            if waited >= timeout_cycles:
                raise DriverError(
                    f"simulated UART: expected {size} bytes, got {len(self.received)} within "
                    f"{timeout_cycles} cycles"
                )
            step = max(1, self.clks_per_bit)
            await ClockCycles(self.clk, step)
            waited += step
        return bytes(self.received.popleft() for _ in range(size))

    def clear(self) -> None:
        self.received.clear()

    def stop(self) -> None:
        for task in self._tasks:
            task.cancel()


class CocotbUartTransport:
    """A :class:`hwbnn.driver.Transport` on the simulated board top's ``uart_rx``/``uart_tx``.

    Call its methods from a thread started with ``cocotb.task.bridge``.

    Args:
        rx: the DUT's serial input (the host transmits on it).
        tx: the DUT's serial output.
        clk: the DUT's clock.
        clks_per_bit: the board top's ``CLK_HZ/BAUD``.
        timeout_cycles: how long ``read`` waits.
        break_bits: length of the line break of ``reset``, in bit times.
        clock_period_ns: the period of ``clk``.
    """

    def __init__(
        self,
        rx: Any,
        tx: Any,
        clk: Any,
        clks_per_bit: int,
        timeout_cycles: int = 1_000_000,
        break_bits: int = 30,
        clock_period_ns: int = CLOCK_PERIOD_NS,
    ) -> None:
        self.source = UartLineSource(rx, clk, clks_per_bit, clock_period_ns)
        self.sink = UartLineSink(tx, clk, clks_per_bit, clock_period_ns)
        self.timeout_cycles = timeout_cycles
        self.break_bits = break_bits
        self.write = resume(self._write)
        self.read = resume(self._read)
        self.reset = resume(self._reset)

    async def _write(self, data: bytes) -> None:
        await self.source.send(data)

    async def _read(self, size: int) -> bytes:
        return await self.sink.read(size, self.timeout_cycles)

    async def _reset(self) -> None:
        await self.source.send_break(self.break_bits)
        await self.source.idle(4)
        self.sink.clear()
