"""The model zoo: named binary network shapes."""

from __future__ import annotations

from hwbnn.catalog import MLP_SHAPES
from hwbnn.errors import ConfigError
from hwbnn.nn.mlp import BinaryMLP, MLPConfig


def build_model(config: MLPConfig) -> BinaryMLP:
    return BinaryMLP(config)


def mlp_config(
    name: str,
    input_shape: tuple[int, ...],
    classes: int,
    levels: int,
    input_bits: int,
    input_mode: str = "binary",
    hidden: tuple[int, ...] | None = None,
) -> MLPConfig:
    """Config of the zoo model ``name`` for a dataset's shape; ``hidden`` overrides the widths."""
    if name not in MLP_SHAPES:
        raise ConfigError(f"unknown model {name!r}; choose one of {sorted(MLP_SHAPES)}")
    try:
        return MLPConfig(
            input_shape=tuple(input_shape),
            hidden=tuple(hidden) if hidden else MLP_SHAPES[name],
            classes=classes,
            input_mode=input_mode,
            levels=levels,
            input_bits=input_bits,
        )
    except ValueError as exc:
        raise ConfigError(f"model {name!r}: {exc}") from None
