"""Training helpers shared by the session fixtures (tests/conftest.py) and the tests that train
networks of their own (import them from here, not from ``conftest``: pytest loads several
``conftest`` modules, and which one that name means depends on the order)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hwbnn.ir.types import Network


@dataclass(frozen=True)
class TrainedDigits:
    out: Path
    checkpoint: Path
    onnx: Path
    test_accuracy: float


@dataclass(frozen=True)
class TrainedNet(TrainedDigits):
    """A trained, exported zoo model and its lowered IR."""

    net: Network


def _train_and_export(
    out: Path, input_mode: str, epochs: int, model: str = "digits-mlp", **options: object
) -> TrainedDigits:
    """Train (``options``: more TrainOptions fields, e.g. ``genotype``) and export."""
    from hwbnn.pipeline.config import TrainOptions
    from hwbnn.pipeline.steps import export_checkpoint, train_to_dir

    opts = TrainOptions(model=model, input_mode=input_mode, epochs=epochs, **options)
    info = train_to_dir(out, opts, progress=False)
    export_checkpoint(out / "model.pt", out / "model.onnx", None)
    return TrainedDigits(out, out / "model.pt", out / "model.onnx", info["test_accuracy"])


def _train_export_lower(
    out: Path, input_mode: str, epochs: int, model: str, **options: object
) -> TrainedNet:
    from hwbnn.export import load_qonnx
    from hwbnn.frontend.lower import lower

    trained = _train_and_export(out, input_mode, epochs, model, **options)
    net = lower(load_qonnx(trained.onnx), source=str(trained.onnx))
    return TrainedNet(trained.out, trained.checkpoint, trained.onnx, trained.test_accuracy, net)


#: the genotype of ``digits_cells``: 3x3 and 5x5 binary convolutions and identities (strided in
#: the reduction cell), two nodes of two edges per cell
DIGITS_CELLS_GENOTYPE = {
    "format": "hwbnn-genotype/1",
    "normal": [[["conv_3x3", 0], ["identity", 1]], [["conv_3x3", 2], ["identity", 0]]],
    "reduce": [[["conv_5x5", 0], ["identity", 1]], [["conv_3x3", 2], ["identity", 0]]],
    "layout": ["normal", "reduce"],
    "channels": 4,
    "stem_channels": 16,
}
