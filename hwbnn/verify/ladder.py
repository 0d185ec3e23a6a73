"""The verification ladder levels L0 (Brevitas/torch), L1 (QONNX execute_onnx), L2 (reference).

Labels are compared exactly; the reference's integer accumulators are compared exactly with the
torch model's last-layer dot products. A mismatch is reported with its first frame and class.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from qonnx.core.modelwrapper import ModelWrapper

from hwbnn.export import run_qonnx
from hwbnn.ir.types import Network
from hwbnn.nn import BinaryNet
from hwbnn.reference import Reference


@dataclass
class LadderReport:
    frames: int
    accuracy: dict[str, float] = field(default_factory=dict)
    label_mismatches: dict[str, int] = field(default_factory=dict)
    accumulator_mismatches: int | None = None
    first_mismatch: str | None = None

    @property
    def ok(self) -> bool:
        return not any(self.label_mismatches.values()) and not self.accumulator_mismatches

    def to_dict(self) -> dict[str, Any]:
        return {
            "frames": self.frames,
            "accuracy": self.accuracy,
            "label_mismatches": self.label_mismatches,
            "accumulator_mismatches": self.accumulator_mismatches,
            "first_mismatch": self.first_mismatch,
            "ok": self.ok,
        }


def _first_difference(a: np.ndarray, b: np.ndarray, what: str) -> str:
    frames, classes = np.nonzero(a != b) if a.ndim == 2 else (np.nonzero(a != b)[0], None)
    frame = int(frames[0])
    where = f"frame {frame}" + (f", class {int(classes[0])}" if classes is not None else "")
    return f"{what}: first difference at {where} ({a[frame].tolist()} vs {b[frame].tolist()})"


def run_ladder(
    net: Network,
    x: np.ndarray,
    y: np.ndarray | None = None,
    torch_model: BinaryNet | None = None,
    onnx_model: ModelWrapper | None = None,
) -> LadderReport:
    """Run L2 and whichever of L0/L1 are given on images ``x``; compare them exactly."""
    report = LadderReport(len(x))
    ref = Reference(net).run(x)
    labels = {"L2": ref.labels}
    if torch_model is not None:
        torch_model.eval()
        with torch.no_grad():
            xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
            labels["L0"] = torch_model(xt).numpy().argmax(axis=1)
            dots = torch_model.last_layer_dot(xt).numpy().astype(np.float64)
        integral = np.array_equal(dots, np.rint(dots))
        torch_acc = np.rint(dots).astype(np.int64)
        bad = not integral or not np.array_equal(torch_acc, ref.accumulators)
        report.accumulator_mismatches = int(np.sum(torch_acc != ref.accumulators))
        if bad and report.first_mismatch is None:
            report.first_mismatch = _first_difference(
                ref.accumulators, torch_acc, "L2 accumulators vs L0 last-layer dot products"
            )
    if onnx_model is not None:
        labels["L1"] = run_qonnx(onnx_model, x).reshape(len(x), -1).argmax(axis=1)
    base = "L0" if "L0" in labels else ("L1" if "L1" in labels else None)
    for level, lab in labels.items():
        if y is not None:
            report.accuracy[level] = float(np.mean(lab == y))
        if base is not None and level != base:
            report.label_mismatches[f"{level}_vs_{base}"] = int(np.sum(lab != labels[base]))
            if np.any(lab != labels[base]) and report.first_mismatch is None:
                report.first_mismatch = _first_difference(lab, labels[base], f"{level} vs {base}")
    return report
