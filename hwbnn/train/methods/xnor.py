"""XNOR-Net scaling (Rastegari et al., "XNOR-Net: ImageNet Classification Using Binary
Convolutional Neural Networks", ECCV 2016).

- forward: ``y_c = alpha_c * (sign(W_c) . x)`` with ``alpha_c = mean_j |W_cj|`` of the latent
  weights of output channel c (the L2-optimal scale of ``W_c ~ alpha_c sign(W_c)``),
- gradient: through sign by the STE and through ``alpha_c`` (``d alpha_c / d W_cj =
  sign(W_cj) / n``), as in the paper.

Deployment: the weight quantizer keeps scale 1, so the MatMul is an exact +-1 dot product, and
``alpha`` is exported as a per-channel ``Mul`` after it (``hwbnn.nn.mlp.MeanAbsScale``), which
lowering folds into the integer thresholds (or the last layer's per-class affine).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hwbnn.nn.mlp import Scaling
from hwbnn.train.methods.base import Method, Slot, check


class XnorNet(Method):
    name = "xnor"
    summary = "XNOR-Net per-channel alpha = mean|W|"
    slot = Slot.SCALE
    scaling = Scaling.MEAN_ABS

    def configure(self, config: Any) -> Any:
        check(
            hasattr(config, "scaling"),
            self.name,
            "scales are a model option of the MLPs (hwbnn.nn.MLPConfig.scaling); on a "
            "convolutional net use xnorpp",
        )
        return replace(config, scaling=self.scaling)
