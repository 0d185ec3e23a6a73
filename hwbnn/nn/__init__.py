"""Brevitas-based binary layers and the model zoo."""

from hwbnn.nn.mlp import INPUT_MODES, BinaryMLP, MLPConfig
from hwbnn.nn.zoo import MLP_SHAPES, build_model, mlp_config

__all__ = ["INPUT_MODES", "MLP_SHAPES", "BinaryMLP", "MLPConfig", "build_model", "mlp_config"]
