"""hwbnn_uart_tx against the 8N1 line model of hwbnn.driver.cocotb_uart.

Random bytes fed with random gaps must appear on tx exactly, with no framing error; every bit
lasts exactly CLKS_PER_BIT cycles (checked on the recorded edges: all edge spacings are
multiples of it); bytes fed back to back take exactly 10 * CLKS_PER_BIT cycles each.
"""

from __future__ import annotations

import random
from pathlib import Path

import cocotb
import pytest
from cocotb.triggers import ClockCycles
from cocotbext.axi import AxiStreamSource

from hwbnn.driver.cocotb_uart import UartLineSink
from hwbnn.resources import rtl_files
from hwbnn.sim.axis import AxisProbe, axis_source, send_words, wait_sent
from hwbnn.sim.runner import get_tb_args, run_cocotb
from hwbnn.sim.tb import start_clock_and_reset


async def setup(dut, gap_prob: float, seed: int) -> tuple[AxiStreamSource, UartLineSink, int]:
    cpb = int(dut.CLKS_PER_BIT.value)
    await start_clock_and_reset(dut)
    sink = UartLineSink(dut.tx, dut.clk, cpb)
    source = axis_source(dut, dut.clk, gap_prob=gap_prob, seed=seed)
    AxisProbe(source.bus, dut.clk, junk_seed=seed + 1)  # junk on s_axis while idle
    return source, sink, cpb


@cocotb.test()
async def tx_random_bytes(dut):
    """Random bytes with random gaps arrive exactly; bits are CLKS_PER_BIT cycles long."""
    seed = get_tb_args()["seed"]
    source, sink, cpb = await setup(dut, gap_prob=0.5, seed=seed)
    rng = random.Random(seed)
    data = [0x00, 0xFF, 0x01, 0x80] + [rng.randrange(256) for _ in range(30)]
    for byte in data:
        send_words(source, [byte])
        if rng.random() < 0.2:
            await wait_sent(source)
            await ClockCycles(dut.clk, rng.randrange(1, 4 * cpb))
    await wait_sent(source)
    await ClockCycles(dut.clk, 12 * cpb)
    assert list(sink.received) == data, f"got {list(sink.received)[:8]}..., sent {data[:8]}..."
    assert sink.framing_errors == 0
    starts = sink.edges
    spacings = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    # within a character every edge falls on a bit boundary; between characters the idle
    # time is arbitrary, so check only spacings shorter than a character
    inside = [s for s in spacings if s < 10 * cpb]
    assert inside and all(s % cpb == 0 for s in inside), f"edge spacings {inside[:12]}"


@cocotb.test()
async def tx_back_to_back(dut):
    """Bytes queued back to back: exactly 10 * CLKS_PER_BIT cycles per byte, no gaps."""
    source, sink, cpb = await setup(dut, gap_prob=0.0, seed=1)
    data = bytes(range(0x30, 0x30 + 12))
    send_words(source, list(data))
    await wait_sent(source)
    await ClockCycles(dut.clk, 12 * cpb)
    assert bytes(sink.received) == data
    first_start = sink.edges[0]
    # the last byte's stop bit ends 10*cpb*len(data) cycles after the first start bit began
    tx_end = first_start + 10 * cpb * len(data)
    falling = sink.edges[::2]
    assert falling[-1] < tx_end <= falling[-1] + 10 * cpb
    # byte k's start bit (a falling edge after the previous stop bit) begins exactly at
    # first_start + 10*cpb*k
    for k in range(len(data)):
        assert first_start + 10 * cpb * k in sink.edges, f"byte {k} does not start on time"


def run(tmp_path: Path, clk_hz: int, baud: int) -> None:
    run_cocotb(
        sources=rtl_files("hwbnn_uart_tx"),
        toplevel="hwbnn_uart_tx",
        test_module=Path(__file__),
        build_dir=tmp_path,
        parameters={"CLK_HZ": clk_hz, "BAUD": baud},
        tb_args={"seed": clk_hz // baud},
    )


@pytest.mark.parametrize(("clk_hz", "baud"), [(400, 100), (700, 100), (1_600, 100)])
def test_hwbnn_uart_tx(tmp_path: Path, clk_hz: int, baud: int) -> None:
    run(tmp_path, clk_hz, baud)
