"""Checkpoints: a plain dict of tensors and primitives, loadable with ``weights_only=True``.

This module depends on :mod:`hwbnn.nn` only, so the training methods (which sit below the
trainer) may load checkpoints, e.g. a distillation teacher.
"""

from __future__ import annotations

import pickle
import re
import warnings
from pathlib import Path
from typing import Any

import torch

from hwbnn.errors import DataError
from hwbnn.nn import BinaryNet, build_model, config_from_dict
from hwbnn.nn.scales import CONV_SCALES_ATTR, ScaleLayout, add_conv_output_scales

FORMAT = "hwbnn-checkpoint-1"
#: how torch's weights-only unpickler names a global it refuses (torch 2.13: "Unsupported
#: global: GLOBAL io.open was not an allowed global", "unsupported GLOBAL posix.system whose
#: module posix is blocked")
_GLOBAL = re.compile(r"\bGLOBAL ([\w.]+)")


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
    """Rebuild the model of a checkpoint in eval mode; returns (model, checkpoint dict).

    The file is untrusted: ``torch.load(weights_only=True)`` only (a pickle naming any other
    Python object, e.g. a forged ``__reduce__``, is refused before it runs), and the model
    its config describes is first built on the ``meta`` device (no memory) and its tensor
    shapes compared with the checkpoint's, so a damaged config cannot allocate more than the
    file holds.

    Raises:
        DataError: missing, unreadable, refused or damaged, naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: checkpoint not found")
    try:
        with warnings.catch_warnings():  # e.g. on the pickle protocol: the error says it
            warnings.simplefilter("ignore")
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:  # torch's weights-only unpickler refused the file
        named = _GLOBAL.search(str(exc))
        if named is None:  # an opcode it does not take: not a torch file, or a damaged one
            raise DataError(f"{path}: not a readable checkpoint (damaged, or not torch)") from None
        raise DataError(
            f"{path}: refused: it names the Python object {named.group(1)}, and checkpoints "
            f"hold only tensors and plain values (loaded with torch.load(weights_only=True))"
        ) from None
    except Exception as exc:  # torch raises many types for corrupt files
        raise DataError(f"{path}: not a readable checkpoint ({type(exc).__name__})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise DataError(f"{path}: not an hwbnn checkpoint (expected format {FORMAT})")
    try:
        return _rebuild(ckpt), ckpt
    except (KeyError, TypeError, ValueError, AttributeError, RuntimeError) as exc:
        text = " ".join(str(exc).split())[:200]
        raise DataError(
            f"{path}: damaged hwbnn checkpoint ({type(exc).__name__}: {text})"
        ) from None


def _rebuild(ckpt: dict[str, Any]) -> BinaryNet:
    config = config_from_dict(ckpt["model"])
    state = ckpt["state_dict"]
    if not isinstance(state, dict):
        raise TypeError(f"state_dict is a {type(state).__name__}, not a dict of tensors")
    layout = ckpt.get("conv_scales")
    with torch.device("meta"):  # shapes only: nothing allocated
        expected = {k: tuple(v.shape) for k, v in _model(config, layout).state_dict().items()}
    for key, shape in expected.items():
        given = state.get(key)
        if not isinstance(given, torch.Tensor) or tuple(given.shape) != shape:
            found = tuple(given.shape) if isinstance(given, torch.Tensor) else given
            raise ValueError(f"state {key!r} is {found}, the model's config needs {shape}")
    model = _model(config, layout)
    model.load_state_dict(state)
    model.eval()
    return model


def _model(config: Any, conv_scales: object) -> BinaryNet:
    """The model of ``config``, with the learned conv scales a method added (if any)."""
    model = build_model(config)
    if conv_scales:
        example = torch.zeros((2, *model.config.input_shape))
        add_conv_output_scales(model, example, conv_scales == ScaleLayout.FACTORISED)
    return model
