"""ApproxSign: the piecewise-quadratic sign estimator of Bi-Real Net (Liu et al., ECCV 2018),
also used by RBCN (Liu et al., CVPR 2019).

- forward: ``q(x) = sign(x)``,
- gradient: the derivative of ``F(x) = -1 (x < -1); 2x + x^2 (-1 <= x < 0); 2x - x^2 (0 <= x < 1);
  1 (x >= 1)``, i.e. ``dq/dx = 2 - 2|x| if |x| < 1 else 0``.
"""

from __future__ import annotations

import torch

from hwbnn.train.methods.ste import ClippedSTE


class ApproxSign(ClippedSTE):
    name = "approxsign"
    summary = "Bi-Real Net / RBCN piecewise-quadratic sign gradient"

    def gradient(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(2.0 - 2.0 * x.abs(), min=0.0)
