"""FoldShapeOps: replace ``Shape`` nodes of statically shaped tensors by constants.

Older Brevitas/TorchScript exports flatten with ``x.view(x.size(0), -1)``, which becomes a
``Shape -> Gather -> Unsqueeze -> Concat -> Reshape`` chain. With static shapes (after
InferShapes) the ``Shape`` output is a constant; once it is an initializer, qonnx's
FoldConstants folds the rest of the chain and the Reshape gets a constant shape.
"""

from __future__ import annotations

import numpy as np
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.base import Transformation

from hwbnn.frontend.graph import node_attr


class FoldShapeOps(Transformation):
    """Turn every ``Shape`` node whose input shape is known into an int64 initializer."""

    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        graph = model.graph
        for node in list(graph.node):
            if node.op_type != "Shape":
                continue
            shape = model.get_tensor_shape(node.input[0])
            if shape is None or any(not isinstance(d, int) or d <= 0 for d in shape):
                continue
            start = node_attr(node, "start", 0)
            end = node_attr(node, "end", len(shape))
            model.set_initializer(node.output[0], np.asarray(shape[start:end], dtype=np.int64))
            graph.node.remove(node)
            return model, True
        return model, False
