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

from hwbnn.errors import ConfigError
from hwbnn.nn.mlp import Scaling
from hwbnn.nn.scales import CONV_SCALES_ATTR, ScaleLayout, add_conv_output_scales
from hwbnn.train.methods.base import TrainContext, arg
from hwbnn.train.methods.xnor import XnorNet


class XnorNetPP(XnorNet):
    name = "xnorpp"
    summary = "XNOR-Net++ learned per-channel (or factorised) scale"
    scaling = Scaling.LEARNED

    @dataclass(frozen=True)
    class Args:
        scales: ScaleLayout = arg(
            ScaleLayout.CHANNEL,
            "learned scale per output channel, or factorised c x h x w (conv only)",
        )

    def configure(self, config: Any) -> Any:
        if hasattr(config, "scaling"):  # an MLP: per output channel only
            if self.args.scales == ScaleLayout.FACTORISED:
                raise ConfigError(
                    "method 'xnorpp': scales=factorised needs convolutions (an MLP output has no "
                    "spatial positions); use scales=channel"
                )
            return replace(config, scaling=self.scaling)
        return config

    def setup(self, ctx: TrainContext) -> None:
        if hasattr(ctx.config, "scaling"):
            return
        example = torch.from_numpy(ctx.data.x_test[:2])
        if (
            add_conv_output_scales(ctx.model, example, self.args.scales == ScaleLayout.FACTORISED)
            == 0
        ):
            raise ConfigError("method 'xnorpp': the model has no binary convolutions to scale")
        # the checkpoint records it, so load_checkpoint rebuilds the same modules
        setattr(ctx.model, CONV_SCALES_ATTR, self.args.scales.value)
