"""The one judge: outputs of any level compared exactly with the reference's.

Every level of the ladder (torch, QONNX, C-sim, hls4ml, RTL, netlist, host driver) hands its
outputs to :func:`judge`, one row per frame: ``(frames, channels)`` integers (a layer's
accumulators or bits) or ``(frames,)`` labels. Frames are compared with ``np.array_equal``, no
tolerance. The verdict counts the differing frames and describes the first one in one line
naming the layer, the channel and the frame with the expected and the received value, e.g.
``layer fc2 accumulators, frame 7, channel 3: expected 12, got 10`` or
``layer fc2 accumulators, frame 7: missing``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwbnn.verify.record import VerificationFailed

__all__ = ["Judgement", "StreamFaults", "VerificationFailed", "judge", "stream_faults"]


@dataclass(frozen=True)
class Judgement:
    """``frames`` compared (the expected ones), how many differ (missing and extra ones
    included), their indices, and the first difference in one line."""

    frames: int
    mismatches: int
    first_mismatch: str | None
    mismatched_frames: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        return self.mismatches == 0


def _value(x: np.ndarray) -> str:
    return str(x.item()) if x.ndim == 0 else str(x.tolist())


def judge(
    expected: np.ndarray, got: np.ndarray, *, layer: str, what: str = "accumulators"
) -> Judgement:
    """Compare ``got`` with ``expected`` frame by frame, exactly.

    Args:
        expected: the reference, ``(frames, channels)`` or ``(frames,)``.
        got: the level's outputs, the same shape except that frames may be missing (fewer
            rows: each counts as a mismatch) or extra (more rows: each counts too).
        layer: the layer whose outputs these are (named in the message).
        what: what the values are (``accumulators``, ``labels``, ``bits``).

    Raises:
        ValueError: the two disagree in anything but the number of frames.
    """
    expected = np.asarray(expected)
    got = np.asarray(got)
    if expected.ndim not in (1, 2) or got.ndim != expected.ndim:
        raise ValueError(
            f"judge needs (frames,) or (frames, channels), got {expected.shape} "
            f"expected and {got.shape} received"
        )
    if expected.shape[1:] != got.shape[1:]:
        raise ValueError(
            f"layer {layer} {what}: {got.shape[1:]} channels per frame received, "
            f"{expected.shape[1:]} expected"
        )
    frames = len(expected)
    common = min(frames, len(got))
    differs = expected[:common] != got[:common]
    if differs.ndim == 2:
        differs = differs.any(axis=1)
    bad = [int(i) for i in np.flatnonzero(differs)]
    bad += list(range(common, max(frames, len(got))))  # missing or extra frames
    first: str | None = None
    if bad:
        frame = bad[0]
        where = f"layer {layer} {what}, frame {frame}"
        if frame >= len(got):
            first = f"{where}: missing ({len(got)} of {frames} frames received)"
        elif frame >= frames:
            first = f"{where}: extra frame ({len(got)} received, {frames} expected)"
        elif expected.ndim == 2:
            channel = int(np.flatnonzero(expected[frame] != got[frame])[0])
            first = (
                f"{where}, channel {channel}: expected {_value(expected[frame, channel])}, "
                f"got {_value(got[frame, channel])}"
            )
        else:
            first = f"{where}: expected {_value(expected[frame])}, got {_value(got[frame])}"
    return Judgement(frames, len(bad), first, tuple(bad))


@dataclass(frozen=True)
class StreamFaults:
    """What went wrong with a stream of frames, beyond values: frames ``lost`` (expected, never
    received), ``duplicated`` (received again right after themselves), ``reordered`` (received
    where another frame was due and found among the recent ones) and ``corrupted`` (equal to
    no frame near their place)."""

    lost: int = 0
    duplicated: int = 0
    reordered: int = 0
    corrupted: int = 0

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.reordered or self.corrupted)


def stream_faults(expected: np.ndarray, got: np.ndarray, window: int = 64) -> StreamFaults:
    """Align a received stream of frames with the expected one (rows compared exactly) and
    classify every departure (see :class:`StreamFaults`). Walking the received frames with a
    pointer ``j`` to the next expected one: a match advances ``j``; a repeat of frame ``j-1``
    is a duplicate; a match with frame ``j+k`` (``k <= window``) loses the ``k`` frames
    between (unless they arrive later, when they count as reordered instead of lost); a match
    with an earlier frame within ``window`` that was skipped is reordered; anything else is
    corrupted and takes frame ``j``'s place. Expected frames never matched are lost. Equal
    expected frames (a test set looped) are told apart by their position only, so ``window``
    should be shorter than the loop."""
    expected, got = np.asarray(expected), np.asarray(got)
    expected = expected.reshape(len(expected), int(np.prod(expected.shape[1:])))
    got = got.reshape(len(got), int(np.prod(got.shape[1:])))  # also with no frame received
    keys = [row.tobytes() for row in expected]
    seen = np.zeros(len(expected), dtype=bool)
    faults = {"duplicated": 0, "reordered": 0, "corrupted": 0}
    j = 0
    for row in got:
        key = row.tobytes()
        if j < len(keys) and key == keys[j]:
            seen[j] = True
            j += 1
            continue
        if j > 0 and key == keys[j - 1]:
            faults["duplicated"] += 1
            continue
        ahead = next(
            (k for k in range(1, window + 1) if j + k < len(keys) and key == keys[j + k]), 0
        )
        if ahead:
            seen[j + ahead] = True
            j += ahead + 1
            continue
        behind = next(
            (
                i
                for i in range(j - 1, max(-1, j - 1 - window), -1)
                if not seen[i] and key == keys[i]
            ),
            None,
        )
        if behind is not None:
            seen[behind] = True
            faults["reordered"] += 1
            continue
        faults["corrupted"] += 1
        if j < len(keys):
            seen[j] = True  # a corrupted frame stands in for the one due
            j += 1
    return StreamFaults(lost=int((~seen).sum()), **faults)
