"""ONNX-level passes that normalise third-party QONNX graphs before lowering.

Contract (as qonnx's ``Transformation``): ``apply(model)`` may rewrite nodes and initializers
of the graph it is given but must keep the model's function (the output for every input) and
its single input and output; it returns ``(model, graph_modified)`` and is re-applied by
``ModelWrapper.transform`` while it reports a modification.
"""

from hwbnn.frontend.passes.convert_gemm_to_matmul import ConvertGemmToMatMul
from hwbnn.frontend.passes.fold_shape_ops import FoldShapeOps

__all__ = ["ConvertGemmToMatMul", "FoldShapeOps"]
