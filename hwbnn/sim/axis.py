"""AXI4-Stream in the cocotb benches: cocotbext-axi moves the beats, `AxisProbe` checks them.

cocotbext-axi's ``AxiStreamSource`` and ``AxiStreamSink`` drive an input and accept an output
(`axis_source`, `axis_sink` build them on a port prefix such as ``s_axis``/``m_axis`` or
``in_r``/``out_r``, any letter case); random idle cycles and tready drops come from their
pause generators, fed with seeded `random_pauses`. Frames are lists of beat words (Python ints)
sent with `send_words`; the last beat of each carries tlast (a run of beats without tlast is
sent as part of the next frame). `axis_streams` builds a DUT's source, sink and both probes at
once; `received` hands over what the sink got, `wait_sent` waits for a source to empty, `stop`
ends a source or sink. `park` holds input tvalid and output tready at 0 through the reset,
because cocotbext-axi raises on an X handshake signal.

What is ours, and why (cocotbext-axi 0.1.28 does not do it):

- `AxisProbe` watches one port every cycle. It checks the AXI4-Stream rule that a beat offered
  (tvalid 1) stays offered and unchanged (tdata, tlast) until tready takes it: cocotbext-axi's
  sink and monitor only sample handshakes and check nothing. It stamps every accepted beat with
  its clock cycle: cocotbext-axi only gives a frame's start and end simulation time, and the
  benches measure latency and initiation interval per beat. On an input it can drive random
  junk on tdata/tlast while tvalid is 0 (cocotbext-axi's source holds the previous beat there),
  so a DUT that samples without tvalid fails. On an output without tlast it groups beats into
  frames by count.
- Beat words of any width: the builders set ``byte_lanes=1`` (cocotbext-axi splits tdata into
  8-bit lanes by default, which rejects widths that are not a multiple of 8), and
  `send_words` rejects words that do not fit (cocotbext-axi would silently mask them). A port
  with TKEEP (Vitis ``hls::axis``) keeps cocotbext-axi's byte lanes; `send_words` and
  `received` split and join the words; TSTRB, which cocotbext-axi does not drive, is held
  all ones.

Timing: the probe samples right after each rising edge, as cocotbext-axi does, so the values it
reads are the ones the edge acted on, on Icarus and on Verilator alike. Cycle ``n`` of a probe
is its ``n``-th rising edge; probes built at the same simulation time number cycles alike.
"""

from __future__ import annotations

import logging
import random
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import cocotb
from cocotb.triggers import ClockCycles, Event, FallingEdge, First, RisingEdge
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

#: cocotbext-axi logs every frame at INFO; the benches keep its warnings only.
LIBRARY_LOG_LEVEL = logging.WARNING
# cocotbext-axi 0.1.28 still calls setimmediatevalue, deprecated (not removed) in cocotb 2.
warnings.filterwarnings("ignore", "Use `handle.set", DeprecationWarning, "cocotbext")


@dataclass(frozen=True)
class Beat:
    """One accepted beat: its data, its tlast and the probe cycle in which it was accepted."""

    data: int
    last: bool
    cycle: int


def random_pauses(prob: float, seed: int) -> Iterator[bool]:
    """An endless, seeded pause generator: each cycle paused with probability ``prob``."""
    if not 0.0 <= prob < 1.0:
        raise ValueError(f"pause probability must be in [0, 1), got {prob}")
    rng = random.Random(seed)
    return iter(lambda: rng.random() < prob, None)  # never None: endless


def _port(dut: Any, prefix: str, field: str) -> Any:
    """The DUT's signal ``<prefix>_<field>`` in any letter case, or None."""
    name = f"{prefix.rstrip('_')}_{field}".lower()
    return next((getattr(dut, a) for a in dir(dut) if a.lower() == name), None)


def park(dut: Any, in_prefix: str = "s_axis", out_prefix: str = "m_axis") -> None:
    """Drive the DUT's input tvalid and output tready to 0 (where present), so that it comes
    out of reset with defined stream inputs: cocotbext-axi refuses an X handshake."""
    for prefix, field in ((in_prefix, "tvalid"), (out_prefix, "tready")):
        signal = _port(dut, prefix, field)
        if signal is not None:
            signal.value = 0


def _bus(dut: Any, prefix: str) -> AxiStreamBus:
    name = prefix.rstrip("_")
    logging.getLogger(f"cocotb.{dut._name}.{name}").setLevel(LIBRARY_LOG_LEVEL)
    bus = AxiStreamBus.from_prefix(dut, name)
    if getattr(bus, "tdata", None) is None:
        raise AttributeError(f"{dut._name} has no AXI4-Stream port {name}_tdata")
    return bus


def _lanes(bus: AxiStreamBus) -> dict[str, int]:
    """Whole-word beats, unless TKEEP fixes the byte lanes (then cocotbext-axi's lanes)."""
    return {} if hasattr(bus, "tkeep") else {"byte_lanes": 1}


def axis_source(
    dut: Any, clk: Any, prefix: str = "s_axis", *, gap_prob: float = 0.0, seed: int = 0
) -> AxiStreamSource:
    """A cocotbext-axi source on the DUT input ``<prefix>_t*``, idle each cycle with
    probability ``gap_prob`` (seeded). Build it after the reset."""
    bus = _bus(dut, prefix)
    source = AxiStreamSource(bus, clk, **_lanes(bus))
    strb = _port(dut, prefix, "tstrb")  # hls::axis has it; cocotbext-axi does not drive it
    if strb is not None:
        strb.value = (1 << len(strb)) - 1
    if gap_prob:
        source.set_pause_generator(random_pauses(gap_prob, seed))
    return source


def axis_sink(
    dut: Any, clk: Any, prefix: str = "m_axis", *, backpressure_prob: float = 0.0, seed: int = 0
) -> AxiStreamSink:
    """A cocotbext-axi sink on the DUT output ``<prefix>_t*``, dropping tready each cycle with
    probability ``backpressure_prob`` (seeded). Build it after the reset."""
    bus = _bus(dut, prefix)
    sink = AxiStreamSink(bus, clk, **_lanes(bus))
    if backpressure_prob:
        sink.set_pause_generator(random_pauses(backpressure_prob, seed))
    return sink


def axis_streams(
    dut: Any,
    clk: Any,
    *,
    gap_prob: float = 0.0,
    backpressure_prob: float = 0.0,
    seed: int = 0,
    in_prefix: str = "s_axis",
    out_prefix: str = "m_axis",
) -> tuple[AxiStreamSource, AxiStreamSink, AxisProbe, AxisProbe]:
    """A DUT's input and output at once: ``(source, sink, input probe, output probe)``, the
    input probe driving junk while idle, every seed drawn from ``seed``."""
    rng = random.Random(seed)
    seeds = [rng.getrandbits(31) for _ in range(3)]
    source = axis_source(dut, clk, in_prefix, gap_prob=gap_prob, seed=seeds[0])
    sink = axis_sink(dut, clk, out_prefix, backpressure_prob=backpressure_prob, seed=seeds[1])
    return source, sink, AxisProbe(source.bus, clk, junk_seed=seeds[2]), AxisProbe(sink.bus, clk)


def send_words(source: AxiStreamSource, words: Sequence[int]) -> None:
    """Queue one frame of beat words; its last beat carries tlast (where the port has it).

    Raises:
        ValueError: the frame is empty or a word does not fit in tdata.
    """
    beats = [int(w) for w in words]
    if not beats:
        raise ValueError("a frame needs at least one beat")
    bad = [w for w in beats if not 0 <= w < (1 << source.width)]
    if bad:
        raise ValueError(f"beat {bad[0]:#x} does not fit in {source.width} bits")
    if source.byte_lanes == 1:
        source.send_nowait(AxiStreamFrame(beats))
        return
    mask = source.byte_mask
    lanes = [(w >> (k * source.byte_size)) & mask for w in beats for k in range(source.byte_lanes)]
    source.send_nowait(AxiStreamFrame(lanes))


async def wait_sent(source: AxiStreamSource, timeout_cycles: int = 1_000_000) -> None:
    """Wait until the DUT has accepted every beat queued on ``source`` (TimeoutError after
    ``timeout_cycles``)."""
    if not source.idle():
        await First(source.idle_event.wait(), ClockCycles(source.clock, timeout_cycles))
    if not source.idle():
        raise TimeoutError(f"{source.count()} frames still queued after {timeout_cycles} cycles")


def _drain(sink: AxiStreamSink) -> list[int]:
    """Every word the sink has received so far (its frames joined; lanes joined into words)."""
    words: list[int] = []
    while not sink.empty():
        data = list(sink.recv_nowait(compact=False).tdata)
        n, size = sink.byte_lanes, sink.byte_size
        for i in range(0, len(data), n):
            words.append(sum(int(lane) << (k * size) for k, lane in enumerate(data[i : i + n])))
    return words


def received(sink: AxiStreamSink, probe: AxisProbe) -> list[Beat]:
    """The beats ``sink`` received, stamped with ``probe``'s cycles; call it once, when the
    stream has settled (it empties the sink's queue). Beats after the last tlast are still
    inside cocotbext-axi's sink (it only queues whole frames): they come from the probe alone.

    Raises:
        AssertionError: the sink and the probe on the same port saw different beats (a
            sampling fault of the bench, not of the DUT).
    """
    words = _drain(sink)
    seen = [b.data for b in probe.beats]
    if probe.tlast is not None:  # the sink holds back an unfinished frame
        ends = [k for k, b in enumerate(probe.beats) if b.last]
        seen = seen[: ends[-1] + 1] if ends else []
    if words != seen:
        raise AssertionError(
            f"the sink received {len(words)} beats, its probe saw {len(seen)} (or other data)"
        )
    return list(probe.beats)


def stop(endpoint: AxiStreamSource | AxiStreamSink) -> None:
    """Stop a cocotbext-axi source or sink: its pauses end, its tvalid or tready drops to 0."""
    endpoint.clear_pause_generator()
    endpoint.assert_reset(True)


class AxisProbe:
    """Watch the AXI4-Stream port of ``bus`` every cycle from construction on.

    ``beats`` lists every accepted `Beat`; on a port without tlast, ``beats_per_frame`` (if
    given) marks every ``beats_per_frame``-th beat as last instead. ``protocol_errors`` lists
    offered beats that changed or were withdrawn before tready, and tdata that is not 0/1
    while tvalid is 1. With ``junk_seed`` (an input driven by the bench) the probe drives
    seeded random tdata/tlast at each falling edge while tvalid is 0.
    """

    def __init__(
        self,
        bus: AxiStreamBus,
        clk: Any,
        *,
        junk_seed: int | None = None,
        beats_per_frame: int | None = None,
    ) -> None:
        self.clk = clk
        self.tdata = bus.tdata
        self.tvalid = getattr(bus, "tvalid", None)
        self.tready = getattr(bus, "tready", None)
        self.tlast = getattr(bus, "tlast", None)
        if beats_per_frame is not None and beats_per_frame < 1:
            raise ValueError(f"beats_per_frame must be >= 1, got {beats_per_frame}")
        self.beats_per_frame = beats_per_frame if self.tlast is None else None
        self.cycle = 0
        self.frame_count = 0
        self.beats: list[Beat] = []
        self.protocol_errors: list[str] = []
        self._done: Callable[[], bool] | None = None
        self._event = Event()
        self._tasks = [cocotb.start_soon(self._run())]
        if junk_seed is not None:
            self._tasks.append(cocotb.start_soon(self._junk(random.Random(junk_seed))))

    @property
    def frames(self) -> list[list[Beat]]:
        """The completed frames (beats up to and including each last beat)."""
        out: list[list[Beat]] = []
        frame: list[Beat] = []
        for beat in self.beats:
            frame.append(beat)
            if beat.last:
                out.append(frame)
                frame = []
        return out

    @property
    def accepted(self) -> list[int]:
        """The cycle of every accepted beat."""
        return [b.cycle for b in self.beats]

    async def wait_beats(self, count: int, timeout_cycles: int = 1_000_000) -> None:
        """Wait until ``count`` beats have been accepted (TimeoutError after the budget)."""
        await self._wait(lambda: len(self.beats) >= count, timeout_cycles, f"{count} beats")

    async def wait_frames(self, count: int, timeout_cycles: int = 1_000_000) -> None:
        """Wait until ``count`` frames have been accepted (TimeoutError after the budget)."""
        await self._wait(lambda: self.frame_count >= count, timeout_cycles, f"{count} frames")

    async def settle(self, cycles: int) -> None:
        """Let ``cycles`` more cycles pass (to catch extra, unexpected beats)."""
        await ClockCycles(self.clk, cycles)

    def stop(self) -> None:
        """Stop watching (and stop the junk)."""
        for task in self._tasks:
            task.cancel()

    async def _wait(self, done: Callable[[], bool], timeout_cycles: int, what: str) -> None:
        if not done():
            self._done = done
            self._event.clear()
            await First(self._event.wait(), ClockCycles(self.clk, timeout_cycles))
            self._done = None
        if not done():
            raise TimeoutError(
                f"waited {timeout_cycles} cycles for {what}, got {len(self.beats)} beats"
            )

    async def _run(self) -> None:
        edge = RisingEdge(self.clk)
        pending: tuple[int, bool] | None = None  # offered, not taken at the previous edge
        while True:
            await edge
            self.cycle += 1
            beat: tuple[int, bool] | None = None
            if self.tvalid is None or self.tvalid.value == 1:
                value = self.tdata.value
                if value.is_resolvable:
                    beat = (int(value), self.tlast is not None and self.tlast.value == 1)
                else:
                    self.protocol_errors.append(f"cycle {self.cycle}: tdata {value} with tvalid")
            if pending is not None and beat != pending:
                self.protocol_errors.append(
                    f"cycle {self.cycle}: beat {pending} changed to {beat} before tready"
                )
            if beat is not None and (self.tready is None or self.tready.value == 1):
                last = beat[1]
                if self.beats_per_frame is not None:
                    last = len(self.beats) % self.beats_per_frame == self.beats_per_frame - 1
                self.beats.append(Beat(beat[0], last, self.cycle))
                self.frame_count += last
                pending = None
                if self._done is not None and self._done():
                    self._event.set()
            else:
                pending = beat

    async def _junk(self, rng: random.Random) -> None:
        edge = FallingEdge(self.clk)
        width = len(self.tdata)
        while True:
            await edge
            if self.tvalid is not None and self.tvalid.value != 1:
                self.tdata.value = rng.getrandbits(width)
                if self.tlast is not None:
                    self.tlast.value = rng.getrandbits(1)
