"""Binary DARTS cells (hwbnn.nn.cells) and the network of a genotype (hwbnn.nn.cellnet): shapes
of every operation and stride, +-1 outputs, a node's join and the cell's concatenation on a
hand example, the full-precision parent's topology, configs and checkpoints, refusals, and the
exported QONNX model equal to torch (L0 == L1) for a genotype of every operation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from brevitas.nn import QuantConv2d
from torch import nn

from hwbnn.data import load_digits
from hwbnn.errors import ConfigError
from hwbnn.export import check_export, export_qonnx_model
from hwbnn.nn import CellNet, CellNetConfig, build_model, cellnet_config, config_from_dict
from hwbnn.nn.cells import ConvOp, FixedCell, NodeJoin, cell_forward, dense_sources, make_op
from hwbnn.nn.genotype import OPS, Cell, Edge, Genotype, Op
from hwbnn.train import load_checkpoint, save_checkpoint


def genotype(normal: list, reduce: list, layout=("normal", "reduce"), channels=4) -> Genotype:
    """A genotype of the given nodes (lists of ``[op, source]`` edges)."""
    return Genotype.from_dict(
        {
            "format": "hwbnn-genotype/1",
            "normal": normal,
            "reduce": reduce,
            "layout": list(layout),
            "channels": channels,
            "stem_channels": 8,
        }
    )


#: every exportable operation, on edges from the cell inputs (strided in the reduction cell)
#: and from intermediate nodes
ALL_OPS = genotype(
    [[["conv_3x3", 0], ["dil_conv_3x3", 1]], [["conv_5x5", 2], ["identity", 1]]],
    [[["max_pool_3x3", 0], ["avg_pool_3x3", 1]], [["identity", 0], ["max_pool_3x3", 2]]],
)


def _pm1(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 2, shape, generator=gen).float() * 2 - 1


def _randomise_norms(model: nn.Module, seed: int) -> nn.Module:
    """Random BatchNorm statistics and affines (a fresh BatchNorm is nearly the identity)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
                c = m.num_features
                m.running_mean.copy_(torch.rand(c, generator=gen) * 4 - 2)
                m.running_var.copy_(torch.rand(c, generator=gen) * 4 + 0.5)
                if m.affine:
                    m.weight.copy_(torch.rand(c, generator=gen) * 2 - 1)
                    m.bias.copy_(torch.rand(c, generator=gen) * 2 - 1)
            elif isinstance(m, NodeJoin) and not m.single:
                m.bias.copy_(torch.rand(m.bias.shape, generator=gen) * 2 - 1)
    return model.eval()


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("op", OPS)
def test_op_shapes_and_values(op: Op, stride: int) -> None:
    x = _pm1((2, 3, 7, 6), seed=1)
    for binary in (True, False):
        y = _randomise_norms(make_op(op, 3, stride, binary), seed=2)(x)
        assert tuple(y.shape) == (2, 3, -(-7 // stride), -(-6 // stride))
        if op is Op.ZERO:
            assert not y.any()
        elif binary:
            assert set(torch.unique(y).tolist()) <= {-1.0, 1.0}


def test_pools_and_identity_are_the_documented_maps() -> None:
    x = _pm1((1, 2, 5, 5), seed=3)
    padded = nn.functional.pad(x, (1, 1, 1, 1), value=-1.0)
    windows = padded.unfold(2, 3, 2).unfold(3, 3, 2)  # (1, 2, 3, 3, 3, 3)
    majority = torch.where(windows.sum((-1, -2)) >= 0, 1.0, -1.0)
    assert torch.equal(make_op(Op.AVG_POOL_3X3, 2, 2)(x), majority)
    torch_pool = nn.functional.max_pool2d(x, 3, 2, padding=1)  # -inf padding
    assert torch.equal(make_op(Op.MAX_POOL_3X3, 2, 2)(x), torch_pool)
    assert torch.equal(make_op(Op.IDENTITY, 2, 2)(x), x[:, :, ::2, ::2])
    assert make_op(Op.IDENTITY, 2, 1)(x) is x


def test_node_join_and_concat_on_a_hand_example() -> None:
    """node 2 = sign((s0 + s1 - 0.5) / 1 + 0) (+1 where both are +1), node 3 = node 2 through
    one identity edge (a single edge is not joined), output = [node 2, node 3]."""
    s0 = torch.tensor([[[[1.0, 1.0], [-1.0, -1.0]]]])
    s1 = torch.tensor([[[[1.0, -1.0], [1.0, -1.0]]]])
    joins = [NodeJoin(1, edges=2), NodeJoin(1, edges=1)]
    with torch.no_grad():
        joins[0].norm.running_mean.fill_(0.5)
        joins[0].norm.running_var.fill_(1.0 - joins[0].norm.eps)
    for join in joins:
        join.eval()
    edges = [[nn.Identity(), nn.Identity()], [nn.Identity()]]
    out = cell_forward(((0, 1), (2,)), edges, joins, s0, s1)
    node2 = torch.tensor([[[[1.0, -1.0], [-1.0, -1.0]]]])
    assert torch.equal(out, torch.cat([node2, node2], dim=1))
    assert dense_sources(3) == ((0, 1), (0, 1, 2), (0, 1, 2, 3))


def test_node_sum_of_three_edges_thresholds_an_integer() -> None:
    join = NodeJoin(1, edges=3)
    with torch.no_grad():
        join.norm.running_mean.fill_(1.5)  # sum >= 2 of the sums in {-3, -1, 1, 3}
        join.norm.running_var.fill_(4.0 - join.norm.eps)
        join.bias.fill_(0.0)
    join.eval()
    a, b, c = (torch.tensor([[[[v]]]]) for v in (1.0, 1.0, -1.0))
    assert join([a, b, c]).item() == -1.0  # sum 1 < 1.5
    assert join([a, b, -c]).item() == 1.0  # sum 3


def test_full_precision_parent_has_the_childs_topology() -> None:
    cell = ALL_OPS.reduce
    child = FixedCell(ALL_OPS.normal, 4, 8, 8, reduction=False, reduction_prev=False)
    parent = FixedCell(ALL_OPS.normal, 4, 8, 8, False, False, binary=False)
    child_shapes = {k: v.shape for k, v in child.state_dict().items()}
    assert child_shapes == {k: v.shape for k, v in parent.state_dict().items()}
    conv_ops = [m for m in parent.modules() if isinstance(m, ConvOp)]
    assert conv_ops and all(type(m.conv) is nn.Conv2d for m in conv_ops)
    assert all(isinstance(m.conv, QuantConv2d) for m in child.modules() if isinstance(m, ConvOp))
    assert not any(isinstance(m, nn.ReLU) for m in child.modules())
    x0, x1 = torch.randn(2, 8, 6, 6), torch.randn(2, 8, 6, 6)
    y = FixedCell(cell, 4, 8, 8, True, False, binary=False).eval()(x0, x1)
    assert y.shape == (2, 8, 3, 3) and (y >= 0).all()  # ReLU nodes, concatenated
    dil = make_op(Op.DIL_CONV_3X3, 4, 1)
    assert isinstance(dil, ConvOp) and dil.conv.dilation == (2, 2)


def test_config_round_trip_and_checkpoint(tmp_path: Path) -> None:
    config = cellnet_config(ALL_OPS, (1, 8, 8), 10, 17, 5, "integer")
    assert config.cell_channels == (4, 8) and config.cells_shape == (16, 4, 4)
    assert config.pool == 1 and config.feature_shape == (16, 4, 4) and config.in_features == 256
    on_28 = cellnet_config(ALL_OPS, (1, 28, 28), 10, 17, 5)  # 14 x 14 after the reduction
    assert on_28.pool == 4 and on_28.feature_shape == (16, 3, 3)
    data = config.to_dict()
    assert data["kind"] == "cellnet" and data["genotype"] == ALL_OPS.to_dict()
    assert config_from_dict(data) == config and CellNetConfig.from_dict(data) == config
    model = _randomise_norms(build_model(config), seed=4)
    assert isinstance(model, CellNet)
    save_checkpoint(tmp_path / "m.pt", model, "digits", {})
    loaded, _ = load_checkpoint(tmp_path / "m.pt")
    x = torch.rand(5, 1, 8, 8)
    assert loaded.config == config and torch.equal(loaded(x), model(x))


def test_signs_in_forward_order_are_listed() -> None:
    model = build_model(cellnet_config(ALL_OPS, (1, 8, 8), 10, 17, 5))
    assert isinstance(model, CellNet)
    # stem, per cell: 2 preprocessings, the conv ops, the avg pool, the joins of 2 edges
    assert len(model.activations()) == 1 + (2 + 3 + 2) + (2 + 1 + 2)


def test_a_genotype_too_deep_for_8x8_images_is_refused() -> None:
    deep = genotype(
        [[["conv_3x3", 0], ["identity", 1]]],
        [[["max_pool_3x3", 0], ["conv_3x3", 1]]],
        layout=("reduce", "normal", "reduce", "reduce", "reduce"),
    )
    with pytest.raises(ConfigError) as info:
        cellnet_config(deep, (1, 8, 8), 10, 17, 5, source="g.json")
    message = str(info.value)
    assert "\n" not in message and message.startswith("g.json on (1, 8, 8) images: ")
    assert "reduction cell 4 of 4 gets a 1x1 map from 8x8 images; use at most 3" in message
    assert cellnet_config(deep, (1, 16, 16), 10, 17, 5).cells_shape[1:] == (1, 1)
    with pytest.raises(ConfigError, match="needs \\(C, H, W\\) images"):
        cellnet_config(deep, (64,), 10, 17, 5)


def test_a_zero_edge_is_never_in_a_fixed_cell() -> None:
    with pytest.raises(ValueError, match="zero edges are left out"):
        Cell(((Edge(Op.ZERO, 0),),))


def test_export_equals_torch_for_every_operation(tmp_path: Path) -> None:
    """L0 == L1: labels of torch and qonnx execute_onnx equal on 120 digits test images."""
    model = _randomise_norms(build_model(cellnet_config(ALL_OPS, (1, 8, 8), 10, 17, 5)), 5)
    assert isinstance(model, CellNet)
    qmodel = export_qonnx_model(model, tmp_path / "m.onnx")
    ops = {node.op_type for node in qmodel.model.graph.node}
    assert {"Add", "Concat", "AveragePool", "MaxPool", "Pad"} <= ops
    x = load_digits().x_test[:120]
    dots = model.last_layer_dot(torch.from_numpy(x)).numpy()
    assert len(np.unique(dots, axis=0)) > 20  # the images reach the classifier distinctly
    check = check_export(model, qmodel, x)
    assert check.frames == len(x) and check.label_mismatches == 0
