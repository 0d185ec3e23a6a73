"""The full-precision baseline: the same topology and input stage with float weights and ReLU
in place of sign, trained with the same optimiser, epochs and schedule. It measures the accuracy
gap of binarization and is not deployable: ``hwbnn export`` refuses it, and lowering rejects
float weights and ReLU.

- forward: ``h = ReLU(BN(W x))`` per hidden layer, logits ``BN(W h)``,
- gradient: exact (no estimator).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hwbnn.nn.mlp import Precision
from hwbnn.train.methods.base import Method, Slot, check


class FullPrecision(Method):
    name = "fp"
    summary = "full-precision baseline of the same topology (not deployable)"
    slot = Slot.PRECISION
    float_ok = True

    def configure(self, config: Any) -> Any:
        check(hasattr(config, "precision"), self.name, "the model has no precision option")
        return replace(config, precision=Precision.FLOAT)
