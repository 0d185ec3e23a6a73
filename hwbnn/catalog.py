"""Names the command line offers, kept free of heavy imports (torch) so ``hwbnn`` starts fast."""

from __future__ import annotations

# hidden widths of the named MLPs (FINN's TFC/SFC/LFC: 3 x 64 / 256 / 1024)
MLP_SHAPES: dict[str, tuple[int, ...]] = {
    "digits-mlp": (128, 128),
    "tfc": (64, 64, 64),
    "sfc": (256, 256, 256),
    "lfc": (1024, 1024, 1024),
}

# the convolutional zoo models (hwbnn.nn.zoo defines their stages)
CONV_MODELS = ("cnv", "digits-cnn", "mnist-cnn")

# every name `hwbnn train --model` accepts
MODEL_NAMES = (*MLP_SHAPES, *CONV_MODELS)

# binarized pixels, or integer pixels times binary weights in the first layer
INPUT_MODES = ("binary", "integer")

# what `hwbnn compile --target` generates besides the IR
# (hwbnn.pipeline.steps.TARGETS implements each)
TARGET_NAMES = ("ir", "rtl", "hls", "hls4ml")
