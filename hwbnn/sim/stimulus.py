"""Stream stimulus as data: per-cycle masks for input gaps and output backpressure, in a file.

Both L4 engines replay the same file: the compiled Verilator harness (hwbnn.sim.fast) and the
cocotb bench (hwbnn.sim.top_bench, through cocotbext-axi pause generators), so the two can be
compared beat for beat. A :class:`Stimulus` holds two boolean masks of one ``period``, used
cyclically (cycle ``c`` reads index ``c % period``), drawn with NumPy from a seed:

- ``valid[c]``: at cycle ``c`` the source may offer a new input beat (False: an idle cycle,
  probability ``gap_prob``); a beat already offered stays offered until it is taken;
- ``ready[c]``: m_axis_tready at cycle ``c`` (False: backpressure, probability
  ``backpressure_prob``).

Cycle ``c`` is the ``c``-th rising edge of a phase, counted from 1 as the bench's probes count
them (hwbnn.sim.axis.AxisProbe). At cycle 1 tvalid and tready are 0 (the reset parked them);
``ready[2]`` is always True, because cocotbext-axi's sink only follows its pause generator
cycle by cycle after it has once slept on an idle output (see :func:`pauses`). Decisions take
one cycle: cocotbext-axi reads the pause value of cycle ``k`` when acting on edge ``k + 1``,
and what it drives then is seen at edge ``k + 2``; :func:`pauses` shifts the masks by that.

The file is an ``.npz`` of the two masks packed 8 cycles to a byte (``numpy.packbits``,
little bit order) with ``period``: a 10,000-frame run does not need a mask per cycle, a
period of at most :data:`MAX_PERIOD` cycles (512 KiB a mask) repeats.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwbnn.errors import ConfigError

#: Longest mask period (cycles); longer runs repeat the masks.
MAX_PERIOD = 1 << 22
#: Shortest mask period, so that short runs still see varied patterns.
MIN_PERIOD = 1 << 12
#: Cycles from the pause value cocotbext-axi reads to the edge that sees its effect.
PAUSE_DELAY = 2


@dataclass(frozen=True)
class Stimulus:
    """Per-cycle masks of one period: ``valid`` (a new input beat may be offered) and
    ``ready`` (m_axis_tready), boolean arrays of equal length, used cyclically."""

    valid: np.ndarray
    ready: np.ndarray

    def __post_init__(self) -> None:
        if self.valid.shape != self.ready.shape or self.valid.ndim != 1 or len(self.valid) < 4:
            raise ConfigError(
                f"stimulus masks must be 1-D, of equal length >= 4, got shapes "
                f"{self.valid.shape} and {self.ready.shape}"
            )

    @property
    def period(self) -> int:
        return len(self.valid)

    def save(self, path: Path) -> Path:
        """Write the masks to ``path`` (.npz, bit-packed); return it."""
        path = Path(path)
        with path.open("wb") as f:
            np.savez(
                f,
                period=np.int64(self.period),
                valid=np.packbits(self.valid, bitorder="little"),
                ready=np.packbits(self.ready, bitorder="little"),
            )
        return path

    @classmethod
    def load(cls, path: Path) -> Stimulus:
        """Read masks written by :meth:`save`.

        Raises:
            ConfigError: the file is missing or not a stimulus file.
        """
        try:
            with np.load(Path(path)) as doc:
                period = int(doc["period"])
                masks = [
                    np.unpackbits(doc[k], count=period, bitorder="little").astype(bool)
                    for k in ("valid", "ready")
                ]
        except (OSError, KeyError, ValueError) as exc:
            raise ConfigError(f"{path}: not a stimulus file ({exc})") from None
        return cls(*masks)


def make_stimulus(seed: int, gap_prob: float, backpressure_prob: float, cycles: int) -> Stimulus:
    """Masks for a run of about ``cycles`` cycles (the period is ``cycles`` clamped to
    [MIN_PERIOD, MAX_PERIOD]), each cycle idle with probability ``gap_prob`` and stalled
    with probability ``backpressure_prob``, drawn by ``numpy.random.default_rng(seed)``."""
    for name, value in (("gap_prob", gap_prob), ("backpressure_prob", backpressure_prob)):
        if not 0.0 <= value < 1.0:
            raise ConfigError(f"{name} must be in [0, 1), got {value}")
    period = int(min(max(cycles, MIN_PERIOD), MAX_PERIOD))
    rng = np.random.default_rng(seed)
    valid = rng.random(period) >= gap_prob
    ready = rng.random(period) >= backpressure_prob
    ready[PAUSE_DELAY] = True  # the sink's first cycle after the reset (module docstring)
    return Stimulus(valid, ready)


def pauses(mask: np.ndarray) -> Iterator[bool]:
    """The cocotbext-axi pause generator that replays ``mask`` (``valid`` on a source,
    ``ready`` on a sink): its ``k``-th value pauses edge ``k + PAUSE_DELAY``, endless."""
    period = len(mask)
    paused = ~np.asarray(mask, dtype=bool)
    k = PAUSE_DELAY
    while True:
        yield bool(paused[k % period])
        k += 1
