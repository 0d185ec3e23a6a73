"""DuplicateSharedPad: a ``Pad`` read by several nodes becomes one ``Pad`` per reader.

A ``Pad`` is not a stream of its own in hwbnn: lowering defers it into the sliding window of
the one node it feeds (:class:`~hwbnn.frontend.passes.lower_conv_to_window.DeferPad`). An
exporter may merge identical pads of one tensor (TorchScript's common-subexpression
elimination does, e.g. for two 3 x 3 convolutions of one cell input in a DARTS cell,
:mod:`hwbnn.nn.cells`), leaving one ``Pad`` with several readers. This rewrite gives every
reader after the first its own copy (same inputs, attributes and constant pads, a fresh output
name), so the padded tensor that branches is the quantized one before the pad. A reader that
reads the pad several times (a ``Concat`` of it with itself) is one reader. The model's
function is unchanged.
"""

from __future__ import annotations

from onnx import NodeProto
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.base import Transformation


class DuplicateSharedPad(Transformation):
    """Copy every ``Pad`` with k >= 2 readers into k pads of one reader each."""

    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        graph = model.graph
        for index, node in enumerate(graph.node):
            if node.op_type != "Pad":
                continue
            # find_consumers lists a node once per input that reads the tensor
            readers = list({id(n): n for n in model.find_consumers(node.output[0]) or []}.values())
            if len(readers) < 2:
                continue
            for k, reader in enumerate(readers[1:], start=1):
                copy = NodeProto()
                copy.CopyFrom(node)
                copy.name = f"{node.name}_dup{k}" if node.name else ""
                copy.output[0] = model.make_new_valueinfo_name()
                for i, name in enumerate(reader.input):
                    if name == node.output[0]:
                        reader.input[i] = copy.output[0]
                graph.node.insert(index + k, copy)
            return model, True
        return model, False
