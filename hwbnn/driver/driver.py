"""The host side of ``hwbnn_board_top``: send input frames, read back accumulators, label them.

Flow control: the UART has none, so the driver never sends more than ``window`` frames ahead
of the results it has read. Two frames in flight are always safe: the first matrix-vector unit
double-buffers its whole input vector, so a second frame is taken in full while the first is
being computed, and the third is sent only after the first frame's result has come back (by
then the first has left the accelerator). A larger window is safe only when the accelerator
takes a frame faster than the UART delivers one, ``II < 10 * CLK_HZ/BAUD * frame_in_bytes``;
otherwise bytes are lost (the board top's led[0] lights), and a :meth:`Driver.reset` recovers.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwbnn.driver.transport import DriverError, Transport
from hwbnn.errors import ConfigError
from hwbnn.fpga.link import LinkFormat
from hwbnn.ir.types import InputFormat


def labels_from_accumulators(
    accumulators: np.ndarray, out_scale: np.ndarray, out_bias: np.ndarray
) -> np.ndarray:
    """Class labels as hwbnn.reference defines them: argmax of ``out_scale * acc + out_bias``
    (float64, the lowest index wins ties)."""
    acc = np.asarray(accumulators, dtype=np.int64)
    logits = acc * np.asarray(out_scale)[None, :] + np.asarray(out_bias)[None, :]
    return np.argmax(logits, axis=1)


@dataclass(frozen=True)
class DriverResult:
    """Accumulators (frames, classes) and labels (frames,) read from the board."""

    accumulators: np.ndarray
    labels: np.ndarray
    seconds: float

    @property
    def frames_per_second(self) -> float:
        return len(self.labels) / self.seconds if self.seconds > 0 else float("inf")


class Driver:
    """Talks to one board running a build's bitstream over ``transport``.

    Args:
        transport: where the bytes go (:class:`hwbnn.driver.SerialTransport`, or a simulated
            UART).
        link: the stream sizes of the build (:meth:`LinkFormat.from_build`).
        input_format: the IR's input format (levels of each code; float values for :meth:`run`).
        out_scale, out_bias: the output layer's per-class affine, for the labels.
        window: frames sent ahead of the results read (see the module docstring).
    """

    def __init__(
        self,
        transport: Transport,
        link: LinkFormat,
        input_format: InputFormat,
        out_scale: np.ndarray,
        out_bias: np.ndarray,
        window: int = 2,
    ) -> None:
        if window < 1:
            raise ConfigError(f"window must be at least 1 frame, got {window}")
        if input_format.elements != link.in_elements:
            raise ConfigError(
                f"input format has {input_format.elements} elements, link {link.in_elements}"
            )
        self.transport = transport
        self.link = link
        self.input_format = input_format
        self.out_scale = np.asarray(out_scale, dtype=np.float64)
        self.out_bias = np.asarray(out_bias, dtype=np.float64)
        self.window = window

    @classmethod
    def from_build(cls, build: Path, transport: Transport, window: int = 2) -> Driver:
        """A driver for the bitstream of build directory ``build``."""
        from hwbnn.ir.serialize import load_network

        net = load_network(Path(build))
        out = net.output_layer
        assert out.out_scale is not None and out.out_bias is not None
        return cls(
            transport, LinkFormat.from_build(build), net.input, out.out_scale, out.out_bias, window
        )

    def reset(self) -> None:
        """Reset the board top (line break) and drop any bytes received so far."""
        self.transport.reset()

    def run_codes(self, codes: np.ndarray) -> DriverResult:
        """Classify input codes (frames, elements), each in [0, levels)."""
        codes = np.asarray(codes)
        if codes.ndim != 2 or codes.shape[1] != self.link.in_elements:
            raise ConfigError(
                f"expected input codes of shape (frames, {self.link.in_elements}), "
                f"got {codes.shape}"
            )
        if not np.issubdtype(codes.dtype, np.integer):
            raise ConfigError(f"input codes must be integers, got dtype {codes.dtype}")
        levels = self.input_format.levels
        if codes.size and (codes.min() < 0 or codes.max() >= levels):
            raise ConfigError(f"input codes must lie in [0, {levels - 1}]")
        frames = len(codes)
        start = time.perf_counter()
        received: list[bytes] = []
        pending: deque[int] = deque()
        sent = 0
        while len(received) < frames:
            while sent < frames and len(pending) < self.window:
                self.transport.write(self.link.encode(codes[sent : sent + 1]))
                pending.append(sent)
                sent += 1
            pending.popleft()
            received.append(self.transport.read(self.link.frame_out_bytes))
        seconds = time.perf_counter() - start
        try:
            acc = self.link.decode(b"".join(received), frames)
        except ConfigError as exc:
            raise DriverError(str(exc)) from None
        labels = labels_from_accumulators(acc, self.out_scale, self.out_bias)
        return DriverResult(acc, labels, seconds)

    def run(self, x: np.ndarray, rounding: bool = False) -> DriverResult:
        """Classify float inputs in the ONNX model's format (converted as hwbnn.reference
        does: a value that is not a code is an error unless ``rounding``)."""
        from hwbnn.reference import to_codes

        return self.run_codes(to_codes(self.input_format, np.asarray(x), rounding))
