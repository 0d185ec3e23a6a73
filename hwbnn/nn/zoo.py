"""The model zoo: named binary network shapes (MLPs, convolutional and residual nets) and the
networks of genotypes (:mod:`hwbnn.nn.cellnet`)."""

from __future__ import annotations

from hwbnn.catalog import CONV_MODELS, MLP_SHAPES, MODEL_NAMES, RESNET_MODELS, InputMode, ModelName
from hwbnn.errors import ConfigError
from hwbnn.nn.cellnet import CELLNET_KIND, CellNet, CellNetConfig, head_pool
from hwbnn.nn.conv import CONV_KIND, MODEL_KIND_KEY, BinaryConvNet, ConvConfig, ConvStage
from hwbnn.nn.genotype import Genotype
from hwbnn.nn.mlp import BinaryMLP, MLPConfig
from hwbnn.nn.resnet import RESNET_KIND, BinaryResNet, ResBlock, ResNetConfig, Shortcut

ModelConfig = MLPConfig | ConvConfig | ResNetConfig | CellNetConfig
BinaryNet = BinaryMLP | BinaryConvNet | BinaryResNet | CellNet

# conv stages and dense widths of the named convolutional nets
CONV_SHAPES: dict[ModelName, tuple[tuple[ConvStage, ...], tuple[int, ...]]] = {
    # FINN's CNV (w1a1): 3x3 convolutions without padding, 32x32 -> 1x1x256, then 512-512-10
    ModelName.CNV: (
        (
            ConvStage(64),
            ConvStage(64, pool=2),
            ConvStage(128),
            ConvStage(128, pool=2),
            ConvStage(256),
            ConvStage(256),
        ),
        (512, 512),
    ),
    # 8x8 digits: two -1-padded 3x3 convs at 8x8, pool to 4x4, a 3x3 conv to 2x2x32, classifier
    ModelName.DIGITS_CNN: (
        (ConvStage(16, padding=1), ConvStage(16, padding=1, pool=2), ConvStage(32)),
        (),
    ),
    # 28x28 MNIST: 28 -> 26 -> 24 -> pool 12 -> 10 -> 8 -> pool 4, 4x4x32 -> 128 -> 10
    ModelName.MNIST_CNN: (
        (
            ConvStage(16),
            ConvStage(16, pool=2),
            ConvStage(32),
            ConvStage(32, pool=2),
        ),
        (128,),
    ),
}

# stem, residual blocks, head max pool and dense widths of the named residual nets
RESNET_SHAPES: dict[ModelName, tuple[ConvStage, tuple[ResBlock, ...], int, tuple[int, ...]]] = {
    # 8x8 digits: stem 3x3 conv of 16 padded with -1, an identity block of 16 at 8x8, a block
    # of 32 downsampling to 4x4 (stride-2 3x3 main branch, stride-2 1x1 binary conv shortcut),
    # pool to 2x2x32, classifier
    ModelName.DIGITS_RESNET: (
        ConvStage(16, padding=1),
        (ResBlock(16), ResBlock(32, stride=2, shortcut=Shortcut.CONV)),
        2,
        (),
    ),
    # 28x28 MNIST: stem 32 padded, pool to 14x14, identity block of 32, a block of 64 down to
    # 7x7 (1x1 conv shortcut), pool to 3x3x64, classifier
    ModelName.MNIST_RESNET: (
        ConvStage(32, padding=1, pool=2),
        (ResBlock(32), ResBlock(64, stride=2, shortcut=Shortcut.CONV)),
        2,
        (),
    ),
}
assert set(RESNET_SHAPES) == set(RESNET_MODELS)
assert set(CONV_SHAPES) | set(RESNET_SHAPES) == set(CONV_MODELS)


def build_model(config: ModelConfig) -> BinaryNet:
    if isinstance(config, CellNetConfig):
        return CellNet(config)
    if isinstance(config, ResNetConfig):
        return BinaryResNet(config)
    if isinstance(config, ConvConfig):
        return BinaryConvNet(config)
    return BinaryMLP(config)


def config_from_dict(data: dict) -> ModelConfig:
    """The config a checkpoint stored with ``config.to_dict()`` (MLP, conv, residual or cell
    network)."""
    if data.get(MODEL_KIND_KEY) == CELLNET_KIND:
        return CellNetConfig.from_dict(data)
    if data.get(MODEL_KIND_KEY) == RESNET_KIND:
        return ResNetConfig.from_dict(data)
    if data.get(MODEL_KIND_KEY) == CONV_KIND:
        return ConvConfig.from_dict(data)
    return MLPConfig.from_dict(data)


def _model_name(name: ModelName | str) -> ModelName:
    if name not in MODEL_NAMES:
        raise ConfigError(f"unknown model '{name}'; choose one of {sorted(MODEL_NAMES)}")
    return ModelName(name)


def mlp_config(
    name: ModelName | str,
    input_shape: tuple[int, ...],
    classes: int,
    levels: int,
    input_bits: int,
    input_mode: InputMode | str = InputMode.BINARY,
    hidden: tuple[int, ...] | None = None,
) -> MLPConfig:
    """Config of the zoo MLP ``name`` for a dataset's shape; ``hidden`` overrides the widths."""
    name = _model_name(name)
    if name not in MLP_SHAPES:
        raise ConfigError(f"unknown MLP '{name}'; choose one of {sorted(MLP_SHAPES)}")
    try:
        return MLPConfig(
            input_shape=tuple(input_shape),
            hidden=tuple(hidden) if hidden else MLP_SHAPES[name],
            classes=classes,
            input_mode=InputMode(input_mode),
            levels=levels,
            input_bits=input_bits,
        )
    except ValueError as exc:
        raise ConfigError(f"model '{name}': {exc}") from None


def model_config(
    name: ModelName | str,
    input_shape: tuple[int, ...],
    classes: int,
    levels: int,
    input_bits: int,
    input_mode: InputMode | str = InputMode.BINARY,
    hidden: tuple[int, ...] | None = None,
) -> ModelConfig:
    """Config of any zoo model for a dataset's shape; ``hidden`` overrides the widths of the
    hidden dense layers (an MLP's hidden layers, a conv net's dense layers)."""
    name = _model_name(name)
    if name in MLP_SHAPES:
        return mlp_config(name, input_shape, classes, levels, input_bits, input_mode, hidden)
    if len(input_shape) != 3:
        raise ConfigError(f"model '{name}' needs (C, H, W) images, the data has {input_shape}")
    if name in RESNET_SHAPES:
        return _resnet_config(name, input_shape, classes, levels, input_bits, input_mode, hidden)
    stages, dense = CONV_SHAPES[name]
    try:
        return ConvConfig(
            input_shape=(int(input_shape[0]), int(input_shape[1]), int(input_shape[2])),
            stages=stages,
            dense=tuple(hidden) if hidden else dense,
            classes=classes,
            input_mode=InputMode(input_mode),
            levels=levels,
            input_bits=input_bits,
        )
    except ValueError as exc:
        raise ConfigError(f"model '{name}' on {tuple(input_shape)} images: {exc}") from None


def _resnet_config(
    name: ModelName,
    input_shape: tuple[int, ...],
    classes: int,
    levels: int,
    input_bits: int,
    input_mode: InputMode | str,
    hidden: tuple[int, ...] | None,
) -> ResNetConfig:
    stem, blocks, pool, dense = RESNET_SHAPES[name]
    try:
        return ResNetConfig(
            input_shape=(int(input_shape[0]), int(input_shape[1]), int(input_shape[2])),
            stem=stem,
            blocks=blocks,
            dense=tuple(hidden) if hidden else dense,
            classes=classes,
            pool=pool,
            input_mode=InputMode(input_mode),
            levels=levels,
            input_bits=input_bits,
        )
    except ValueError as exc:
        raise ConfigError(f"model '{name}' on {tuple(input_shape)} images: {exc}") from None


def cellnet_config(
    genotype: Genotype,
    input_shape: tuple[int, ...],
    classes: int,
    levels: int,
    input_bits: int,
    input_mode: InputMode | str = InputMode.BINARY,
    source: str = "the genotype",
) -> CellNetConfig:
    """Config of the network of ``genotype`` (read from ``source``) for a dataset's shape."""
    if len(input_shape) != 3:
        raise ConfigError(
            f"{source}: a cell network needs (C, H, W) images, the data has {input_shape}"
        )
    shape = (int(input_shape[0]), int(input_shape[1]), int(input_shape[2]))
    try:
        return CellNetConfig(
            input_shape=shape,
            genotype=genotype,
            classes=classes,
            pool=head_pool(shape, genotype),
            input_mode=InputMode(input_mode),
            levels=levels,
            input_bits=input_bits,
        )
    except ValueError as exc:
        raise ConfigError(f"{source} on {tuple(input_shape)} images: {exc}") from None
