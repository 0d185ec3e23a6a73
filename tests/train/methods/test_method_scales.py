"""XNOR-Net and XNOR-Net++ scales: forward and gradient by hand; conv scales on a tiny
convolution; the factorised scale is rejected by lowering."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from brevitas.nn import QuantConv2d

from hwbnn.errors import ConfigError, ModelError
from hwbnn.nn.mlp import BinaryMLP, LearnedScale, MeanAbsScale, MLPConfig
from hwbnn.nn.quantizers import BinaryWeightQuant
from hwbnn.nn.scales import ChannelScale, FactorisedScale, add_conv_output_scales
from hwbnn.train.methods import build_method

W = [[0.5, -0.25], [-1.0, 0.1]]


def test_xnor_alpha_forward_and_gradient() -> None:
    linear = torch.nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        linear.weight.copy_(torch.tensor(W))
    scale = MeanAbsScale(linear)
    y = scale(torch.ones(1, 2))
    assert torch.allclose(y, torch.tensor([[0.375, 0.55]]))  # mean |W_c|
    y.sum().backward()
    # d alpha_c / d W_cj = sign(W_cj) / 2
    assert torch.allclose(linear.weight.grad, torch.tensor([[0.5, -0.5], [-0.5, 0.5]]))


def test_xnor_model_output_is_alpha_times_binary_dot() -> None:
    plain = MLPConfig((1, 1, 2), (2,), 2, norm="none")
    config = build_method("xnor").configure(plain)
    assert config == replace(plain, scaling="mean_abs")
    net = BinaryMLP(config).eval()
    with torch.no_grad():
        net.hidden[0].weight.copy_(torch.tensor(W))
    # input pixels 1.0, 0.0 -> bits +1, -1; sign(W) x = (+1 - -1, -1 - +1) = (2, -2)
    x = torch.tensor([[[[1.0, 0.0]]]])
    pre = net.hidden[1](net.hidden[0](net.input_stage(x.flatten(1))))
    assert torch.allclose(pre, torch.tensor([[2 * 0.375, -2 * 0.55]]))


def test_xnorpp_learned_scale_gradient() -> None:
    scale = LearnedScale(2)
    with torch.no_grad():
        scale.gamma.copy_(torch.tensor([2.0, -0.5]))
    x = torch.tensor([[3.0, 1.0], [-1.0, 4.0]])
    y = scale(x)
    assert torch.equal(y, torch.tensor([[6.0, -0.5], [-2.0, -2.0]]))
    y.sum().backward()
    assert torch.equal(scale.gamma.grad, torch.tensor([2.0, 5.0]))  # column sums of x


def test_factorised_scale_values() -> None:
    scale = FactorisedScale(2, 2, 3)
    with torch.no_grad():
        scale.alpha.copy_(torch.tensor([1.0, 2.0]))
        scale.beta.copy_(torch.tensor([3.0, 0.5]))
        scale.gamma.copy_(torch.tensor([1.0, -1.0, 2.0]))
    s = scale.scale()
    assert s[1, 0, 2].item() == 2.0 * 3.0 * 2.0
    assert s[0, 1, 1].item() == 1.0 * 0.5 * -1.0
    y = scale(torch.ones(1, 2, 2, 3))
    assert torch.equal(y[0], s)


class _TinyConvNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = QuantConv2d(1, 2, 3, bias=False, weight_quant=BinaryWeightQuant)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


@pytest.mark.parametrize("factorised", [False, True])
def test_conv_output_scales_on_a_tiny_convolution(factorised: bool) -> None:
    net = _TinyConvNet()
    x = torch.randn(2, 1, 5, 5)
    plain = net(x).detach()
    assert add_conv_output_scales(net, x, factorised) == 1
    kind = FactorisedScale if factorised else ChannelScale
    assert isinstance(net.conv[1], kind)
    with torch.no_grad():
        if factorised:
            net.conv[1].alpha.copy_(torch.tensor([2.0, -1.0]))
            expected = plain * torch.tensor([2.0, -1.0])[None, :, None, None]
        else:
            net.conv[1].gamma.copy_(torch.tensor([0.5, 3.0]))
            expected = plain * torch.tensor([0.5, 3.0])[None, :, None, None]
    assert torch.equal(net(x), expected)


def test_factorised_mlp_is_a_config_error() -> None:
    config = MLPConfig((1, 8, 8), (16,), 10)
    with pytest.raises(ConfigError, match="scales=factorised needs convolutions"):
        build_method("xnorpp", ["scales=factorised"]).configure(config)


def test_factorised_conv_scale_is_rejected_at_lowering() -> None:
    """Per-position scales cannot become one threshold per channel: lowering (hwbnn.frontend.lower,
    _flatten_constants) rejects the Mul with 16 * 8 * 8 = 1024 elements on 16 channels."""
    from hwbnn.data import load_digits
    from hwbnn.export import export_qonnx_model
    from hwbnn.frontend.lower import lower
    from hwbnn.nn import build_model, model_config

    data = load_digits()
    config = model_config(
        "digits-cnn", data.image_shape, data.classes, data.levels, data.input_bits
    )
    model = build_model(config)
    add_conv_output_scales(model, torch.from_numpy(data.x_test[:2]), factorised=True)
    with tempfile.TemporaryDirectory() as tmp:
        qmodel = export_qonnx_model(model.eval(), Path(tmp) / "model.onnx")
    with pytest.raises(ModelError, match=r"constant of 1024 elements does not match 16 channels"):
        lower(qmodel)
