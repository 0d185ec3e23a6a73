"""Checkpoints: a saved model loads (with ``weights_only=True``) into the same config, with its
Enum fields, and computes the same logits; checkpoints written before the configs used Enums
(plain strings) still load; the learned conv scales of XNOR-Net++ are rebuilt on load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from hwbnn.errors import DataError
from hwbnn.nn import (
    ConvConfig,
    ConvStage,
    InputMode,
    MLPConfig,
    Norm,
    Precision,
    Scaling,
    build_model,
)
from hwbnn.nn.scales import CONV_SCALES_ATTR, FactorisedScale, ScaleLayout, add_conv_output_scales
from hwbnn.train import load_checkpoint, save_checkpoint
from hwbnn.train.checkpoint import FORMAT

# state-dict entries of weights, scales and BatchNorm (not Brevitas' quantizer constants)
RANDOMISED = ("weight", "bias", "running_mean", "running_var", "gamma", "alpha", "beta")


def _randomised(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """``model`` with random weights, scales and BatchNorm statistics (a fresh model's BatchNorm
    and scales are the identity, which would hide a lost state dict)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point() and name.rpartition(".")[2] in RANDOMISED:
                tensor.copy_(torch.rand(tensor.shape, generator=gen) + 0.5)
    return model.eval()


def _logits(model: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    with torch.no_grad():
        return model.eval()(x).numpy()


def test_round_trip_keeps_the_enum_config_and_the_logits(tmp_path: Path) -> None:
    config = MLPConfig(
        (1, 8, 8), (16, 12), 10, input_mode="integer", scaling="learned", norm="center"
    )
    assert config.input_mode is InputMode.INTEGER and config.scaling is Scaling.LEARNED
    model = _randomised(build_model(config), seed=0)
    save_checkpoint(tmp_path / "m.pt", model, "digits", {"test_accuracy": 0.5})
    raw = torch.load(tmp_path / "m.pt", weights_only=True)  # plain strings inside
    assert raw["model"]["norm"] == "center" and type(raw["model"]["norm"]) is str
    loaded, ckpt = load_checkpoint(tmp_path / "m.pt")
    assert loaded.config == config and loaded.config.norm is Norm.CENTER
    assert ckpt["dataset"] == "digits" and ckpt["test_accuracy"] == 0.5
    x = torch.rand(5, 1, 8, 8)
    assert np.array_equal(_logits(loaded, x), _logits(model, x))


def test_checkpoint_with_string_config_from_before_the_enums_loads(tmp_path: Path) -> None:
    model = _randomised(build_model(MLPConfig((1, 8, 8), (16,), 10)), seed=1)
    old_config = {  # what MLPConfig.to_dict wrote when the fields were strings
        "input_shape": [1, 8, 8],
        "hidden": [16],
        "classes": 10,
        "input_mode": "binary",
        "levels": 17,
        "input_bits": 5,
        "scaling": "none",
        "norm": "batch",
        "precision": "binary",
    }
    torch.save(
        {
            "format": FORMAT,
            "model": old_config,
            "dataset": "digits",
            "state_dict": model.state_dict(),
            "test_accuracy": 0.9,
            "conv_scales": "",
        },
        tmp_path / "old.pt",
    )
    loaded, _ = load_checkpoint(tmp_path / "old.pt")
    assert loaded.config.precision is Precision.BINARY and loaded.config.norm is Norm.BATCH
    x = torch.rand(4, 1, 8, 8)
    assert np.array_equal(_logits(loaded, x), _logits(model, x))


def test_conv_scales_are_rebuilt_on_load(tmp_path: Path) -> None:
    config = ConvConfig((1, 8, 8), (ConvStage(4, padding=1), ConvStage(4)), (), 10)
    model = build_model(config)
    assert add_conv_output_scales(model, torch.zeros(2, 1, 8, 8), factorised=True) == 2
    setattr(model, CONV_SCALES_ATTR, ScaleLayout.FACTORISED.value)
    model = _randomised(model, seed=2)
    save_checkpoint(tmp_path / "c.pt", model, "digits", {})
    loaded, ckpt = load_checkpoint(tmp_path / "c.pt")
    assert ckpt["conv_scales"] == "factorised"
    assert sum(isinstance(m, FactorisedScale) for m in loaded.modules()) == 2
    x = torch.rand(3, 1, 8, 8)
    assert np.array_equal(_logits(loaded, x), _logits(model, x))


def test_invalid_enum_string_names_the_field_and_the_choices() -> None:
    with pytest.raises(ValueError, match=r"norm must be one of \['batch', 'center', 'none'\]"):
        MLPConfig((1, 8, 8), (16,), 10, norm="layer")


def test_not_a_checkpoint_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "x.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "x.pt")
