"""The ladder check shared by the end-to-end tests of trained networks (tests/e2e: digits
cells, resnet, CI-BCNN and DBF networks): L0 (torch), L1 (QONNX execute_onnx) and L2 (the
reference) run on the same images, every label and accumulator compared exactly
(:func:`hwbnn.verify.ladder.run_ladder` judges with ``np.array_equal``, no tolerance)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from hwbnn.verify.ladder import run_ladder
from hwbnn.verify.record import Level, VerificationRecord

if TYPE_CHECKING:
    from qonnx.core.modelwrapper import ModelWrapper
    from torch import nn

    from hwbnn.ir.types import Network


def assert_ladder_exact(
    net: Network,
    x: np.ndarray,
    y: np.ndarray,
    model: nn.Module,
    onnx_model: ModelWrapper,
    *,
    frames: int,
    accuracy: float | None = None,
) -> list[VerificationRecord]:
    """Run L0, L1 and L2 on the ``frames`` images ``x`` (labels ``y``) and assert them exact:
    L1's and L2's labels equal L0's on every image, L2's integer accumulators equal torch's
    last-layer dot products on every image, and, when given, L2's accuracy equals
    ``accuracy`` (the trainer's test accuracy) exactly. Returns the records [L0, L1, L2]."""
    assert len(x) == len(y) == frames
    records = run_ladder(net, x, y, model, onnx_model)
    assert [r.level for r in records] == [Level.L0, Level.L1, Level.L2]
    l0, l1, l2 = records
    assert [r.frames for r in records] == [frames] * 3
    assert l0.ok and l0.details["base"]
    assert l1.details["labels_compared_with"] == "L0"
    assert l1.ok and l1.mismatches == 0, l1.first_mismatch
    assert l2.details["labels_compared_with"] == "L0"
    assert l2.details["label_mismatches"] == 0, l2.first_mismatch
    assert l2.details["accumulators_vs_torch_mismatches"] == 0, l2.first_mismatch
    assert l2.ok and l2.mismatches == 0, l2.problem
    assert l0.accuracy == l1.accuracy == l2.accuracy  # the labels are equal
    if accuracy is not None:
        assert l2.accuracy == accuracy
    return records
