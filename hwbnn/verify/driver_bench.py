"""cocotb bench of the host driver's round trip; run by hwbnn.verify.driver.

The unchanged :class:`hwbnn.driver.Driver` talks to the simulated ``hwbnn_board_top`` through
the UART line model (:class:`hwbnn.driver.cocotb_uart.CocotbUartTransport`) from a cocotb
bridge thread: the first half of the frames with one frame in flight, then a partial frame of
garbage and a line-break reset, then the rest with two frames in flight. The bench records
the accumulators and labels the driver read, the board's error LED after each half and the
UART framing errors; the caller judges them. The frames received so far go to the progress
file (``HWBNN_PROGRESS_FILE``) after each half.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.task import bridge
from cocotb.triggers import ClockCycles

from hwbnn.driver import Driver
from hwbnn.driver.cocotb_uart import CocotbUartTransport
from hwbnn.sim.runner import PROGRESS_ENV, get_tb_args

#: a frame cut short: the reset must discard it
GARBAGE = bytes([0x11, 0x07, 0x03])


def _progress(frames: int) -> None:
    name = os.environ.get(PROGRESS_ENV)
    if name:
        scratch = Path(f"{name}.tmp")
        scratch.write_text(f"{frames}\n")
        os.replace(scratch, name)


@cocotb.test()
async def board_round_trip(dut: Any) -> None:
    """Run the driver through the board top; write what it read to tb_args["results"]."""
    args = get_tb_args()
    codes = np.load(args["codes"])
    half = (len(codes) + 1) // 2
    Clock(dut.clk, 10, unit="ns").start()
    transport = CocotbUartTransport(
        dut.uart_rx,
        dut.uart_tx,
        dut.clk,
        args["clk_hz"] // args["baud"],
        timeout_cycles=args["timeout_cycles"],
    )
    await ClockCycles(dut.clk, 2 ** args["por_bits"] + 10)  # power-on reset
    build = Path(args["build"])
    results = []
    led_errors = []
    first = Driver.from_build(build, transport, window=1)
    results.append(await bridge(first.run_codes)(codes[:half]))
    led_errors.append(int(dut.led.value) & 1)
    _progress(half)
    if half < len(codes):
        await transport.source.send(GARBAGE)
        second = Driver.from_build(build, transport, window=2)
        await bridge(second.reset)()
        results.append(await bridge(second.run_codes)(codes[half:]))
        led_errors.append(int(dut.led.value) & 1)
    _progress(len(codes))
    Path(args["results"]).write_text(
        json.dumps(
            {
                "accumulators": np.concatenate([r.accumulators for r in results]).tolist(),
                "labels": np.concatenate([r.labels for r in results]).tolist(),
                "led_errors": led_errors,
                "uart_framing_errors": transport.sink.framing_errors,
                "driver_seconds": sum(r.seconds for r in results),
            }
        )
    )
