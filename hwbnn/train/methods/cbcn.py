"""CBCN: circulant binary convolutions (Liu, Ding, Xia, Zhang, Zhuang, Han and Doermann,
"Circulant Binary Convolutional Networks: Enhancing the Performance of 1-bit DCNNs with
Circulant Back Propagation", CVPR 2019).

Every 3x3 binary convolution with ``C_out = K * M`` output channels learns only ``K`` base
kernels; at training time each base kernel ``B_k`` is expanded into ``M`` rotated copies,

    W_{kM + m} = R^{8m/M}(B_k),  m = 0 .. M-1,

where ``R`` rotates a 3x3 kernel by 45 degrees: it shifts the 8 border elements one place
clockwise around the centre (``M`` divides 8: M = 4 gives the 90-degree rotations, M = 8 every
45 degrees). The gradient of the shared base kernel is the circulant back-propagation sum
``dL/dB_k = sum_m R^{-8m/M}(dL/dW_{kM+m})`` (autograd through the expansion, a
``torch.nn.utils.parametrize`` parametrization of the convolution's weight).

Deployment: after training the expansion is materialised into the convolution's own weight
(``leave_parametrized``), so the exported model is a plain binary convolution with ``C_out``
kernels. Needs a model with 3x3 binary convolutions (an MLP has none).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from brevitas.nn import QuantConv2d
from torch import nn
from torch.nn.utils import parametrize

from hwbnn.errors import ConfigError
from hwbnn.train.methods.base import Method, Slot, TrainContext, arg, check

# border positions of a 3x3 kernel (row-major flat index), clockwise from the top-left corner
RING = (0, 1, 2, 5, 8, 7, 6, 3)


def rotate(kernel: torch.Tensor, steps: int) -> torch.Tensor:
    """Rotate the last two (3x3) axes by ``steps`` * 45 degrees clockwise."""
    flat = kernel.reshape(*kernel.shape[:-2], 9)
    index = list(range(9))
    for pos, src in enumerate(RING):
        index[RING[(pos + steps) % 8]] = src
    return flat[..., index].reshape(kernel.shape)


def expand_circulant(base: torch.Tensor, copies: int) -> torch.Tensor:
    """(K, C_in, 3, 3) base kernels -> (K * copies, C_in, 3, 3), copy m of kernel k at row
    ``k * copies + m``."""
    rotated = [rotate(base, m * 8 // copies) for m in range(copies)]
    return torch.stack(rotated, dim=1).reshape(-1, *base.shape[1:])


class Circulant(nn.Module):
    """Parametrization ``weight = expand_circulant(base, copies)``."""

    def __init__(self, copies: int) -> None:
        super().__init__()
        self.copies = copies

    def forward(self, base: torch.Tensor) -> torch.Tensor:
        return expand_circulant(base, self.copies)

    def right_inverse(self, weight: torch.Tensor) -> torch.Tensor:
        return weight[:: self.copies].clone()  # the un-rotated copy of every base kernel


def make_circulant(model: nn.Module, copies: int) -> list[nn.Module]:
    """Parametrize every eligible 3x3 binary convolution; returns the changed layers."""
    layers = [
        m for m in model.modules() if isinstance(m, QuantConv2d) and tuple(m.kernel_size) == (3, 3)
    ]
    if not layers:
        raise ConfigError(
            "method 'cbcn': the model has no 3x3 binary convolutions (circulant filters need "
            "a convolutional model; an MLP has none)"
        )
    for layer in layers:
        if layer.out_channels % copies:
            raise ConfigError(
                f"method 'cbcn': a convolution has {layer.out_channels} output channels, not a "
                f"multiple of copies={copies}"
            )
        parametrize.register_parametrization(layer, "weight", Circulant(copies))
    return layers


def materialize(layers: list[nn.Module]) -> None:
    """Replace the parametrization by its current value (a plain weight parameter)."""
    for layer in layers:
        if parametrize.is_parametrized(layer, "weight"):
            parametrize.remove_parametrizations(layer, "weight", leave_parametrized=True)


class CBCN(Method):
    name = "cbcn"
    summary = "CBCN circulant filters (rotated copies of shared kernels; conv models only)"
    slot = Slot.WEIGHTS

    @dataclass(frozen=True)
    class Args:
        copies: int = arg(4, "rotated copies M per base kernel (divides 8)")

    def __init__(self, args: Args | None = None) -> None:
        super().__init__(args)
        check(self.args.copies in (1, 2, 4, 8), self.name, "copies must be 1, 2, 4 or 8")

    def setup(self, ctx: TrainContext) -> None:
        self._layers = make_circulant(ctx.model, self.args.copies)

    def finish(self, ctx: TrainContext) -> None:
        materialize(self._layers)
