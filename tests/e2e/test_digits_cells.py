"""The network of a genotype (hwbnn.nn.cellnet, issue 19) end to end on digits: trained with
``--genotype``'s path (the ``digits_cells`` fixture: 3x3/5x5 binary convolutions and identities,
strided in the reduction cell), lowered to a graph (forks, add-joins thresholded, channel
concatenations), L0, L1 (qonnx execute_onnx) and L2 labels equal on the whole digits test
split, the generated RTL bit-exact on 20 test images under random input gaps and output
backpressure (the fast Verilator engine), and the generated HLS C-simulated exactly.

Every other operation of the search space (dilated convolution, -1-padded max and average
pools) is checked per operation on a network with random BatchNorms: L0 == L1, L0 == L2 on the
whole test split and the RTL exact on 20 images.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from cells_checks import csim_exact, rtl_exact
from ladder_checks import assert_ladder_exact

from hwbnn.cli import main
from hwbnn.data import load_digits
from hwbnn.export import check_export, export_qonnx_model, load_qonnx
from hwbnn.frontend.lower import lower
from hwbnn.ir.types import AddJoin, Concat, Fork, Threshold
from hwbnn.nn import build_model, cellnet_config
from hwbnn.nn.genotype import Genotype
from hwbnn.train import load_checkpoint

#: the operations beyond the trained network's (conv_3x3, conv_5x5, identity)
OTHER_OPS = ("avg_pool_3x3", "dil_conv_3x3", "max_pool_3x3")


def test_lowered_graph_joins_and_concatenates(digits_cells) -> None:
    net = digits_cells.net
    assert not net.is_chain
    joins = [n for n in net.layers if isinstance(n, AddJoin)]
    assert len(joins) == 4  # two nodes of two edges per cell, two cells
    for join in joins:
        (reader,) = [n for n in net.layers if join.name in net.inputs_of(n.name)]
        assert isinstance(reader, Threshold)  # the node's scale-free BN and sign
    assert sum(isinstance(n, Concat) for n in net.layers) == 2
    assert sum(isinstance(n, Fork) for n in net.layers) >= 4


def test_ladder_exact_on_the_whole_test_split(digits_cells) -> None:
    assert digits_cells.test_accuracy > 0.6  # it learnt (10 classes; 0.82 with seed 0)
    data = load_digits()
    model, checkpoint = load_checkpoint(digits_cells.checkpoint)
    assert checkpoint["model"]["genotype"]["normal"][0] == [["conv_3x3", 0], ["identity", 1]]
    onnx_model = load_qonnx(digits_cells.onnx)
    net, accuracy = digits_cells.net, digits_cells.test_accuracy
    assert_ladder_exact(
        net, data.x_test, data.y_test, model, onnx_model, frames=360, accuracy=accuracy
    )


@pytest.mark.slow
@pytest.mark.verilator
def test_rtl_exact_under_backpressure(tmp_path: Path, digits_cells) -> None:
    rtl_exact(digits_cells.onnx, tmp_path / "build", 20)


@pytest.mark.slow
def test_hls_csim_exact_on_the_whole_test_split(tmp_path: Path, digits_cells) -> None:
    csim_exact(digits_cells.onnx, tmp_path / "build")


def _op_genotype(op: str) -> Genotype:
    """``op`` on a stride-1 edge, on a strided edge of the reduction cell and from a node."""
    return Genotype.from_dict(
        {
            "format": "hwbnn-genotype/1",
            "normal": [[[op, 0], ["conv_3x3", 1]], [[op, 2], ["identity", 1]]],
            "reduce": [[[op, 0], ["conv_3x3", 1]], [[op, 2], ["identity", 0]]],
            "layout": ["normal", "reduce"],
            "channels": 4,
            "stem_channels": 8,
        }
    )


@pytest.fixture(scope="module", params=OTHER_OPS)
def op_network(request, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN001, ANN201
    """(op, model with BatchNorm statistics of digits, its exported QONNX path) per op."""
    op = request.param
    torch.manual_seed(3)
    model = build_model(cellnet_config(_op_genotype(op), (1, 8, 8), 10, 17, 5))
    x = torch.from_numpy(load_digits().x_train[:256])
    with torch.no_grad():
        model.train()(x)  # BatchNorm statistics of real images
    model.eval()
    onnx = tmp_path_factory.mktemp(f"cells_{op}") / "model.onnx"
    export_qonnx_model(model, onnx)
    return op, model, onnx


def test_operation_export_equals_torch(op_network) -> None:
    """L0 == L1 on 100 test images, per operation."""
    op, model, onnx = op_network
    x = load_digits().x_test[:100]
    dots = model.last_layer_dot(torch.from_numpy(x)).numpy()
    assert len(np.unique(dots, axis=0)) > 20  # a test that can fail
    qmodel = load_qonnx(onnx)
    kinds = {node.op_type for node in qmodel.model.graph.node}
    expected = {"dil_conv_3x3": "Conv", "max_pool_3x3": "MaxPool", "avg_pool_3x3": "AveragePool"}
    assert expected[op] in kinds
    check = check_export(model, qmodel, x)
    assert check.frames == 100 and check.label_mismatches == 0


@pytest.mark.slow
@pytest.mark.verilator
def test_operation_lowers_and_runs_exactly(tmp_path: Path, op_network) -> None:
    """L0 == L1 == L2 on the test split and the RTL exact on 20 images, per operation."""
    op, model, onnx = op_network
    data = load_digits()
    net = lower(load_qonnx(onnx), source=str(onnx))
    assert_ladder_exact(net, data.x_test, data.y_test, model, load_qonnx(onnx), frames=360)
    rtl_exact(onnx, tmp_path / "build", 20)


def test_integer_input_lowers_exactly(tmp_path: Path) -> None:
    """5-bit pixel codes into the stem (padded with code 0): L0 == L1 == L2 on 100 images."""
    from trained_nets import DIGITS_CELLS_GENOTYPE

    data = load_digits()
    genotype = Genotype.from_dict(DIGITS_CELLS_GENOTYPE)
    config = cellnet_config(genotype, (1, 8, 8), 10, data.levels, data.input_bits, "integer")
    torch.manual_seed(4)
    model = build_model(config)
    with torch.no_grad():
        model.train()(torch.from_numpy(data.x_train[:256]))  # BatchNorm statistics of digits
    model.eval()
    onnx = tmp_path / "model.onnx"
    export_qonnx_model(model, onnx)
    net = lower(load_qonnx(onnx), source=str(onnx))
    assert net.input.levels == data.levels
    x, y = data.x_test[:100], data.y_test[:100]
    assert_ladder_exact(net, x, y, model, load_qonnx(onnx), frames=100)


def test_genotype_file_round_trips_through_the_fixture(digits_cells) -> None:
    genotype = json.loads((digits_cells.out / "genotype.json").read_text())
    model, _ = load_checkpoint(digits_cells.checkpoint)
    assert model.config.to_dict()["genotype"] == Genotype.from_dict(genotype).to_dict()


def _fail(capsys, *argv: str) -> str:  # noqa: ANN001 - pytest's capsys
    """The one-line error of a command that must fail."""
    assert main(list(argv)) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hwbnn: error: "), lines
    return lines[0]


def test_cli_refuses_inconsistent_or_unfit_genotypes(tmp_path: Path, capsys) -> None:
    from trained_nets import DIGITS_CELLS_GENOTYPE

    good = tmp_path / "genotype.json"
    good.write_text(json.dumps(DIGITS_CELLS_GENOTYPE))
    out = str(tmp_path / "out")
    for command in ("train", "run"):
        line = _fail(capsys, command, "--genotype", str(good), "--model", "tfc", "--out", out)
        assert "defines the network; leave out --model tfc" in line
    deep = tmp_path / "deep.json"
    deep.write_text(json.dumps({**DIGITS_CELLS_GENOTYPE, "layout": ["reduce"] * 4}))
    line = _fail(capsys, "train", "--genotype", str(deep), "--epochs", "1", "--out", out)
    assert f"{deep} on (1, 8, 8) images: reduction cell 4 of 4 gets a 1x1 map" in line
    line = _fail(capsys, "train", "--genotype", str(tmp_path / "none.json"), "--out", out)
    assert "none.json: cannot read the genotype" in line
    assert not (tmp_path / "out").exists()
    assert main(["run", "--genotype", str(good), "--out", out, "--list-steps"]) == 0
