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

__all__ = ["Judgement", "VerificationFailed", "judge"]


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
