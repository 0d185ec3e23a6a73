"""CP-NAS' kernel-level Child-Parent loss and the centre loss on hand-computed examples."""

from __future__ import annotations

import pytest
import torch

from hwbnn.search.losses import CentreLoss, kernel_cp_loss, xnor_scaled


def test_kernel_cp_loss_two_by_two():
    # one output channel: a = mean|W_C| = (0.5 + 1 + 0.25 + 0.25) / 4 = 0.5 (XNOR-Net),
    # a * sign(W_C) = [[0.5, -0.5], [0.5, -0.5]], W_P - that = [[0.5, 0.5], [-0.5, -0.5]],
    # squared sum 1, times lambda / 2 = 0.5 at lambda 1
    child = torch.tensor([[[[0.5, -1.0], [0.25, -0.25]]]], requires_grad=True)
    parent = torch.tensor([[[[1.0, 0.0], [0.0, -1.0]]]], requires_grad=True)
    assert torch.equal(xnor_scaled(child).detach(), torch.tensor([[[[0.5, -0.5], [0.5, -0.5]]]]))
    loss = kernel_cp_loss([(child, parent)], weight=1.0)
    assert float(loss) == pytest.approx(0.5)
    assert float(kernel_cp_loss([(child, parent)], weight=0.1)) == pytest.approx(0.05)
    loss.backward()
    assert parent.grad is None  # the Parent is the teacher
    assert child.grad is not None and child.grad.abs().sum() > 0


def test_xnor_scale_is_per_output_channel():
    w = torch.tensor([[[[1.0, -3.0]]], [[[-0.5, -0.5]]]])
    assert torch.equal(xnor_scaled(w), torch.tensor([[[[2.0, -2.0]]], [[[-0.5, -0.5]]]]))


def test_kernel_cp_loss_checks_shapes():
    with pytest.raises(ValueError):
        kernel_cp_loss([(torch.zeros(1, 1, 3, 3), torch.zeros(1, 1, 2, 2))])
    with pytest.raises(ValueError):
        kernel_cp_loss([])


def test_centre_loss_and_update():
    centre = CentreLoss(classes=2, features=2, weight=1.0, rate=0.5)
    f = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    y = torch.tensor([0, 0])
    # centres 0: |f_1|^2 = 5, |f_2|^2 = 25, mean 15, times 1/2
    assert float(centre(f, y)) == pytest.approx(7.5)
    centre.update(f, y)
    # delta_0 = ((0 - 1) + (0 - 3), (0 - 2) + (0 - 4)) / (1 + 2) = (-4/3, -2); c_0 -= 0.5 delta
    assert torch.allclose(centre.centres, torch.tensor([[2 / 3, 1.0], [0.0, 0.0]]))
    assert float(centre(f, y)) == pytest.approx(0.5 * ((1 / 9 + 1) + (49 / 9 + 9)) / 2)
