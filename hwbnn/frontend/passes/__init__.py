"""The passes of the lowering (:mod:`hwbnn.frontend.lower`), one module each.

ONNX rewrites (qonnx ``Transformation``: ``apply(model)`` rewrites nodes and initializers but
keeps the model's function and its single input and output; it returns ``(model,
graph_modified)`` and is re-applied by ``ModelWrapper.transform`` while it reports a
modification): :class:`FoldShapeOps`, :class:`ConvertGemmToMatMul`, :class:`SplitConvBias`,
:class:`CollapseInteractions`, :class:`DuplicateSharedPad`.

Lowering passes over a :class:`~hwbnn.frontend.state.LoweringState` (ONNX data tensors ->
IR nodes): :class:`ExtractInputStage`, then per data-path node one
:class:`~hwbnn.frontend.state.NodePass` (:class:`LowerLayout`, :class:`LowerAffine`,
:class:`LowerMaxPool`, :class:`LowerAveragePool`, :class:`DeferPad`, :class:`LowerConvToWindow`,
:class:`LowerMatMul`,
:class:`LowerBasisCombination` (a DBF layer's combination), :class:`LowerActivation`,
:class:`LowerAdd`, :class:`LowerConcat`, :class:`LowerInteraction`) followed by
:class:`InsertForks`, and at the end :class:`ExtractOutputAffine`. The steps inside an
activation are modules of their own: :mod:`.absorb_affine` (AbsorbAffineIntoThresholds),
:mod:`.negate_decreasing` (NegateDecreasingChannels), :mod:`.move_pool_behind_threshold`
(MovePoolBehindThreshold).
"""

from hwbnn.frontend.passes.collapse_interactions import CollapseInteractions
from hwbnn.frontend.passes.convert_gemm_to_matmul import ConvertGemmToMatMul
from hwbnn.frontend.passes.duplicate_shared_pad import DuplicateSharedPad
from hwbnn.frontend.passes.extract_input_stage import ExtractInputStage
from hwbnn.frontend.passes.extract_output_affine import ExtractOutputAffine
from hwbnn.frontend.passes.fold_shape_ops import FoldShapeOps
from hwbnn.frontend.passes.insert_forks import InsertForks
from hwbnn.frontend.passes.lower_activation import LowerActivation
from hwbnn.frontend.passes.lower_add import LowerAdd
from hwbnn.frontend.passes.lower_affine import LowerAffine
from hwbnn.frontend.passes.lower_average_pool import LowerAveragePool
from hwbnn.frontend.passes.lower_basis_combination import LowerBasisCombination
from hwbnn.frontend.passes.lower_concat import LowerConcat
from hwbnn.frontend.passes.lower_conv_to_window import DeferPad, LowerConvToWindow
from hwbnn.frontend.passes.lower_interaction import LowerInteraction
from hwbnn.frontend.passes.lower_layout import LowerLayout
from hwbnn.frontend.passes.lower_matmul import LowerMatMul
from hwbnn.frontend.passes.lower_max_pool import LowerMaxPool
from hwbnn.frontend.passes.split_conv_bias import SplitConvBias

__all__ = [
    "CollapseInteractions",
    "ConvertGemmToMatMul",
    "DeferPad",
    "DuplicateSharedPad",
    "ExtractInputStage",
    "ExtractOutputAffine",
    "FoldShapeOps",
    "InsertForks",
    "LowerActivation",
    "LowerAdd",
    "LowerAffine",
    "LowerAveragePool",
    "LowerBasisCombination",
    "LowerConcat",
    "LowerConvToWindow",
    "LowerInteraction",
    "LowerLayout",
    "LowerMatMul",
    "LowerMaxPool",
    "SplitConvBias",
]
