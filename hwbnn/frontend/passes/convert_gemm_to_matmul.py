"""ConvertGemmToMatMul: ``Gemm(A, B, C) = alpha * A @ op(B) + beta * C`` as MatMul, Mul, Add.

Handles a missing bias ``C`` (Brevitas' dynamo exporter omits it, which qonnx's GemmToMatMul
cannot handle) and ``transB`` (a Transpose on the constant weight path). ``transA`` would
transpose the data and is rejected.
"""

from __future__ import annotations

import numpy as np
from onnx import helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.base import Transformation

from hwbnn.errors import ModelError
from hwbnn.frontend.graph import node_attr


class ConvertGemmToMatMul(Transformation):
    """Replace each Gemm by Transpose (if transB) -> MatMul -> Mul (if alpha != 1) -> Add."""

    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        graph = model.graph
        for index, node in enumerate(graph.node):
            if node.op_type != "Gemm":
                continue
            if node_attr(node, "transA", 0):
                raise ModelError(f"node {node.name} (Gemm): transA=1 is not supported")
            alpha = float(node_attr(node, "alpha", 1.0))
            beta = float(node_attr(node, "beta", 1.0))
            a, b = node.input[0], node.input[1]
            bias = node.input[2] if len(node.input) > 2 and node.input[2] else None
            new = []
            if node_attr(node, "transB", 0):
                bt = model.make_new_valueinfo_name()
                new.append(helper.make_node("Transpose", [b], [bt], perm=[1, 0]))
                b = bt
            y = model.make_new_valueinfo_name()
            new.append(helper.make_node("MatMul", [a, b], [y], name=node.name))
            if alpha != 1.0:
                scaled, factor = model.make_new_valueinfo_name(), model.make_new_valueinfo_name()
                model.set_initializer(factor, np.asarray(alpha, dtype=np.float32))
                new.append(helper.make_node("Mul", [y, factor], [scaled]))
                y = scaled
            if bias is not None:
                value = model.get_initializer(bias)
                if value is None:
                    raise ModelError(f"node {node.name} (Gemm): bias must be a constant")
                shifted, name = model.make_new_valueinfo_name(), model.make_new_valueinfo_name()
                model.set_initializer(name, (np.asarray(value) * beta).astype(np.float32))
                new.append(helper.make_node("Add", [y, name], [shifted]))
                y = shifted
            new[-1].output[0] = node.output[0]
            graph.node.remove(node)
            for offset, item in enumerate(new):
                graph.node.insert(index + offset, item)
            return model, True
        return model, False
