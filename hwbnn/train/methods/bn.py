"""BatchNorm variants after Sari et al. ("How Does Batch Normalization Help Binary Training?",
2019) for the hidden layers; the output layer keeps its BatchNorm (the per-class affine).

- ``batch``: ``y = gamma (x - mu) / sqrt(var + eps) + beta`` (BatchNorm1d, the default),
- ``center``: ``y = x - mu + beta`` (mean subtraction and a learned bias, no variance scaling;
  ``mu`` the batch mean in training, its running average in eval),
- ``none``: ``y = x`` (the sign sees the raw popcount accumulator; threshold 0).

All three lower to integer thresholds (BatchNormalization, Sub/Add, or nothing before the sign).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from hwbnn.nn.mlp import Norm
from hwbnn.train.methods.base import Method, Slot, arg, check


class BatchNormVariant(Method):
    name = "bn"
    summary = "BatchNorm variant of hidden layers: batch, center or none (Sari et al.)"
    slot = Slot.NORM
    float_ok = True

    @dataclass(frozen=True)
    class Args:
        variant: Norm = arg(Norm.BATCH, "normalisation of hidden layers")

    def configure(self, config: Any) -> Any:
        check(hasattr(config, "norm"), self.name, "the model has no norm option")
        return replace(config, norm=self.args.variant)
