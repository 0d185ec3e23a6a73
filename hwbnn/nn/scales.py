"""Learned output scales after binary convolutions (XNOR-Net++'s ``Gamma``, see
:mod:`hwbnn.train.methods.xnorpp`) and the model surgery that inserts them.

A model carrying them records the kind in the attribute ``CONV_SCALES_ATTR`` (``"channel"`` or
``"factorised"``); checkpoints store it, so loading rebuilds the same modules before the state
dict is applied.
"""

from __future__ import annotations

from enum import StrEnum

import torch
from brevitas.nn import QuantConv2d
from torch import nn

# the model attribute naming the scales put after its convolutions (a ScaleLayout's string)
CONV_SCALES_ATTR = "hwbnn_conv_scales"


class ScaleLayout(StrEnum):
    """One learned scale per output channel, or a factorised one per output position."""

    CHANNEL = "channel"  # Gamma_c
    FACTORISED = "factorised"  # Gamma_chw = alpha_c * beta_h * gamma_w


class ChannelScale(nn.Module):
    """``y[:, c] = x[:, c] * gamma_c`` for (N, C, ...) inputs."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma.reshape(-1, *([1] * (x.dim() - 2)))


class FactorisedScale(nn.Module):
    """``y[:, c, h, w] = x[:, c, h, w] * alpha_c * beta_h * gamma_w``."""

    def __init__(self, channels: int, height: int, width: int) -> None:
        super().__init__()
        self.alpha = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.ones(height))
        self.gamma = nn.Parameter(torch.ones(width))

    def scale(self) -> torch.Tensor:
        return self.alpha[:, None, None] * self.beta[None, :, None] * self.gamma[None, None, :]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale()


def add_conv_output_scales(model: nn.Module, example: torch.Tensor, factorised: bool) -> int:
    """Put a learned scale after every binary convolution of ``model`` (the convolution is
    replaced by ``Sequential(conv, scale)``); ``example`` (one input batch) gives the output
    sizes. Returns the number of scaled convolutions."""
    shapes: dict[nn.Module, tuple[int, ...]] = {}
    convs = [m for m in model.modules() if isinstance(m, QuantConv2d)]
    handles = [
        c.register_forward_hook(lambda m, i, o: shapes.__setitem__(m, tuple(o.shape[1:])))
        for c in convs
    ]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(example)
    model.train(was_training)
    for handle in handles:
        handle.remove()
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if child in shapes:
                c, h, w = shapes[child]
                scale = FactorisedScale(c, h, w) if factorised else ChannelScale(c)
                setattr(parent, name, nn.Sequential(child, scale))
    return len(shapes)
