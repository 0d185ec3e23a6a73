"""Model surgery shared by the methods: binary layers, latent weights, sign estimators,
forward-weight overrides and pre-activation capture. Works on any module tree of Brevitas
QuantLinear/QuantConv2d layers and binary QuantIdentity activations (MLPs and conv nets)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from brevitas.core.quant.binary import ClampedBinaryQuant
from brevitas.nn import QuantConv2d, QuantIdentity, QuantLinear
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import parametrize
from torch.utils.hooks import RemovableHandle

from hwbnn.errors import ConfigError

GradientRule = Callable[[torch.Tensor], torch.Tensor]


def binary_layers(model: nn.Module) -> list[nn.Module]:
    """The layers with binary weights (Brevitas QuantLinear / QuantConv2d), in module order."""
    return [m for m in model.modules() if isinstance(m, QuantLinear | QuantConv2d)]


def require_binary_layers(model: nn.Module, method: str) -> list[nn.Module]:
    layers = binary_layers(model)
    if not layers:
        raise ConfigError(
            f"method {method!r}: the model has no binary layers (the full-precision baseline "
            f"'fp' cannot be combined with it)"
        )
    return layers


def latent_weight(layer: nn.Module) -> torch.Tensor:
    """The trainable tensor behind ``layer.weight`` (the original of a parametrization)."""
    if parametrize.is_parametrized(layer, "weight"):
        parametrizations = layer.parametrizations
        assert isinstance(parametrizations, nn.ModuleDict)
        weight = parametrizations["weight"].original
    else:
        weight = layer.weight
    assert isinstance(weight, torch.Tensor)
    return weight


def clip_binary_weights(model: nn.Module) -> None:
    """Clip the latent weights of every binary layer of ``model`` to [-1, 1] in place, so the
    clipped straight-through estimator keeps passing gradient to them (Courbariaux et al.)."""
    with torch.no_grad():
        for layer in binary_layers(model):
            latent_weight(layer).clamp_(-1.0, 1.0)


def layer_input(inputs: tuple) -> torch.Tensor:
    x = inputs[0]
    return x.value if hasattr(x, "value") else x


def _apply_weight(layer: nn.Module, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    if isinstance(layer, nn.Conv2d):
        return nn.Conv2d._conv_forward(layer, x, weight, layer.bias)
    assert isinstance(layer, nn.Linear)
    return F.linear(x, weight, layer.bias)


def override_forward_weight(
    layer: nn.Module, weight_fn: Callable[[torch.Tensor], torch.Tensor]
) -> RemovableHandle:
    """In training mode, ``layer`` computes its output with ``weight_fn(latent weight)`` instead
    of its binary-quantized weight; in eval mode (the deployed model) nothing changes."""

    def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> torch.Tensor | None:
        if not module.training:
            return None
        return _apply_weight(module, layer_input(inputs), weight_fn(latent_weight(module)))

    return layer.register_forward_hook(hook)


class _ShapedSign(torch.autograd.Function):
    """Identity forward (the sign is taken by Brevitas after it); gradient ``g * rule(x)``."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, rule: GradientRule) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.rule = rule
        return x.clone()

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (x,) = ctx.saved_tensors
        return grad * ctx.rule(x), None


class SignGradient(nn.Module):
    """Stands in for the clamp of Brevitas' ``ClampedBinaryQuant``: the forward is unchanged
    (``sign(x)`` after it), the backward multiplies by ``rule(x)``, the estimator's derivative."""

    def __init__(self, rule: GradientRule) -> None:
        super().__init__()
        self.rule = rule

    def forward(self, x: torch.Tensor, min_val: torch.Tensor, max_val: torch.Tensor):
        return _ShapedSign.apply(x, self.rule)


def swap_sign_estimator(model: nn.Module, rule: GradientRule) -> Callable[[], None]:
    """Give every binary activation quantizer of ``model`` the gradient ``rule``; returns a
    function that restores the original (clipped STE) clamps."""
    swapped: list[tuple[nn.Module, nn.Module]] = []
    for module in model.modules():
        if not isinstance(module, QuantIdentity):
            continue
        tensor_quant = getattr(module.act_quant.fused_activation_quant_proxy, "tensor_quant", None)
        if isinstance(tensor_quant, ClampedBinaryQuant):
            swapped.append((tensor_quant, tensor_quant.tensor_clamp_impl))
            tensor_quant.tensor_clamp_impl = SignGradient(rule)

    def restore() -> None:
        for tensor_quant, clamp in swapped:
            tensor_quant.tensor_clamp_impl = clamp

    return restore


def activation_modules(model: nn.Module, method: str) -> list[nn.Module]:
    """The hidden activations whose inputs are the pre-sign (pre-activation) values."""
    finder = getattr(model, "activations", None)
    if finder is None:
        raise ConfigError(
            f"method {method!r}: the model does not list its hidden activations "
            f"(needs an activations() method, as hwbnn.nn.BinaryMLP has)"
        )
    return list(finder())


def capture_inputs(modules: list[nn.Module], store: list[torch.Tensor]) -> list[RemovableHandle]:
    """Append each module's input tensor to ``store`` on every forward in training mode."""

    def hook(module: nn.Module, inputs: tuple) -> None:
        if module.training:
            store.append(layer_input(inputs))

    return [m.register_forward_pre_hook(hook) for m in modules]
