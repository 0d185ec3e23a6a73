"""Host driver for a board running ``hwbnn_board_top``: frames in, accumulators and labels out.

:class:`Driver` speaks the byte protocol of :mod:`hwbnn.fpga.link` over a :class:`Transport`:
a serial port (:class:`SerialTransport`, pyserial) for a real board, or a UART model of the
simulated board top (:class:`hwbnn.driver.cocotb_uart.CocotbUartTransport`), so the very code
that talks to a board is verified against the RTL in simulation.
"""

from hwbnn.driver.driver import Driver, DriverResult, labels_from_accumulators
from hwbnn.driver.transport import DriverError, SerialTransport, Transport

__all__ = [
    "Driver",
    "DriverError",
    "DriverResult",
    "SerialTransport",
    "Transport",
    "labels_from_accumulators",
]
