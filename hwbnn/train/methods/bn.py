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

from hwbnn.nn.mlp import NORMS
from hwbnn.train.methods.base import Method, arg, check


class BatchNormVariant(Method):
    name = "bn"
    summary = "BatchNorm variant of hidden layers: batch, center or none (Sari et al.)"
    slot = "norm"
    float_ok = True

    @dataclass(frozen=True)
    class Args:
        variant: str = arg("batch", "normalisation of hidden layers", NORMS)

    def configure(self, config: Any) -> Any:
        check(hasattr(config, "norm"), self.name, "the model has no norm option")
        return replace(config, norm=self.args.variant)
