"""AXI4-Stream source (driver) and sink (monitor) for cocotb 2.x testbenches.

Both find their signals by prefix on the DUT (``s_axis_`` + ``tdata``/``tvalid``/``tready``/
``tlast``, or ``TDATA``... with ``uppercase``, as Vitis HLS names them; ``tlast`` and, for a
source, ``tready`` may be absent; a source drives ``tkeep``/``tstrb``, where present, all ones)
and run as a cocotb task from construction on. A sink on a port without tlast can count frames
by beats (``beats_per_frame``). Each counts rising edges of ``clk`` from its construction, so
a source and a sink built at the same simulation time number cycles alike.

Sampling: each cycle the coroutine drives its outputs right after the rising edge and reads
the settled signals in the ``ReadOnly`` phase of the same cycle; a beat moves when tvalid and
tready are both 1 there, i.e. at the next rising edge. This works the same on Icarus and
Verilator (whose values at a rising-edge callback are already post-edge).

Randomness is seeded (``random.Random(seed)``): the source leaves each free cycle idle with
probability ``gap_prob``, the sink drops tready with probability ``backpressure_prob``. While
idle the source drives random junk on tdata/tlast, so a DUT that samples without tvalid fails.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import cocotb
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge


@dataclass(frozen=True)
class Beat:
    """One accepted beat: its data, its tlast and the cycle in which it was accepted."""

    data: int
    last: bool
    cycle: int


def _namer(prefix: str, uppercase: bool) -> Callable[[str], str]:
    return lambda field: prefix + (field.upper() if uppercase else field)


def _signal(dut: Any, name: str, required: bool = True) -> Any:
    if hasattr(dut, name):
        return getattr(dut, name)
    if required:
        raise AttributeError(f"{dut._name} has no signal {name}")
    return None


class AxisSource:
    """Drive an AXI4-Stream input of the DUT (the DUT's ``s_axis_*`` port by default).

    Queue beats with `send` or `send_frame` (after reset), then ``await wait_idle()``.
    ``accepted`` lists the cycle in which each beat was accepted.
    """

    def __init__(
        self,
        dut: Any,
        clk: Any,
        prefix: str = "s_axis_",
        *,
        gap_prob: float = 0.0,
        seed: int = 0,
        uppercase: bool = False,
    ) -> None:
        if not 0.0 <= gap_prob < 1.0:
            raise ValueError(f"gap_prob must be in [0, 1), got {gap_prob}")
        self.clk = clk
        name = _namer(prefix, uppercase)
        self.tdata = _signal(dut, name("tdata"))
        self.tvalid = _signal(dut, name("tvalid"))
        self.tready = _signal(dut, name("tready"), required=False)
        self.tlast = _signal(dut, name("tlast"), required=False)
        for side in ("tkeep", "tstrb"):
            signal = _signal(dut, name(side), required=False)
            if signal is not None:
                signal.value = (1 << len(signal)) - 1
        self.width = len(self.tdata)
        self.gap_prob = gap_prob
        self.cycle = 0
        self.accepted: list[int] = []
        self._rng = random.Random(seed)
        self._queue: deque[tuple[int, bool]] = deque()
        self._busy = False
        self.tvalid.value = 0
        self._task = cocotb.start_soon(self._run())

    def send(self, data: int, last: bool = False) -> None:
        """Queue one beat."""
        if not 0 <= data < (1 << self.width):
            raise ValueError(f"beat {data:#x} does not fit in {self.width} bits")
        self._queue.append((data, last))

    def send_frame(self, words: Iterable[int]) -> None:
        """Queue the beats of one frame; the final one carries tlast."""
        beats = list(words)
        if not beats:
            raise ValueError("a frame needs at least one beat")
        for i, word in enumerate(beats):
            self.send(word, last=i == len(beats) - 1)

    @property
    def idle(self) -> bool:
        """True when every queued beat has been accepted."""
        return not self._queue and not self._busy

    async def wait_idle(self, timeout_cycles: int = 1_000_000) -> None:
        """Wait until every queued beat has been accepted."""
        for _ in range(timeout_cycles):
            if self.idle:
                return
            await RisingEdge(self.clk)
        raise TimeoutError(f"source: {len(self._queue)} beats still queued")

    def stop(self) -> None:
        """Stop driving (tvalid stays where it is)."""
        self._task.cancel()

    async def _run(self) -> None:
        current: tuple[int, bool] | None = None
        while True:
            await RisingEdge(self.clk)
            self.cycle += 1
            if current is None and self._queue and self._rng.random() >= self.gap_prob:
                current = self._queue.popleft()
                self._busy = True
            if current is None:
                self.tvalid.value = 0
                self.tdata.value = self._rng.getrandbits(self.width)
                if self.tlast is not None:
                    self.tlast.value = self._rng.getrandbits(1)
            else:
                self.tvalid.value = 1
                self.tdata.value = current[0]
                if self.tlast is not None:
                    self.tlast.value = int(current[1])
            await ReadOnly()
            if current is not None and (self.tready is None or self.tready.value == 1):
                self.accepted.append(self.cycle)
                current = None
                self._busy = False


class AxisSink:
    """Accept an AXI4-Stream output of the DUT (the DUT's ``m_axis_*`` port by default).

    ``beats`` collects every accepted `Beat`; on a port without tlast, ``beats_per_frame``
    (if given) sets `Beat.last` on every ``beats_per_frame``-th beat instead.
    ``protocol_errors`` lists violations of the AXI4-Stream rule that a valid beat stays valid
    and unchanged until it is accepted.
    """

    def __init__(
        self,
        dut: Any,
        clk: Any,
        prefix: str = "m_axis_",
        *,
        backpressure_prob: float = 0.0,
        seed: int = 0,
        uppercase: bool = False,
        beats_per_frame: int | None = None,
    ) -> None:
        if not 0.0 <= backpressure_prob < 1.0:
            raise ValueError(f"backpressure_prob must be in [0, 1), got {backpressure_prob}")
        self.clk = clk
        name = _namer(prefix, uppercase)
        self.tdata = _signal(dut, name("tdata"))
        self.tvalid = _signal(dut, name("tvalid"))
        self.tready = _signal(dut, name("tready"))
        self.tlast = _signal(dut, name("tlast"), required=False)
        if self.tlast is None and beats_per_frame is not None and beats_per_frame < 1:
            raise ValueError(f"beats_per_frame must be >= 1, got {beats_per_frame}")
        self.beats_per_frame = beats_per_frame if self.tlast is None else None
        self.backpressure_prob = backpressure_prob
        self.cycle = 0
        self.beats: list[Beat] = []
        self.protocol_errors: list[str] = []
        self._rng = random.Random(seed)
        self.tready.value = 0
        self._task = cocotb.start_soon(self._run())

    @property
    def frames(self) -> list[list[Beat]]:
        """The completed frames (beats up to and including each tlast)."""
        out: list[list[Beat]] = []
        frame: list[Beat] = []
        for beat in self.beats:
            frame.append(beat)
            if beat.last:
                out.append(frame)
                frame = []
        return out

    async def wait_beats(self, count: int, timeout_cycles: int = 1_000_000) -> None:
        """Wait until ``count`` beats have been accepted."""
        await self._wait(lambda: len(self.beats) >= count, timeout_cycles, f"{count} beats")

    async def wait_frames(self, count: int, timeout_cycles: int = 1_000_000) -> None:
        """Wait until ``count`` frames (tlast beats) have been accepted."""
        await self._wait(
            lambda: sum(b.last for b in self.beats) >= count, timeout_cycles, f"{count} frames"
        )

    async def settle(self, cycles: int) -> None:
        """Let ``cycles`` more cycles pass (to catch extra, unexpected beats)."""
        await ClockCycles(self.clk, cycles)

    def stop(self) -> None:
        """Stop accepting (tready stays where it is)."""
        self._task.cancel()

    async def _wait(self, done: Callable[[], bool], timeout_cycles: int, what: str) -> None:
        for _ in range(timeout_cycles):
            if done():
                return
            await RisingEdge(self.clk)
        raise TimeoutError(
            f"sink: waited {timeout_cycles} cycles for {what}, got {len(self.beats)} beats"
        )

    async def _run(self) -> None:
        pending: tuple[int, bool] | None = None  # valid but not accepted last cycle
        while True:
            await RisingEdge(self.clk)
            self.cycle += 1
            ready = self._rng.random() >= self.backpressure_prob
            self.tready.value = int(ready)
            await ReadOnly()
            valid = self.tvalid.value == 1
            beat: tuple[int, bool] | None = None
            if valid:
                value = self.tdata.value
                if not value.is_resolvable:
                    raise ValueError(f"sink: tdata is {value} while tvalid is 1")
                last = self.tlast is not None and self.tlast.value == 1
                beat = (int(value), last)
            if pending is not None and beat != pending:
                self.protocol_errors.append(
                    f"cycle {self.cycle}: beat {pending} changed to {beat} before tready"
                )
            if beat is not None and ready:
                last = beat[1]
                if self.beats_per_frame is not None:
                    last = len(self.beats) % self.beats_per_frame == self.beats_per_frame - 1
                self.beats.append(Beat(beat[0], last, self.cycle))
                pending = None
            else:
                pending = beat


def beat_data(beats: Sequence[Beat]) -> list[int]:
    """The data words of ``beats``."""
    return [b.data for b in beats]
