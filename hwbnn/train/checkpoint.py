"""Checkpoints: a plain dict of tensors and primitives, loadable with ``weights_only=True``.

This module depends on :mod:`hwbnn.nn` only, so the training methods (which sit below the
trainer) may load checkpoints, e.g. a distillation teacher.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from hwbnn.errors import DataError
from hwbnn.nn import BinaryNet, build_model, config_from_dict
from hwbnn.nn.scales import CONV_SCALES_ATTR, ScaleLayout, add_conv_output_scales

FORMAT = "hwbnn-checkpoint-1"


def save_checkpoint(path: Path, model: BinaryNet, dataset: str, metrics: dict[str, Any]) -> None:
    torch.save(
        {
            "format": FORMAT,
            "model": model.config.to_dict(),
            "dataset": dataset,
            "state_dict": model.state_dict(),
            "test_accuracy": float(metrics.get("test_accuracy", float("nan"))),
            # learned scales a method put after the convolutions (xnorpp on a conv net)
            "conv_scales": getattr(model, CONV_SCALES_ATTR, ""),
        },
        path,
    )


def load_checkpoint(path: Path) -> tuple[BinaryNet, dict[str, Any]]:
    """Rebuild the model of a checkpoint in eval mode; returns (model, checkpoint dict)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: checkpoint not found")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt files
        raise DataError(f"{path}: not a readable checkpoint ({type(exc).__name__})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise DataError(f"{path}: not an hwbnn checkpoint (expected format {FORMAT})")
    model = build_model(config_from_dict(ckpt["model"]))
    if ckpt.get("conv_scales"):
        example = torch.zeros((2, *model.config.input_shape))
        add_conv_output_scales(model, example, ckpt["conv_scales"] == ScaleLayout.FACTORISED)
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    return model, ckpt
