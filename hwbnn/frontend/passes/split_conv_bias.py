"""SplitConvBias: ``Conv(x, W, b)`` as ``Conv(x, W)`` followed by ``Add(., b)``.

Contract (qonnx ``Transformation``): keeps the model's function; the bias becomes a (1, C, 1,
1) initializer of an Add right after the Conv, so it joins the per-channel tail that becomes
thresholds (or the output affine map) like any other bias.
"""

from __future__ import annotations

import numpy as np
from onnx import helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.base import Transformation

from hwbnn.errors import ModelError
from hwbnn.frontend.graph import node_label


class SplitConvBias(Transformation):
    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        graph = model.graph
        for index, node in enumerate(graph.node):
            if node.op_type != "Conv" or len(node.input) < 3 or not node.input[2]:
                continue
            value = model.get_initializer(node.input[2])
            if value is None:
                raise ModelError(f"{node_label(node)}: the bias must be a constant")
            bias = model.make_new_valueinfo_name()
            model.set_initializer(bias, np.asarray(value, dtype=np.float32).reshape(1, -1, 1, 1))
            product = model.make_new_valueinfo_name()
            add = helper.make_node("Add", [product, bias], [node.output[0]])
            del node.input[2]
            node.output[0] = product
            graph.node.insert(index + 1, add)
            return model, True
        return model, False
