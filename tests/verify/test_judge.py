"""The one judge: exact per-frame comparison, and its one-line description of the first
difference (layer, channel, frame, expected and received values)."""

from __future__ import annotations

import numpy as np
import pytest

from hwbnn.verify.judge import VerificationFailed, judge
from hwbnn.verify.record import Level, VerificationRecord


def test_equal_outputs_pass() -> None:
    acc = np.random.default_rng(0).integers(-50, 50, (6, 4))
    verdict = judge(acc, acc.copy(), layer="fc2")
    assert verdict.ok and verdict.frames == 6 and verdict.mismatches == 0
    assert verdict.first_mismatch is None and verdict.mismatched_frames == ()


def test_first_difference_names_layer_channel_and_frame() -> None:
    expected = np.arange(20).reshape(5, 4)
    got = expected.copy()
    got[3, 1] = -7
    got[4, 0] += 1
    verdict = judge(expected, got, layer="fc2")
    assert verdict.mismatches == 2 and verdict.mismatched_frames == (3, 4)
    assert (
        verdict.first_mismatch == "layer fc2 accumulators, frame 3, channel 1: expected 13, got -7"
    )


def test_missing_and_extra_frames_count() -> None:
    expected = np.zeros((4, 3), dtype=np.int64)
    short = judge(expected, expected[:1], layer="out")
    assert short.mismatches == 3 and short.mismatched_frames == (1, 2, 3)
    assert (
        short.first_mismatch == "layer out accumulators, frame 1: missing (1 of 4 frames received)"
    )
    extra = judge(expected, np.zeros((5, 3), dtype=np.int64), layer="out")
    assert extra.mismatches == 1
    assert (
        extra.first_mismatch
        == "layer out accumulators, frame 4: extra frame (5 received, 4 expected)"
    )


def test_labels_and_floats_are_exact() -> None:
    verdict = judge(np.array([1, 2, 3]), np.array([1, 2, 4]), layer="fc2", what="labels")
    assert verdict.first_mismatch == "layer fc2 labels, frame 2: expected 3, got 4"
    # a dot product off by float rounding is a difference, not a tolerance
    close = judge(np.array([[3.0, 5.0]]), np.array([[3.0, 5.0 + 1e-12]]), layer="fc2")
    assert close.mismatches == 1


def test_shape_disagreement_is_an_error() -> None:
    with pytest.raises(ValueError, match="channels per frame"):
        judge(np.zeros((2, 3)), np.zeros((2, 4)), layer="fc2")
    with pytest.raises(ValueError, match=r"\(frames,\) or \(frames, channels\)"):
        judge(np.zeros((2, 3)), np.zeros(2), layer="fc2")


def test_verification_failed_message() -> None:
    record = VerificationRecord(
        Level.L4, "icarus", 10, 2, "layer fc2 accumulators, frame 3, channel 1: expected 1, got 3"
    )
    error = VerificationFailed(record)
    assert error.record is record
    assert str(error) == (
        "L4 RTL simulation (icarus): 2 of 10 frames differ from the reference; first: layer fc2 "
        "accumulators, frame 3, channel 1: expected 1, got 3"
    )
    framed = VerificationRecord(
        Level.L5, "netlist-ice40/icarus", 4, 0, None, details={"framing_errors": ["tlast set"]}
    )
    assert not framed.ok
    assert str(VerificationFailed(framed)) == (
        "L5 netlist simulation (netlist-ice40/icarus): framing error: tlast set"
    )


def test_stream_faults_classify_lost_duplicated_reordered_and_corrupted() -> None:
    from hwbnn.verify.judge import stream_faults

    expected = np.arange(40).reshape(20, 2)  # frames all different
    order = list(range(20))
    assert stream_faults(expected, expected[order]).ok
    lost = [i for i in order if i not in (3, 11, 12)]
    assert stream_faults(expected, expected[lost]) == _faults(lost=3)
    duplicated = order[:5] + [4] + order[5:] + [19]
    assert stream_faults(expected, expected[duplicated]) == _faults(duplicated=2)
    swapped = [0, 1, 3, 2, *order[4:]]  # 3 early (2 skipped), then 2 arrives late
    assert stream_faults(expected, expected[swapped]) == _faults(reordered=1)
    corrupted = expected.copy()
    corrupted[7] = [-1, -1]
    assert stream_faults(expected, corrupted) == _faults(corrupted=1)
    tail_lost = expected[:17]
    assert stream_faults(expected, tail_lost) == _faults(lost=3)
    assert stream_faults(expected, expected[:0]) == _faults(lost=20)  # a deadlock: nothing
    # a looped test set: equal frames are told apart by position
    looped = np.concatenate([expected[:5]] * 4)
    assert stream_faults(looped, looped[[*range(10), *range(11, 20)]], window=4) == _faults(lost=1)


def _faults(**counts: int):
    from hwbnn.verify.judge import StreamFaults

    return StreamFaults(**counts)
