"""The supernet: shapes, abandoned operations not run, sampled sub-networks, Child and Parent
kernels paired by name."""

from __future__ import annotations

import torch

from hwbnn.nn.genotype import OPS, CellKind, Op
from hwbnn.search.supernet import Architecture, SearchCell, SuperNet

LAYOUT = (CellKind.NORMAL, CellKind.REDUCE)


def net(binary: bool = True) -> SuperNet:
    torch.manual_seed(0)
    return SuperNet(1, 10, LAYOUT, channels=2, stem_channels=4, steps=2, k=2, binary=binary)


def test_shapes_and_abandoned_ops_do_not_run():
    arch, supernet = Architecture(2), net()
    x = torch.rand(3, 1, 8, 8)
    logits, features = supernet(x, arch)
    assert logits.shape == (3, 10) and features.shape == (3, 2 * 4)  # 2 nodes of 4 channels
    conv5 = OPS.index(Op.CONV_5X5)
    calls = []
    cell = supernet.cells[0]
    assert isinstance(cell, SearchCell)
    cell.mixed[0].ops[conv5].register_forward_hook(lambda *a: calls.append(1))
    supernet(x, arch)
    assert calls == [1]
    mask = arch.active(CellKind.NORMAL).clone()
    mask[0, conv5] = False
    arch.set_active(CellKind.NORMAL, mask)
    assert float(arch.op_weights(CellKind.NORMAL)[0, conv5]) == 0.0
    supernet(x, arch)
    assert calls == [1]  # abandoned: not run again
    sample = {k: [OPS.index(Op.IDENTITY)] * 5 for k in CellKind}
    sample[CellKind.NORMAL][0] = conv5
    logits, _ = supernet(x, arch, sample)
    assert logits.shape == (3, 10) and calls == [1, 1]  # a sample runs what it names


def test_child_and_parent_share_kernel_names_and_shapes():
    child, parent = net(True).kernels(), net(False).kernels()
    assert child.keys() == parent.keys() and len(child) > 10
    assert all(child[k].shape == parent[k].shape for k in child)
