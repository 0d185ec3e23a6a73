"""XNOR-Net++ scaling (Bulat and Tzimiropoulos, "XNOR-Net++: Improved Binary Neural Networks",
BMVC 2019): a scale factor learned by backpropagation instead of XNOR-Net's analytic mean.

- forward: ``y = Gamma * (sign(W) (*) x)`` with ``Gamma`` a trained parameter, either per output
  channel (``scales=channel``: ``Gamma_c``) or factorised over the output feature map
  (``scales=factorised``, convolutions only: ``Gamma_chw = alpha_c * beta_h * gamma_w``),
- gradient: ``dL/dGamma = sum over the batch of dL/dy * (sign(W) (*) x)``, STE through sign.

Deployment: ``Gamma`` is a ``Mul`` after the exact +-1 MatMul/convolution. A per-channel scale
folds into the thresholds (a negative ``Gamma_c`` negates the channel's weight row). A factorised
scale differs per output position, which one threshold per channel cannot express: lowering
rejects its ``Mul`` (a constant of C*H*W elements, not C). An MLP has no spatial positions, so
``scales=factorised`` is an error there.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch
from brevitas.nn import QuantConv2d
from torch import nn

from hwbnn.errors import ConfigError
from hwbnn.train.methods.base import TrainContext, arg
from hwbnn.train.methods.xnor import XnorNet


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


class XnorNetPP(XnorNet):
    name = "xnorpp"
    summary = "XNOR-Net++ learned per-channel (or factorised) scale"
    scaling = "learned"

    @dataclass(frozen=True)
    class Args:
        scales: str = arg(
            "channel",
            "learned scale per output channel, or factorised c x h x w (conv only)",
            ("channel", "factorised"),
        )

    def configure(self, config: Any) -> Any:
        if hasattr(config, "scaling"):  # an MLP: per output channel only
            if self.args.scales == "factorised":
                raise ConfigError(
                    "method 'xnorpp': scales=factorised needs convolutions (an MLP output has no "
                    "spatial positions); use scales=channel"
                )
            return replace(config, scaling=self.scaling)
        return config

    def setup(self, ctx: TrainContext) -> None:
        if hasattr(ctx.config, "scaling"):
            return
        from hwbnn.train.checkpoint import CONV_SCALES_ATTR

        example = torch.from_numpy(ctx.data.x_test[:2])
        if add_conv_output_scales(ctx.model, example, self.args.scales == "factorised") == 0:
            raise ConfigError("method 'xnorpp': the model has no binary convolutions to scale")
        # the checkpoint records it, so load_checkpoint rebuilds the same modules
        setattr(ctx.model, CONV_SCALES_ATTR, self.args.scales)
