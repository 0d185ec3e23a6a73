"""Lower a binary QONNX model to the hardware IR (:mod:`hwbnn.ir.types`).

The cleaned graph must be one chain::

    input -> [affine | layout]* -> input quantizer -> MatMul -> [affine | layout]* -> BipolarQuant
          -> MatMul -> ... -> MatMul -> [affine | layout]* -> output

- input quantizer: a binary quantizer (binarized input, becomes :class:`InputThreshold`) or an
  unsigned multi-bit Quant (integer input; it must map the input codes 1:1 to integers).
- every MatMul weight must be binary: +-s_c per output channel (BipolarQuant, Quant with
  bitwidth 1, or a plain +-s initializer), possibly transposed.
- affine ops (Mul/Add/Sub/Div with constants, BatchNormalization) between a MatMul and the next
  binary quantizer become exact integer thresholds (:mod:`hwbnn.ir.thresholds`), evaluated by
  running the model's own ops at every attainable accumulator value; a channel with negative
  slope gets its weight row negated. A decreasing input threshold negates the matching weight
  column of the first layer instead.
- the ops after the last MatMul must be a per-class affine map of its accumulator.

Float scales: the MatMul output is evaluated as ``acc * s_in * s_c`` in float32; this is exact
(and the IR equals L1 bit for bit) when scales are powers of two, as in hwbnn's own models.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from onnx import NodeProto
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.fold_constants import FoldConstants
from qonnx.transformation.infer_shapes import InferShapes

from hwbnn.data import code_values
from hwbnn.errors import ModelError
from hwbnn.export.qonnx_export import INPUT_LEVELS_KEY, clean_qonnx
from hwbnn.ir.graph import (
    AFFINE_OPS,
    LAYOUT_OPS,
    SHAPE_OPS,
    SUPPORTED_OPS,
    constant_value,
    data_chain,
    is_binary_quant,
    node_label,
    run_piece,
)
from hwbnn.ir.passes import ConvertGemmToMatMul, FoldShapeOps
from hwbnn.ir.thresholds import search_thresholds
from hwbnn.ir.types import InputFormat, InputThreshold, MatrixVector, Network

DEFAULT_INPUT_LEVELS = 256


@dataclass(frozen=True)
class InputSpec:
    """How the float inputs of a model map to hardware codes, when the model does not say."""

    levels: int | None = None
    low: float = 0.0
    high: float = 1.0


def prepare(model: ModelWrapper) -> ModelWrapper:
    """qonnx clean-up, then shape folding, Gemm -> MatMul, shapes and constant folding."""
    model = clean_qonnx(model)
    for node in model.graph.node:
        if node.op_type not in SUPPORTED_OPS | SHAPE_OPS:
            raise ModelError(
                f"{node_label(node)}: unsupported op; hwbnn lowers MatMul/Gemm, "
                f"BatchNormalization, Mul/Add/Sub/Div, Flatten/Reshape, BipolarQuant and Quant"
            )
    try:
        model = model.transform(FoldShapeOps())
        model = model.transform(FoldConstants(exclude_op_types=["Quant", "BipolarQuant"]))
        model = model.transform(ConvertGemmToMatMul()).transform(InferShapes())
        return model.transform(FoldConstants(exclude_op_types=["Quant", "BipolarQuant"]))
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(f"graph normalisation failed: {type(exc).__name__}: {exc}") from None


def input_format(model: ModelWrapper, spec: InputSpec) -> InputFormat:
    shape = model.get_tensor_shape(model.graph.input[0].name)
    if shape is None or len(shape) < 2:
        raise ModelError("model input must have a batch dimension and a known shape")
    meta = {p.key: p.value for p in model.model.metadata_props}
    levels = spec.levels
    if levels is None:
        levels = int(meta.get(INPUT_LEVELS_KEY, DEFAULT_INPUT_LEVELS))
    return InputFormat(tuple(int(d) for d in shape[1:]), code_values(levels, spec.low, spec.high))


def _rewire(nodes: list[NodeProto], source: str) -> list[NodeProto]:
    """Copies of the affine/quant nodes of a chain piece with layout nodes cut out."""
    out, tensor = [], source
    for node in nodes:
        if node.op_type in LAYOUT_OPS:
            continue
        clone = copy.deepcopy(node)
        data_index = [i for i, name in enumerate(clone.input) if name == node.input[0]]
        clone.input[data_index[0] if data_index else 0] = tensor
        out.append(clone)
        tensor = clone.output[0]
    return out


def _flatten_constants(model: ModelWrapper, nodes: list[NodeProto], channels: int) -> None:
    """Give the constant operands of elementwise ops shape () or (channels,), so the piece runs
    on (m, channels) inputs; a constant of any other size is an error."""
    for node in nodes:
        if node.op_type not in ("Mul", "Add", "Sub", "Div"):
            continue
        for name in node.input:
            value = model.get_initializer(name)
            if value is None:
                continue
            size = int(np.asarray(value).size)
            if size not in (1, channels):
                raise ModelError(
                    f"{node_label(node)}: constant of {size} elements does not match "
                    f"{channels} channels"
                )
            shape = () if size == 1 else (channels,)
            model.set_initializer(name, np.asarray(value, dtype=np.float32).reshape(shape))


class _Lowering:
    """One lowering run over the chain of a prepared model."""

    def __init__(self, model: ModelWrapper, fmt: InputFormat) -> None:
        self.model = model
        self.fmt = fmt
        self.chain = data_chain(model)
        self.pos = 0

    # -- walking -------------------------------------------------------------------------
    def _take_until(self, allow_end: bool) -> list[NodeProto]:
        """Consume affine/layout nodes until a MatMul or a quantizer (or the end)."""
        taken: list[NodeProto] = []
        while self.pos < len(self.chain):
            node = self.chain[self.pos]
            if node.op_type in ("MatMul", "BipolarQuant", "Quant"):
                return taken
            if node.op_type not in AFFINE_OPS | LAYOUT_OPS:
                raise ModelError(f"{node_label(node)}: unsupported op on the data path")
            taken.append(node)
            self.pos += 1
        if not allow_end:
            raise ModelError("graph ends before its first MatMul")
        return taken

    def _next(self) -> NodeProto | None:
        return self.chain[self.pos] if self.pos < len(self.chain) else None

    # -- pieces ----------------------------------------------------------------------------
    def _quant_scale(self, node: NodeProto) -> float:
        scale = np.asarray(constant_value(self.model, node.input[1]), dtype=np.float32)
        if scale.size != 1 or not scale.reshape(-1)[0] > 0:
            raise ModelError(f"{node_label(node)}: activation scale must be one positive scalar")
        if node.op_type == "Quant":
            zero = np.asarray(constant_value(self.model, node.input[2]))
            if np.any(zero != 0):
                raise ModelError(f"{node_label(node)}: non-zero zero-point is not supported")
        return float(scale.reshape(-1)[0])

    def _weights(self, node: NodeProto) -> tuple[np.ndarray, np.ndarray]:
        """(bool weights (MH, MW), per-channel magnitudes (MH,)) of a MatMul."""
        w = np.asarray(constant_value(self.model, node.input[1]), dtype=np.float32)
        if w.ndim != 2:
            raise ModelError(f"{node_label(node)}: weight must be a 2-D matrix, got {w.shape}")
        mag = np.abs(w)
        scale = mag[0]
        bad = np.flatnonzero(np.any(mag != scale[None, :], axis=0) | (scale == 0))
        if bad.size:
            c = int(bad[0])
            distinct = np.unique(w[:, c])
            raise ModelError(
                f"{node_label(node)}: weights are not binary-quantized (output channel {c} has "
                f"{distinct.size} distinct values, e.g. {distinct[:3].tolist()}); quantize them "
                f"with a 1-bit weight quantizer (BipolarQuant or Quant bitwidth=1)"
            )
        return (w.T > 0), scale

    def _evaluate_input(self, nodes: list[NodeProto]) -> np.ndarray:
        """Outputs of the input stage for every code, per flattened element: (levels, n)."""
        source = self.model.graph.input[0].name
        rows = []
        for value in self.fmt.values:
            x = np.full((1, *self.fmt.shape), value, dtype=np.float32)
            rows.append(run_piece(self.model, nodes, source, x).reshape(-1))
        return np.stack(rows)

    def _tail(
        self, nodes: list[NodeProto], source: str, mh: int
    ) -> Callable[[np.ndarray], np.ndarray]:
        """The ops after a MatMul as a function of its float output (m, mh) -> (m, mh)."""
        tail = _rewire(nodes, source)
        if not tail:
            return lambda x: x
        _flatten_constants(self.model, tail, mh)
        return lambda x: run_piece(self.model, tail, source, x, list(x.shape))

    # -- the lowering ----------------------------------------------------------------------
    def run(self) -> Network:
        layers: list[InputThreshold | MatrixVector] = []
        pre = self._take_until(allow_end=False)
        first = self._next()
        assert first is not None
        column_negate: np.ndarray | None = None
        if first.op_type == "MatMul":
            raise ModelError(
                f"{node_label(first)}: the first MatMul takes unquantized input; put a binary "
                f"or unsigned Quant on the model input"
            )
        self.pos += 1
        stage = self._evaluate_input([*pre, first])
        s_in = self._quant_scale(first)
        levels = self.fmt.levels
        if is_binary_quant(self.model, first):
            table = stage > 0
            thresholds, column_negate = search_thresholds(
                lambda v: table[v], 0, levels - 1, table.shape[1], "input_threshold"
            )
            layers.append(InputThreshold("input_threshold", thresholds, levels))
            in_bits, in_levels = 1, 2
        else:
            expected = np.arange(levels, dtype=np.float64)[:, None] * s_in
            if not np.array_equal(stage.astype(np.float64), np.broadcast_to(expected, stage.shape)):
                raise ModelError(
                    f"{node_label(first)}: the input quantizer does not map the {levels} input "
                    f"codes 1:1 to integers; give the model's input format with --input-levels "
                    f"and --input-range"
                )
            in_bits, in_levels = max(1, int(np.ceil(np.log2(levels)))), levels
            if in_bits == 1:
                raise ModelError(f"{node_label(first)}: a 2-level integer input is not supported")
        while True:
            between = self._take_until(allow_end=False)
            scaling = [n for n in between if n.op_type not in LAYOUT_OPS]
            if scaling:
                raise ModelError(
                    f"{node_label(scaling[0])}: elementwise op between an activation quantizer "
                    f"and a MatMul is not supported; move it after the MatMul"
                )
            matmul = self._next()
            if matmul is None or matmul.op_type != "MatMul":
                what = "the end of the graph" if matmul is None else node_label(matmul)
                raise ModelError(f"expected a MatMul after a quantizer, found {what}")
            self.pos += 1
            weights, w_scale = self._weights(matmul)
            if column_negate is not None:
                weights = weights ^ column_negate[None, :]
                column_negate = None
            mh, mw = weights.shape
            factor = (np.float32(s_in) * w_scale).astype(np.float32)
            # the MatMul sees acc * factor, acc = 2*popcount - MW (XNOR) or the integer sum
            if in_bits == 1:
                low, high, popcount = 0, mw, True
            else:
                bound = mw * (in_levels - 1)
                low, high, popcount = -bound, bound, False
            tail = self._take_until(allow_end=True)
            end = self._next()
            source = matmul.output[0]
            if end is None:
                layers.append(
                    self._output_layer(matmul, weights, tail, source, factor, in_bits, in_levels)
                )
                return Network(self.fmt, tuple(layers))
            if not is_binary_quant(self.model, end):
                raise ModelError(
                    f"{node_label(end)}: only 1-bit activations are supported between layers"
                )
            self.pos += 1
            tail_fn = self._tail([*tail, end], source, mh)

            def channel(
                v: np.ndarray, tail_fn=tail_fn, factor=factor, mw=mw, popcount=popcount
            ) -> np.ndarray:
                acc = 2 * v - mw if popcount else v
                return tail_fn(acc.astype(np.float32)[:, None] * factor[None, :]) > 0

            thresholds, negate = search_thresholds(channel, low, high, mh, matmul.name)
            weights = weights ^ negate[:, None]
            layers.append(
                MatrixVector(matmul.name, weights, in_bits, in_levels, thresholds=thresholds)
            )
            s_in = self._quant_scale(end)
            in_bits, in_levels = 1, 2

    def _output_layer(
        self,
        matmul: NodeProto,
        weights: np.ndarray,
        tail: list[NodeProto],
        source: str,
        factor: np.ndarray,
        in_bits: int,
        in_levels: int,
    ) -> MatrixVector:
        mh, mw = weights.shape
        bound = mw * (in_levels - 1)
        acc = np.arange(-bound, bound + 1, 2 if in_bits == 1 else 1, dtype=np.int64)
        x = acc.astype(np.float32)[:, None] * factor[None, :]
        logits = self._tail(tail, source, mh)(x)
        logits = logits.astype(np.float64)
        a = (logits[-1] - logits[0]) / (acc[-1] - acc[0])
        b = logits[0] - a * acc[0]
        fitted = a[None, :] * acc[:, None].astype(np.float64) + b[None, :]
        # float32 evaluation of an affine map deviates from it by rounding only
        slack = 4 * np.finfo(np.float32).eps * (np.abs(logits).max(axis=0) + 1.0)
        if np.any(np.abs(fitted - logits) > slack[None, :]):
            raise ModelError(
                f"{node_label(matmul)}: the ops after the last MatMul are not a per-class "
                f"affine map of its accumulator"
            )
        return MatrixVector(matmul.name, weights, in_bits, in_levels, out_scale=a, out_bias=b)


def lower(model: ModelWrapper, spec: InputSpec | None = None, source: str = "") -> Network:
    """Lower a binary QONNX model to a validated :class:`Network`."""
    prepared = prepare(model)
    fmt = input_format(prepared, spec or InputSpec())
    net = _Lowering(prepared, fmt).run()
    return Network(net.input, net.layers, source)


def lower_file(path: Path, spec: InputSpec | None = None) -> Network:
    from hwbnn.export import load_qonnx

    return lower(load_qonnx(path), spec, str(path))
