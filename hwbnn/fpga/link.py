"""The byte protocol between a host and ``hwbnn_board_top`` (UART, 8N1).

The host sends frames and reads results; there are no headers, commands or checksums, so both
sides must agree on the sizes below, which come from the build's hardware plan (hwbnn.plan):

- one input frame is ``in_beats`` stream beats of ``in_width = in_simd * in_bits`` bits (input
  code ``i`` at bits ``[(i % in_simd)*in_bits +: in_bits]`` of beat ``i // in_simd``); each beat
  travels as ``ceil(in_width/8)`` bytes, little-endian, unused high bits 0;
- one result frame is ``out_beats = classes / out_pe`` beats of ``out_pe`` two's-complement
  accumulators of ``acc_width`` bits (class ``nf*out_pe + p`` at bits
  ``[p*acc_width +: acc_width]`` of beat ``nf``), each beat as ``ceil(out_width/8)`` bytes,
  little-endian, high bits 0.

A line break (the host holds its transmit line low for longer than a character) resets the
board top: its byte counters, the accelerator and the transmitter start afresh, so a host that
lost count can always recover.

Frames/s a user gets (:class:`FrameRate`): the accelerator takes a frame every initiation
interval, the UART carries ``baud / (10 * max(frame_in_bytes, frame_out_bytes))`` frames/s
(8N1 is 10 bits a byte; both directions run at once, and the driver keeps the input line
busy, :mod:`hwbnn.driver`), and the slower of the two is what the host sees, before any
latency of its USB-serial adapter.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hwbnn.errors import ConfigError
from hwbnn.ir.folding import Folding
from hwbnn.ir.types import Network
from hwbnn.plan import Plan, build_plan, load_plan
from hwbnn.plan.packing import pack_beats, unpack_beats

#: bits on the line per byte, 8N1: a start bit, 8 data bits, a stop bit
UART_BITS_PER_BYTE = 10


def uart_baud(clk_hz: int, baud: int) -> float:
    """The bit rate the board top's UART really runs at: ``clk_hz`` over its rounded clocks
    per bit (hwbnn_uart_rx/tx: ``CLKS_PER_BIT = (CLK_HZ + BAUD/2) / BAUD``)."""
    return clk_hz / ((clk_hz + baud // 2) // baud)


@dataclass(frozen=True)
class FrameRate:
    """Frames/s of the accelerator (``core``: clock / initiation interval) and of the UART
    (``link``) on a board; a user gets the smaller, and ``bottleneck`` names it."""

    core: float
    link: float
    baud: float
    clock_mhz: float
    initiation_interval: int
    frame_in_bytes: int
    frame_out_bytes: int

    @property
    def user(self) -> float:
        return min(self.core, self.link)

    @property
    def bottleneck(self) -> str:
        return "UART" if self.link < self.core else "core"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "user": self.user, "bottleneck": self.bottleneck}


@dataclass(frozen=True)
class LinkFormat:
    """Sizes of the streams on both sides of the UART bridge (see the module docstring)."""

    in_elements: int
    in_bits: int
    in_simd: int
    classes: int
    out_pe: int
    acc_width: int

    def __post_init__(self) -> None:
        if self.in_elements % self.in_simd or self.classes % self.out_pe:
            raise ConfigError(
                f"inconsistent link format: {self.in_elements} inputs by {self.in_simd}, "
                f"{self.classes} classes by {self.out_pe}"
            )

    @property
    def in_width(self) -> int:
        return self.in_simd * self.in_bits

    @property
    def in_beats(self) -> int:
        return self.in_elements // self.in_simd

    @property
    def in_beat_bytes(self) -> int:
        return (self.in_width + 7) // 8

    @property
    def frame_in_bytes(self) -> int:
        return self.in_beats * self.in_beat_bytes

    @property
    def out_width(self) -> int:
        return self.out_pe * self.acc_width

    @property
    def out_beats(self) -> int:
        return self.classes // self.out_pe

    @property
    def out_beat_bytes(self) -> int:
        return (self.out_width + 7) // 8

    @property
    def frame_out_bytes(self) -> int:
        return self.out_beats * self.out_beat_bytes

    @classmethod
    def from_plan(cls, plan: Plan) -> LinkFormat:
        """The format of the top's streams in a hardware plan."""
        io = plan.io
        return cls(io.in_elements, io.in_bits, io.in_simd, io.classes, io.out_pe, io.acc_width)

    @classmethod
    def for_network(cls, net: Network, folding: Folding) -> LinkFormat:
        return cls.from_plan(build_plan(net, folding))

    @classmethod
    def from_build(cls, build: Path) -> LinkFormat:
        """The format of a build directory (its plan.json, :func:`hwbnn.plan.load_plan`),
        checked against the stream widths its rtl/ generator recorded in manifest.json when
        present."""
        build = Path(build)
        link = cls.from_plan(load_plan(build))
        manifest = build / "manifest.json"
        rtl = json.loads(manifest.read_text()).get("generated", {}).get("rtl", {})
        for name in ("in_width", "out_width", "acc_width"):
            if name in rtl and int(rtl[name]) != getattr(link, name):
                raise ConfigError(
                    f"{build}: rtl/ was generated with {name}={rtl[name]}, but the plan "
                    f"gives {getattr(link, name)}; recompile the build"
                )
        return link

    def link_frames_per_second(self, baud: float) -> float:
        """Frames/s a UART of ``baud`` bits/s carries: the busier direction sets it."""
        return baud / (UART_BITS_PER_BYTE * max(self.frame_in_bytes, self.frame_out_bytes))

    def frame_rate(self, clk_hz: int, baud: int, initiation_interval: int) -> FrameRate:
        """The core's and the UART's frames/s for the board top at ``clk_hz`` and ``baud``."""
        actual = uart_baud(clk_hz, baud)
        return FrameRate(
            core=clk_hz / initiation_interval,
            link=self.link_frames_per_second(actual),
            baud=actual,
            clock_mhz=clk_hz / 1e6,
            initiation_interval=initiation_interval,
            frame_in_bytes=self.frame_in_bytes,
            frame_out_bytes=self.frame_out_bytes,
        )

    def to_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        for name in ("in_width", "in_beats", "frame_in_bytes", "out_width", "out_beats"):
            doc[name] = getattr(self, name)
        doc["frame_out_bytes"] = self.frame_out_bytes
        return doc

    def encode(self, codes: np.ndarray) -> bytes:
        """Input codes (frames, in_elements), each in [0, 2**in_bits), as the bytes to send."""
        codes = np.asarray(codes)
        if codes.ndim != 2 or codes.shape[1] != self.in_elements:
            raise ConfigError(
                f"expected input codes of shape (frames, {self.in_elements}), got {codes.shape}"
            )
        beats = pack_beats(codes, self.in_bits, self.in_simd)
        size = self.in_beat_bytes
        return b"".join(beat.to_bytes(size, "little") for beat in beats)

    def decode(self, data: bytes, frames: int) -> np.ndarray:
        """Result bytes of ``frames`` frames as accumulators (frames, classes), int64."""
        size = self.out_beat_bytes
        if len(data) != frames * self.frame_out_bytes:
            raise ConfigError(
                f"{len(data)} result bytes for {frames} frames of {self.frame_out_bytes} bytes"
            )
        beats = [int.from_bytes(data[i : i + size], "little") for i in range(0, len(data), size)]
        bad = next((i for i, beat in enumerate(beats) if beat >> self.out_width), None)
        if bad is not None:
            raise ConfigError(
                f"result beat {bad} has bits set above bit {self.out_width - 1}: the byte "
                f"stream is out of step (reset the board with a line break)"
            )
        values = unpack_beats(beats, self.acc_width, self.out_pe, signed=True)
        return values.reshape(frames, self.classes)
