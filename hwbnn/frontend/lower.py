"""Lower a binary QONNX model to the hardware IR (:mod:`hwbnn.ir.types`).

The cleaned graph must be one chain::

    input -> [affine | layout]* -> input quantizer
          -> ( [layout | MaxPool]* [Pad] (MatMul | Conv) -> [affine | layout | MaxPool]*
               -> BipolarQuant )*
          -> [layout]* MatMul -> [affine | layout]* -> output

- input quantizer: a binary quantizer (binarized input, becomes :class:`InputThreshold`) or an
  unsigned multi-bit Quant (integer input; it must map the input codes 1:1 to integers).
- every MatMul/Conv weight must be binary: +-s_c per output channel (BipolarQuant, Quant with
  bitwidth 1, or a plain +-s initializer), possibly transposed.
- affine ops (Mul/Add/Sub/Div with constants, BatchNormalization) between a product and the
  next binary quantizer become exact integer thresholds (:mod:`hwbnn.frontend.thresholds`),
  evaluated by running the model's own ops at every attainable accumulator value; a channel
  with negative slope gets its weight row negated. A decreasing input threshold negates the
  matching weight column of the first (dense) layer instead.
- convolutions, their -1 padding, max pooling and flattening of images:
  :mod:`hwbnn.frontend.lower_conv`.
  Images travel in stream order (pixels in raster order, channel innermost): input thresholds
  and the columns of a dense layer after an image are permuted from ONNX's (C, H, W) order.
- the ops after the last MatMul must be a per-class affine map of its accumulator.

Float scales: a product is evaluated as ``acc * s_in * s_c`` in float32; this is exact (and the
IR equals L1 bit for bit) when scales are powers of two, as in hwbnn's own models.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from onnx import NodeProto, helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.fold_constants import FoldConstants
from qonnx.transformation.infer_shapes import InferShapes

from hwbnn.data import code_values
from hwbnn.errors import ModelError
from hwbnn.export.qonnx_export import INPUT_LEVELS_KEY, clean_qonnx
from hwbnn.frontend.graph import (
    AFFINE_OPS,
    LAYOUT_OPS,
    SHAPE_OPS,
    SUPPORTED_OPS,
    binary_matrix,
    channel_function,
    constant_value,
    data_chain,
    is_binary_quant,
    node_label,
    run_piece,
)
from hwbnn.frontend.lower_conv import (
    Stream,
    conv_weights,
    conv_window,
    move_pool_behind_threshold,
    pool_layer,
    stream_after_layout,
)
from hwbnn.frontend.passes import ConvertGemmToMatMul, FoldShapeOps
from hwbnn.frontend.thresholds import search_thresholds
from hwbnn.ir.types import InputFormat, InputThreshold, Layer, MatrixVector, Network, Shape3

DEFAULT_INPUT_LEVELS = 256
PRODUCTS = ("MatMul", "Conv")
QUANTIZERS = ("BipolarQuant", "Quant")


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
                f"{node_label(node)}: unsupported op; hwbnn lowers MatMul/Gemm, Conv, Pad, "
                f"MaxPool, BatchNormalization, Mul/Add/Sub/Div, Flatten/Reshape, BipolarQuant "
                f"and Quant"
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


@dataclass
class _Product:
    """A MatMul or Conv with its binary weights in IR order (rows may still be negated)."""

    node: NodeProto
    weights: np.ndarray
    factor: np.ndarray  # float32 s_in * s_c: the product's float output is acc * factor
    pixels: int
    out_image: Shape3 | None


class _Lowering:
    """One lowering run over the chain of a prepared model."""

    def __init__(self, model: ModelWrapper, fmt: InputFormat) -> None:
        self.model = model
        self.fmt = fmt
        self.chain = data_chain(model)
        self.pos = 0
        self.layers: list[Layer] = []
        self.stream = Stream(None)
        self.s_in = 1.0
        self.in_bits, self.in_levels = 1, 2
        self.column_negate: np.ndarray | None = None  # of the first dense layer, stream order

    # -- walking -------------------------------------------------------------------------
    def _next(self) -> NodeProto | None:
        return self.chain[self.pos] if self.pos < len(self.chain) else None

    def _take(self, allowed: frozenset[str] | set[str], stop: tuple[str, ...]) -> list[NodeProto]:
        """Consume nodes of ``allowed`` types until one of ``stop`` types (or the end)."""
        taken: list[NodeProto] = []
        while (node := self._next()) is not None and node.op_type not in stop:
            if node.op_type not in allowed:
                raise ModelError(f"{node_label(node)}: unsupported op on the data path")
            taken.append(node)
            self.pos += 1
        return taken

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

    def _evaluate_input(self, nodes: list[NodeProto]) -> np.ndarray:
        """Outputs of the input stage for every code, per ONNX-flattened element: (levels, n)."""
        source = self.model.graph.input[0].name
        rows = []
        for value in self.fmt.values:
            x = np.full((1, *self.fmt.shape), value, dtype=np.float32)
            rows.append(run_piece(self.model, nodes, source, x).reshape(-1))
        return np.stack(rows)

    def _tail(
        self, nodes: list[NodeProto], source: str, mh: int
    ) -> Callable[[np.ndarray], np.ndarray]:
        return channel_function(self.model, nodes, source, mh)

    # -- the input stage ---------------------------------------------------------------------
    def _input_stage(self) -> None:
        pre = self._take(AFFINE_OPS | LAYOUT_OPS, (*QUANTIZERS, *PRODUCTS, "Pad", "MaxPool"))
        first = self._next()
        if first is None:
            raise ModelError("graph ends before its first MatMul or Conv")
        if first.op_type not in QUANTIZERS:
            raise ModelError(
                f"{node_label(first)}: takes the unquantized model input; put a binary or "
                f"unsigned Quant on the model input"
            )
        self.pos += 1
        stage = self._evaluate_input([*pre, first])
        self.s_in = self._quant_scale(first)
        fmt, levels = self.fmt, self.fmt.levels
        index = fmt.stream_index()  # stream element i is ONNX element index[i]
        shape = self.model.get_tensor_shape(first.output[0])
        if shape is not None and len(shape) == 4:
            if fmt.image_shape is None or tuple(shape[1:]) != fmt.shape:
                raise ModelError(f"{node_label(first)}: image {shape} is not the model input")
            self.stream = Stream(fmt.image_shape)
        else:
            identity = np.array_equal(index, np.arange(len(index)))
            self.stream = Stream(None, None if identity else index)
        if is_binary_quant(self.model, first):
            table = stage > 0
            thresholds, negate = search_thresholds(
                lambda v: table[v], 0, levels - 1, table.shape[1], "input_threshold"
            )
            self.layers.append(InputThreshold("input_threshold", thresholds[index], levels))
            self.column_negate = negate[index] if negate.any() else None
            return
        expected = np.arange(levels, dtype=np.float64)[:, None] * self.s_in
        if not np.array_equal(stage.astype(np.float64), np.broadcast_to(expected, stage.shape)):
            raise ModelError(
                f"{node_label(first)}: the input quantizer does not map the {levels} input "
                f"codes 1:1 to integers; give the model's input format with --input-levels "
                f"and --input-range"
            )
        self.in_bits, self.in_levels = max(1, int(np.ceil(np.log2(levels)))), levels
        if self.in_bits == 1:
            raise ModelError(f"{node_label(first)}: a 2-level integer input is not supported")

    # -- between an activation and the next product ----------------------------------------------
    def _product(self) -> _Product:
        """Consume [layout | MaxPool]* [Pad] (MatMul | Conv); emit pools and the window."""
        pad: NodeProto | None = None
        while True:
            node = self._next()
            if node is None:
                raise ModelError("expected a MatMul or Conv after a quantizer, found the end")
            op = node.op_type
            if op in PRODUCTS:
                break
            if pad is not None:
                raise ModelError(f"{node_label(pad)}: a Pad must feed a Conv directly")
            if op in LAYOUT_OPS:
                self.stream = stream_after_layout(self.model, node, self.stream)
            elif op == "MaxPool":
                if self.in_levels != 2:
                    raise ModelError(f"{node_label(node)}: max pooling of integer inputs")
                self._pool(node)
            elif op == "Pad":
                pad = node
            elif op in AFFINE_OPS:
                raise ModelError(
                    f"{node_label(node)}: elementwise op between an activation quantizer "
                    f"and a MatMul is not supported; move it after the MatMul"
                )
            else:
                raise ModelError(f"{node_label(node)}: expected a MatMul or Conv after a quantizer")
            self.pos += 1
        self.pos += 1
        if node.op_type == "Conv":
            return self._conv(pad, node)
        return self._matmul(node)

    def _pool(self, node: NodeProto) -> None:
        pool = pool_layer(self.model, node, self.stream)
        self.layers.append(pool)
        self.stream = Stream(pool.out_shape)

    def _matmul(self, node: NodeProto) -> _Product:
        w = np.asarray(constant_value(self.model, node.input[1]), dtype=np.float32)
        if w.ndim != 2:
            raise ModelError(f"{node_label(node)}: weight must be a 2-D matrix, got {w.shape}")
        if self.stream.image is not None:
            raise ModelError(f"{node_label(node)}: multiplies an image; flatten it first")
        weights, w_scale = binary_matrix(node, w)
        if self.stream.perm is not None:  # ONNX (C, H, W) columns -> stream (y, x, c) order
            weights = weights[:, self.stream.perm]
        if self.column_negate is not None:
            weights = weights ^ self.column_negate[None, :]
            self.column_negate = None
        factor = (np.float32(self.s_in) * w_scale).astype(np.float32)
        return _Product(node, weights, factor, 1, None)

    def _conv(self, pad: NodeProto | None, node: NodeProto) -> _Product:
        if self.column_negate is not None:
            raise ModelError(
                f"{node_label(node)}: a decreasing input binarization before a convolution is "
                f"not supported (its bits cannot be negated per weight column)"
            )
        weights, w_scale, kernel, stride = conv_weights(self.model, node)
        window = conv_window(
            self.model, pad, node, self.stream, self.s_in, self.in_levels, kernel, stride
        )
        if window.window != weights.shape[1]:
            raise ModelError(
                f"{node_label(node)}: weights take {weights.shape[1]} inputs per window, the "
                f"image gives {window.window}"
            )
        self.layers.append(window)
        factor = (np.float32(self.s_in) * w_scale).astype(np.float32)
        out_image = (window.out_shape[0], window.out_shape[1], int(weights.shape[0]))
        return _Product(node, weights, factor, window.pixels, out_image)

    # -- the lowering ----------------------------------------------------------------------
    def run(self) -> Network:
        self._input_stage()
        while True:
            product = self._product()
            node = product.node
            tail = self._take(AFFINE_OPS | LAYOUT_OPS | {"MaxPool"}, (*QUANTIZERS, *PRODUCTS))
            if node.op_type == "Conv" and len(node.input) > 2 and node.input[2]:
                bias = helper.make_node(
                    "Add", [node.output[0], node.input[2]], [f"{node.output[0]}_bias"]
                )
                tail = [bias, *tail]
            end = self._next()
            if end is None:
                self.layers.append(self._output_layer(product, tail))
                return Network(self.fmt, tuple(self.layers))
            if not is_binary_quant(self.model, end):
                raise ModelError(
                    f"{node_label(end)}: only 1-bit activations are supported between layers"
                )
            self.pos += 1
            self.layers.append(self._hidden_layer(product, tail, end))
            self.stream = Stream(product.out_image)
            for later in tail:
                if later.op_type == "MaxPool":
                    self._pool(later)
                elif later.op_type in LAYOUT_OPS:
                    self.stream = stream_after_layout(self.model, later, self.stream)
            self.s_in = self._quant_scale(end)
            self.in_bits, self.in_levels = 1, 2

    def _of_accumulator(
        self, product: _Product, nodes: list[NodeProto]
    ) -> Callable[[np.ndarray], np.ndarray]:
        """``nodes`` (a piece of the product's tail) as a function of the accumulator variable
        ``v`` (m,): the popcount of an XNOR layer or the integer sum, -> (m, MH). The product's
        float output is ``acc * factor`` with ``acc = 2*popcount - MW`` or the sum."""
        mh, mw = product.weights.shape
        fn = self._tail(nodes, product.node.output[0], mh)
        popcount, factor = self.in_bits == 1, product.factor

        def run(v: np.ndarray) -> np.ndarray:
            acc = 2 * v - mw if popcount else v
            return fn(acc.astype(np.float32)[:, None] * factor[None, :])

        return run

    def _hidden_layer(
        self, product: _Product, tail: list[NodeProto], end: NodeProto
    ) -> MatrixVector:
        """Thresholds of a product followed by ``tail`` and the binary quantizer ``end``."""
        mh, mw = product.weights.shape
        high = mw if self.in_bits == 1 else mw * (self.in_levels - 1)
        low = 0 if self.in_bits == 1 else -high
        full = self._of_accumulator(product, [*tail, end])

        def channel(v: np.ndarray) -> np.ndarray:
            return full(v) > 0

        thresholds, negate = search_thresholds(channel, low, high, mh, product.node.name)
        values = np.arange(low, high + 1, dtype=np.int64)
        for i, pool in enumerate(tail):
            if pool.op_type == "MaxPool":
                before = self._of_accumulator(product, tail[:i])
                move_pool_behind_threshold(pool, before, channel, values)
        return MatrixVector(
            product.node.name,
            product.weights ^ negate[:, None],
            self.in_bits,
            self.in_levels,
            thresholds=thresholds,
            pixels=product.pixels,
        )

    def _output_layer(self, product: _Product, tail: list[NodeProto]) -> MatrixVector:
        node, weights, factor = product.node, product.weights, product.factor
        pools = [n for n in tail if n.op_type == "MaxPool"]
        if pools:
            raise ModelError(f"{node_label(pools[0])}: max pooling of the output layer")
        if product.pixels != 1:
            raise ModelError(
                f"{node_label(node)}: the last layer gives {product.pixels} pixels per frame; "
                f"end the network with a dense classifier"
            )
        mh, mw = weights.shape
        bound = mw * (self.in_levels - 1)
        acc = np.arange(-bound, bound + 1, 2 if self.in_bits == 1 else 1, dtype=np.int64)
        x = acc.astype(np.float32)[:, None] * factor[None, :]
        logits = self._tail(tail, node.output[0], mh)(x)
        logits = logits.astype(np.float64)
        a = (logits[-1] - logits[0]) / (acc[-1] - acc[0])
        b = logits[0] - a * acc[0]
        fitted = a[None, :] * acc[:, None].astype(np.float64) + b[None, :]
        # float32 evaluation of an affine map deviates from it by rounding only
        slack = 4 * np.finfo(np.float32).eps * (np.abs(logits).max(axis=0) + 1.0)
        if np.any(np.abs(fitted - logits) > slack[None, :]):
            raise ModelError(
                f"{node_label(node)}: the ops after the last MatMul are not a per-class "
                f"affine map of its accumulator"
            )
        return MatrixVector(
            node.name, weights, self.in_bits, self.in_levels, out_scale=a, out_bias=b
        )


def lower(model: ModelWrapper, spec: InputSpec | None = None, source: str = "") -> Network:
    """Lower a binary QONNX model to a validated :class:`Network`."""
    prepared = prepare(model)
    fmt = input_format(prepared, spec or InputSpec())
    net = _Lowering(prepared, fmt).run()
    return Network(net.input, net.layers, source)


def lower_file(path: Path, spec: InputSpec | None = None) -> Network:
    from hwbnn.export import load_qonnx

    return lower(load_qonnx(path), spec, str(path))
