"""Brevitas-based binary layers and the model zoo."""

from hwbnn.catalog import INPUT_MODES, InputMode, ModelName
from hwbnn.nn.cellnet import CellNet, CellNetConfig
from hwbnn.nn.conv import BinaryConvNet, ConvConfig, ConvStage
from hwbnn.nn.mlp import BinaryMLP, MLPConfig, Norm, Precision, Scaling
from hwbnn.nn.resnet import BinaryResNet, ResBlock, ResNetConfig, Shortcut
from hwbnn.nn.zoo import (
    CONV_SHAPES,
    MLP_SHAPES,
    RESNET_SHAPES,
    BinaryNet,
    ModelConfig,
    build_model,
    cellnet_config,
    config_from_dict,
    mlp_config,
    model_config,
)

__all__ = [
    "CONV_SHAPES",
    "INPUT_MODES",
    "InputMode",
    "ModelName",
    "Norm",
    "Precision",
    "Scaling",
    "MLP_SHAPES",
    "RESNET_SHAPES",
    "BinaryConvNet",
    "BinaryMLP",
    "BinaryNet",
    "BinaryResNet",
    "CellNet",
    "CellNetConfig",
    "ConvConfig",
    "ConvStage",
    "MLPConfig",
    "ModelConfig",
    "ResBlock",
    "ResNetConfig",
    "Shortcut",
    "build_model",
    "cellnet_config",
    "config_from_dict",
    "mlp_config",
    "model_config",
]
