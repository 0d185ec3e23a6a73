"""Byte transports for :class:`hwbnn.driver.Driver`: the protocol every transport follows,
and the serial-port one (pyserial)."""

from __future__ import annotations

import time
from typing import Any, Protocol

from hwbnn.errors import HwbnnError


class DriverError(HwbnnError):
    """The board did not answer as the protocol says (too few bytes, out of step, no port)."""


class Transport(Protocol):
    """A byte pipe to a board running ``hwbnn_board_top``.

    ``write`` sends all of ``data``; ``read`` returns exactly ``size`` bytes or raises
    :class:`DriverError`; ``reset`` sends a line break (the board top resets) and discards
    whatever had been received.
    """

    def write(self, data: bytes) -> None: ...

    def read(self, size: int) -> bytes: ...

    def reset(self) -> None: ...


class SerialTransport:
    """A serial port (pyserial ``serial_for_url``: a device such as ``/dev/ttyUSB0`` or a URL
    such as ``loop://``), 8N1 without flow control.

    Args:
        port: device name or pyserial URL.
        baud: bits per second; must equal the ``--baud`` the bitstream was built with.
        timeout_s: how long ``read`` waits for the bytes it was asked for.
        break_s: length of the line break that resets the board.
    """

    def __init__(
        self, port: str, baud: int = 115_200, timeout_s: float = 5.0, break_s: float = 0.05
    ) -> None:
        import serial

        try:
            self.port: Any = serial.serial_for_url(
                port,
                baudrate=baud,
                bytesize=serial.EIGHTBITS,
                parity=serial.PARITY_NONE,
                stopbits=serial.STOPBITS_ONE,
                timeout=timeout_s,
                xonxoff=False,
                rtscts=False,
            )
        except (serial.SerialException, ValueError) as exc:
            raise DriverError(f"cannot open serial port {port}: {exc}") from None
        self.name = port
        self.baud = baud
        self.timeout_s = timeout_s
        self.break_s = break_s

    def write(self, data: bytes) -> None:
        self.port.write(data)
        self.port.flush()

    def read(self, size: int) -> bytes:
        data = self.port.read(size)
        if len(data) != size:
            raise DriverError(
                f"{self.name}: expected {size} bytes, got {len(data)} within "
                f"{self.timeout_s:g} s (is the board programmed with this build's bitstream, "
                f"at {self.baud} baud?)"
            )
        return bytes(data)

    def reset(self) -> None:
        self.port.send_break(self.break_s)
        time.sleep(0.01)  # the board top's reset lasts microseconds
        self.port.reset_input_buffer()

    def close(self) -> None:
        self.port.close()

    def __enter__(self) -> SerialTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
