"""Names the command line offers, kept free of heavy imports (torch) so ``hwbnn`` starts fast.

Each set of names is a ``StrEnum`` (its members compare equal to their strings, so configs,
JSON files and checkpoints keep plain strings); the tuples of strings beside them are what
argparse's ``choices`` take.
"""

from __future__ import annotations

from enum import Enum, StrEnum
from typing import TypeVar


class ModelName(StrEnum):
    """Every model `hwbnn train --model` accepts."""

    DIGITS_MLP = "digits-mlp"
    TFC = "tfc"
    SFC = "sfc"
    LFC = "lfc"
    CNV = "cnv"
    DIGITS_CNN = "digits-cnn"
    MNIST_CNN = "mnist-cnn"
    DIGITS_RESNET = "digits-resnet"
    MNIST_RESNET = "mnist-resnet"


class InputMode(StrEnum):
    """The first layer's input: binarized pixels, or integer pixels times binary weights."""

    BINARY = "binary"
    INTEGER = "integer"


class Target(StrEnum):
    """What `hwbnn compile --target` generates besides the IR
    (hwbnn.pipeline.steps.TARGETS implements each)."""

    IR = "ir"
    RTL = "rtl"
    HLS = "hls"
    HLS4ML = "hls4ml"


# hidden widths of the named MLPs (FINN's TFC/SFC/LFC: 3 x 64 / 256 / 1024)
MLP_SHAPES: dict[ModelName, tuple[int, ...]] = {
    ModelName.DIGITS_MLP: (128, 128),
    ModelName.TFC: (64, 64, 64),
    ModelName.SFC: (256, 256, 256),
    ModelName.LFC: (1024, 1024, 1024),
}

# the convolutional zoo models (hwbnn.nn.zoo defines their stages and blocks); the residual
# ones (binary shortcuts, hwbnn.nn.resnet) are a subset
CONV_MODELS: tuple[ModelName, ...] = tuple(m for m in ModelName if m not in MLP_SHAPES)
RESNET_MODELS: tuple[ModelName, ...] = (ModelName.DIGITS_RESNET, ModelName.MNIST_RESNET)

# the strings of each set, for argparse choices
MODEL_NAMES: tuple[str, ...] = tuple(m.value for m in ModelName)
INPUT_MODES: tuple[str, ...] = tuple(m.value for m in InputMode)
TARGET_NAMES: tuple[str, ...] = tuple(t.value for t in Target)

E = TypeVar("E", bound=Enum)


def parse_enum(kind: type[E], value: object, what: str) -> E:
    """``value`` (a member or its string) as a member of ``kind``; a ValueError naming ``what``
    and the valid strings otherwise."""
    try:
        return kind(value)
    except ValueError:
        valid = [m.value for m in kind]
        raise ValueError(f"{what} must be one of {valid}, got {value!r}") from None
