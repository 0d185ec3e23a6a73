"""DuplicateSharedPad: a Pad that the exporter shares between two convolutions of one tensor
(TorchScript merges the identical pads of two 3x3 convolutions of a DARTS cell input) becomes
one Pad per reader, and the model then lowers."""

from __future__ import annotations

from pathlib import Path

import torch

from hwbnn.export import export_qonnx_model, load_qonnx
from hwbnn.frontend.lower import lower, prepare
from hwbnn.ir.types import SlidingWindow
from hwbnn.nn import build_model, cellnet_config
from hwbnn.nn.genotype import Genotype


def _shared_readers(model) -> list[int]:  # noqa: ANN001 - a qonnx ModelWrapper
    return [
        len(model.find_consumers(node.output[0]) or [])
        for node in model.graph.node
        if node.op_type == "Pad"
    ]


def test_shared_pad_is_duplicated_and_lowers(tmp_path: Path) -> None:
    cell = [[["conv_3x3", 0], ["conv_3x3", 0]]]  # two 3x3 convolutions of node 0
    genotype = Genotype.from_dict(
        {
            "format": "hwbnn-genotype/1",
            "normal": cell,
            "reduce": cell,
            "layout": ["normal"],
            "channels": 2,
            "stem_channels": 4,
        }
    )
    torch.manual_seed(0)
    model = build_model(cellnet_config(genotype, (1, 8, 8), 10, 17, 5)).eval()
    export_qonnx_model(model, tmp_path / "m.onnx")
    exported = load_qonnx(tmp_path / "m.onnx")
    assert max(_shared_readers(exported)) == 2
    prepared = prepare(exported)
    assert _shared_readers(prepared) and max(_shared_readers(prepared)) == 1
    net = lower(exported, source="m.onnx")
    windows = [layer for layer in net.layers if isinstance(layer, SlidingWindow)]
    assert sum(w.kernel == 3 and w.padding == (1, 1, 1, 1) for w in windows) == 3  # stem, 2 convs


def test_a_reader_of_the_pad_twice_is_one_reader() -> None:
    """A Concat of the padded tensor with itself (a fuzzed model hung the pass: qonnx lists the
    Concat once per input, and each copy was read twice again) beside a second reader."""
    from onnx import TensorProto, helper
    from qonnx.core.modelwrapper import ModelWrapper

    from hwbnn.frontend.passes import DuplicateSharedPad

    pads = helper.make_tensor("pads", TensorProto.INT64, [8], [0, 0, 1, 1, 0, 0, 1, 1])
    nodes = [
        helper.make_node("Pad", ["x", "pads"], ["p"], name="pad"),
        helper.make_node("Concat", ["p", "p"], ["c"], name="cat", axis=1),
        helper.make_node("Relu", ["p"], ["r"], name="relu"),
        helper.make_node("Concat", ["c", "r"], ["y"], name="out", axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 2, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 4, 4])],
        [pads],
    )
    model = ModelWrapper(helper.make_model(graph))
    model = model.transform(DuplicateSharedPad())
    pad_nodes = [n for n in model.graph.node if n.op_type == "Pad"]
    assert len(pad_nodes) == 2
    readers = [{n.name for n in model.find_consumers(p.output[0])} for p in pad_nodes]
    assert sorted(map(sorted, readers)) == [["cat"], ["relu"]]
