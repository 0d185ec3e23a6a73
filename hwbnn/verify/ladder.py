"""Levels L0 (Brevitas/torch), L1 (QONNX execute_onnx) and L2 (the reference) of the ladder.

DESIGN.md: L1 and L2 give the same labels as L0 (the base); L2's integer accumulators equal
the torch model's last-layer dot products exactly. Without a torch model, L1 is the base; with
neither, L2 stands alone (its accuracy is still recorded). One :class:`VerificationRecord` per
level that ran, judged by :func:`hwbnn.verify.judge.judge`:

- L0 ``torch``: the base of the label comparisons (accuracy; nothing to differ from);
- L1 ``execute_onnx``: its labels vs the base's;
- L2 ``numpy``: its labels vs the base's, and its accumulators vs torch's dot products; a
  frame counts once when either differs.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hwbnn.ir.serialize import load_network
from hwbnn.ir.types import Network
from hwbnn.reference import Reference
from hwbnn.verify.inputs import check_labels
from hwbnn.verify.judge import Judgement, judge
from hwbnn.verify.record import Level, VerificationRecord, record_result

if TYPE_CHECKING:
    from qonnx.core.modelwrapper import ModelWrapper

    from hwbnn.nn import BinaryNet

ENGINES = {Level.L0: "torch", Level.L1: "execute_onnx", Level.L2: "numpy"}


def _torch_outputs(model: BinaryNet, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """L0 labels and the last layer's dot products (float64) of the torch model."""
    import torch

    model.eval()
    with torch.no_grad():
        xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        labels = model(xt).numpy().argmax(axis=1)
        dots = model.last_layer_dot(xt).numpy().astype(np.float64)
    return labels, dots


def _record(
    level: Level,
    frames: int,
    judgements: list[Judgement],
    labels: np.ndarray,
    y: np.ndarray | None,
    seconds: float,
    command: str,
    details: dict[str, Any],
) -> VerificationRecord:
    bad = set().union(*(j.mismatched_frames for j in judgements))
    first = next((j.first_mismatch for j in judgements if not j.ok), None)
    return VerificationRecord(
        level=level,
        engine=ENGINES[level],
        frames=frames,
        mismatches=len(bad),
        first_mismatch=first,
        accuracy=None if y is None else float(np.mean(labels == y)),
        seconds=seconds,
        command=command,
        details=details,
    )


def run_ladder(
    net: Network,
    x: np.ndarray,
    y: np.ndarray | None = None,
    torch_model: BinaryNet | None = None,
    onnx_model: ModelWrapper | None = None,
    *,
    command: str = "",
) -> list[VerificationRecord]:
    """Run L2 and whichever of L0 (``torch_model``) and L1 (``onnx_model``) are given on float
    images ``x`` (labels ``y`` for the accuracy); return their records (not stored)."""
    if y is not None:
        check_labels(y, len(x), net.classes)  # a (frames, 1) array would broadcast
    frames = len(x)
    layer = net.output_layer.name
    start = time.perf_counter()
    ref = Reference(net).run(x)
    ref_seconds = time.perf_counter() - start
    records: list[VerificationRecord] = []
    base: tuple[Level, np.ndarray] | None = None
    l2_checks: list[Judgement] = []
    l2_details: dict[str, Any] = {"labels_compared_with": None}
    if torch_model is not None:
        start = time.perf_counter()
        labels0, dots = _torch_outputs(torch_model, x)
        seconds = time.perf_counter() - start
        records.append(_record(Level.L0, frames, [], labels0, y, seconds, command, {"base": True}))
        base = (Level.L0, labels0)
        # float64 against the integers: a non-integral dot product differs
        dot_check = judge(
            ref.accumulators.astype(np.float64), dots, layer=layer, what="accumulators (vs torch)"
        )
        l2_checks.append(dot_check)
        l2_details["accumulators_vs_torch_mismatches"] = dot_check.mismatches
    if onnx_model is not None:
        from hwbnn.export import run_qonnx

        start = time.perf_counter()
        labels1 = run_qonnx(onnx_model, x).reshape(frames, -1).argmax(axis=1)
        seconds = time.perf_counter() - start
        checks = []
        if base is not None:
            checks.append(
                judge(base[1], labels1, layer=layer, what=f"labels (L1 vs {base[0].value})")
            )
        records.append(
            _record(
                Level.L1,
                frames,
                checks,
                labels1,
                y,
                seconds,
                command,
                {"labels_compared_with": base[0].value if base else None},
            )
        )
        if base is None:
            base = (Level.L1, labels1)
    if base is not None:
        check = judge(base[1], ref.labels, layer=layer, what=f"labels (L2 vs {base[0].value})")
        l2_checks.append(check)  # after the accumulators: they name the channel
        l2_details["labels_compared_with"] = base[0].value
        l2_details["label_mismatches"] = check.mismatches
    records.append(
        _record(Level.L2, frames, l2_checks, ref.labels, y, ref_seconds, command, l2_details)
    )
    return records


def verify_ladder(
    build: Path,
    x: np.ndarray,
    y: np.ndarray | None,
    *,
    torch_model: BinaryNet | None = None,
    onnx_model: ModelWrapper | None = None,
    command: str = "",
) -> list[VerificationRecord]:
    """:func:`run_ladder` on the build's IR; each record is stored in BUILD/verification.json
    and returned (a mismatch does not raise: the caller decides)."""
    net = load_network(Path(build))
    records = run_ladder(net, x, y, torch_model, onnx_model, command=command)
    return [record_result(Path(build), r) for r in records]
