"""The boards ``hwbnn bitstream --board`` knows: device, package, clock, UART pins, resources.

Every board runs the same board top (``hwbnn_board_top``: the accelerator behind a UART
bridge, :mod:`hwbnn.fpga.board_top`) with ports ``clk``, ``uart_rx``, ``uart_tx`` and
``led[1:0]``; ``flows/boards/<constraints>`` puts them on the board's pins. Where each pin
comes from is documented in docs/boards.md.

Resource counts (:class:`Device`) are the vendors' data-sheet figures. The yosys/nextpnr flows
report what nextpnr itself says is available; these figures serve the analytical estimate
(:mod:`hwbnn.fpga.estimate`) and the Vivado flow, which cannot run here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from hwbnn.errors import ConfigError


class Family(enum.Enum):
    ECP5 = "ecp5"
    ICE40 = "ice40"
    XILINX7 = "xilinx7"


@dataclass(frozen=True)
class Device:
    """An FPGA and what it holds.

    ``lut_inputs`` is 4 for Lattice LUT4s and 6 for Xilinx LUT6s; ``bram_bits`` is the size of
    one block RAM (ECP5 DP16KD 18 Kbit, iCE40 SB_RAM40_4K 4 Kbit, 7-series RAMB36 36 Kbit) and
    ``bram_max_width`` its widest port.
    """

    name: str
    family: Family
    luts: int
    ffs: int
    brams: int
    bram_bits: int
    bram_max_width: int
    dsps: int
    lut_inputs: int


LFE5U_12F = Device("LFE5U-12F", Family.ECP5, 12_288, 12_288, 32, 18_432, 36, 28, 4)
LFE5U_25F = Device("LFE5U-25F", Family.ECP5, 24_288, 24_288, 56, 18_432, 36, 28, 4)
LFE5U_45F = Device("LFE5U-45F", Family.ECP5, 43_848, 43_848, 108, 18_432, 36, 72, 4)
LFE5U_85F = Device("LFE5U-85F", Family.ECP5, 83_640, 83_640, 208, 18_432, 36, 156, 4)
ICE40UP5K = Device("iCE40UP5K", Family.ICE40, 5_280, 5_280, 30, 4_096, 16, 8, 4)
XC7Z020 = Device("xc7z020clg400-1", Family.XILINX7, 53_200, 106_400, 140, 36_864, 72, 220, 6)


@dataclass(frozen=True)
class Board:
    """A board: its FPGA, how to address it in the tools, its clock and its UART.

    ``pnr_args`` select the device and package in nextpnr (empty for Vivado, which takes
    ``device.name`` as its part). ``clock_mhz`` is the board oscillator on pin ``clk``; the
    board top runs at that clock (there is no PLL), so ``--clock-mhz`` only changes the timing
    target. ``led_active_low``: the LEDs light on a 0.
    """

    name: str
    device: Device
    pnr_args: tuple[str, ...]
    clock_mhz: float
    constraints: str
    uart: str
    led_active_low: bool
    description: str

    @property
    def family(self) -> Family:
        return self.device.family

    @property
    def clock_hz(self) -> int:
        return round(self.clock_mhz * 1_000_000)


def _ulx3s(size: str, device: Device) -> Board:
    return Board(
        name=f"ulx3s-{size}",
        device=device,
        pnr_args=(f"--{size[:-1]}k", "--package", "CABGA381", "--speed", "6"),
        clock_mhz=25.0,
        constraints="ulx3s.lpf",
        uart="the on-board FT231X USB serial port (FPGA rx M1, tx L4)",
        led_active_low=False,
        description=f"Radiona ULX3S with {device.name}-6BG381C",
    )


BOARDS: dict[str, Board] = {
    board.name: board
    for board in (
        _ulx3s("12f", LFE5U_12F),
        _ulx3s("25f", LFE5U_25F),
        _ulx3s("45f", LFE5U_45F),
        _ulx3s("85f", LFE5U_85F),
        Board(
            name="orangecrab-25f",
            device=LFE5U_25F,
            pnr_args=("--25k", "--package", "CSFBGA285", "--speed", "8"),
            clock_mhz=48.0,
            constraints="orangecrab.lpf",
            uart=(
                "Feather header pins RX (N17, FPGA rx) and TX (M18, FPGA tx): "
                "connect a 3.3 V USB-serial adapter"
            ),
            led_active_low=True,
            description="Good Stuff Department OrangeCrab r0.2 with LFE5U-25F-8MG285C",
        ),
        Board(
            name="icebreaker",
            device=ICE40UP5K,
            pnr_args=("--up5k", "--package", "sg48"),
            clock_mhz=12.0,
            constraints="icebreaker.pcf",
            uart="the FT2232H channel B USB serial port (FPGA rx pin 6, tx pin 9)",
            led_active_low=True,
            description="1BitSquared iCEBreaker with iCE40UP5K-SG48",
        ),
        Board(
            name="pynq-z1",
            device=XC7Z020,
            pnr_args=(),
            clock_mhz=125.0,
            constraints="pynq.xdc.j2",
            uart=(
                "Pmod JA pins 1 (Y18, FPGA tx) and 2 (Y19, FPGA rx): connect a 3.3 V "
                "USB-serial adapter (the board's own USB UART belongs to the ARM cores)"
            ),
            led_active_low=False,
            description="Digilent PYNQ-Z1 with xc7z020clg400-1 (Vivado project only)",
        ),
        Board(
            name="pynq-z2",
            device=XC7Z020,
            pnr_args=(),
            clock_mhz=125.0,
            constraints="pynq.xdc.j2",
            uart=(
                "Pmod JA pins 1 (Y18, FPGA tx) and 2 (Y19, FPGA rx): connect a 3.3 V "
                "USB-serial adapter (the board's own USB UART belongs to the ARM cores)"
            ),
            led_active_low=False,
            description="TUL PYNQ-Z2 with xc7z020clg400-1 (Vivado project only)",
        ),
    )
}


def get_board(name: str) -> Board:
    """The board called ``name``; ConfigError listing the valid names otherwise."""
    try:
        return BOARDS[name]
    except KeyError:
        raise ConfigError(
            f"unknown board {name!r}; valid boards: {', '.join(sorted(BOARDS))}"
        ) from None
