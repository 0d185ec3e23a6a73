"""The board top ``hwbnn_board_top``: a build's ``hwbnn_top`` behind a UART bridge.

Rendered from ``fpga/templates/hwbnn_board_top.v.j2`` (Jinja2, StrictUndefined) with the
stream sizes of the build (:class:`hwbnn.fpga.link.LinkFormat`), the clock and the baud rate;
all logic lives in the rtl/ modules it instantiates (hwbnn_uart_rx, hwbnn_uart_tx,
hwbnn_uart_bytes_to_beats, hwbnn_uart_beats_to_bytes, and the build's hwbnn_top).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from hwbnn import __version__
from hwbnn.codegen.templating import render_file
from hwbnn.errors import ConfigError
from hwbnn.fpga.link import LinkFormat, uart_baud
from hwbnn.resources import rtl_files, share_dir
from hwbnn.units import count, rate

BOARD_TOP = "hwbnn_board_top"
UART_MODULES = (
    "hwbnn_uart_rx",
    "hwbnn_uart_tx",
    "hwbnn_uart_bytes_to_beats",
    "hwbnn_uart_beats_to_bytes",
)
DEFAULT_BAUD = 115_200
#: power-on reset length: 2**POR_BITS clock cycles
POR_BITS = 8


def render_template(relative: str, **context: Any) -> str:
    """Render ``fpga/<relative>``; a variable missing from ``context`` raises
    jinja2.UndefinedError (StrictUndefined)."""
    path = share_dir("fpga") / relative
    return render_file(path.parent, path.name, **context)


def check_baud(clk_hz: int, baud: int) -> None:
    """ConfigError unless the UART can run at ``baud`` from ``clk_hz`` (at least 4 clocks per
    bit, and the rounded divider within 2 % of the exact one)."""
    if baud < 1 or clk_hz < 1:
        raise ConfigError(f"clock {clk_hz} Hz and baud rate {baud} must be positive")
    divider = (clk_hz + baud // 2) // baud
    if divider < 4:
        raise ConfigError(f"baud rate {baud} is too high for a {clk_hz} Hz clock (< 4 clocks/bit)")
    error = abs(clk_hz / divider - baud) / baud
    if error > 0.02:
        raise ConfigError(
            f"baud rate {baud} from a {clk_hz} Hz clock is off by {100 * error:.1f} % (max 2 %)"
        )


def render_board_top(
    link: LinkFormat,
    clk_hz: int,
    baud: int = DEFAULT_BAUD,
    led_active_low: bool = False,
    target: str = "simulation",
    por_bits: int = POR_BITS,
) -> str:
    """Verilog of ``hwbnn_board_top`` for a build with stream format ``link``."""
    check_baud(clk_hz, baud)
    if por_bits < 1:
        raise ConfigError(f"power-on reset bits must be >= 1, got {por_bits}")
    return render_template(
        "templates/hwbnn_board_top.v.j2",
        version=__version__,
        target=target,
        clk_hz=clk_hz,
        baud=baud,
        por_bits=por_bits,
        led_active_low=led_active_low,
        **link.to_dict(),
        in_beat_bytes=link.in_beat_bytes,
        out_beat_bytes=link.out_beat_bytes,
        uart_baud=count(round(uart_baud(clk_hz, baud))),
        link_fps=rate(link.link_frames_per_second(uart_baud(clk_hz, baud)), "").strip(),
    )


def write_board_sources(
    build: Path,
    out_dir: Path,
    link: LinkFormat,
    clk_hz: int,
    baud: int = DEFAULT_BAUD,
    led_active_low: bool = False,
    target: str = "simulation",
    por_bits: int = POR_BITS,
) -> list[str]:
    """Copy the build's rtl/ (sources and memory files) and the UART modules into
    ``out_dir``, render the board top there; return the Verilog file names in compile order."""
    from hwbnn.codegen.rtl import rtl_sources

    sources = rtl_sources(build)
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in sorted(sources[0].parent.iterdir()):
        if path.is_file():
            shutil.copyfile(path, out_dir / path.name)
    names = [p.name for p in sources]
    for path in rtl_files(*UART_MODULES):  # with the modules they instantiate
        if path.name not in names:
            shutil.copyfile(path, out_dir / path.name)
            names.append(path.name)
    text = render_board_top(link, clk_hz, baud, led_active_low, target, por_bits)
    (out_dir / f"{BOARD_TOP}.v").write_text(text)
    names.append(f"{BOARD_TOP}.v")
    return names
