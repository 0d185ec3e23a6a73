"""SwishSign (Darabi et al., "BNN+: Improved Binary Network Training", 2018).

- forward: ``q(x) = sign(x)``,
- gradient: the derivative of ``SS_b(x) = 2 s(bx) (1 + bx (1 - s(bx))) - 1`` (s the logistic
  sigmoid), ``dq/dx = b (2 - bx tanh(bx/2)) / (1 + cosh(bx))``; it equals ``b`` at 0, turns
  negative for ``|x| > 2.4/b`` and tends to 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from hwbnn.train.methods.base import arg, check
from hwbnn.train.methods.ste import ClippedSTE


class SwishSign(ClippedSTE):
    name = "swishsign"
    summary = "BNN+ SwishSign gradient"

    @dataclass(frozen=True)
    class Args:
        beta: float = arg(5.0, "steepness b of SwishSign")

    def __init__(self, args: Args | None = None) -> None:
        super().__init__(args)
        check(self.args.beta > 0, self.name, f"beta must be > 0, got {self.args.beta}")

    def gradient(self, x: torch.Tensor) -> torch.Tensor:
        bx = self.args.beta * x
        return self.args.beta * (2.0 - bx * torch.tanh(bx / 2.0)) / (1.0 + torch.cosh(bx))
