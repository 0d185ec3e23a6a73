"""Checkpoints: a plain dict of tensors and primitives, loadable with ``weights_only=True``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from hwbnn.errors import DataError
from hwbnn.nn import BinaryMLP, MLPConfig, build_model

FORMAT = "hwbnn-checkpoint-1"


def save_checkpoint(path: Path, model: BinaryMLP, dataset: str, metrics: dict[str, Any]) -> None:
    torch.save(
        {
            "format": FORMAT,
            "model": model.config.to_dict(),
            "dataset": dataset,
            "state_dict": model.state_dict(),
            "test_accuracy": float(metrics.get("test_accuracy", float("nan"))),
        },
        path,
    )


def load_checkpoint(path: Path) -> tuple[BinaryMLP, dict[str, Any]]:
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
    model = build_model(MLPConfig.from_dict(ckpt["model"]))
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    return model, ckpt
