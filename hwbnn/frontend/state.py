"""The state one lowering run shares between its passes (:mod:`hwbnn.frontend.passes`).

The lowering walks the data-path nodes of a prepared QONNX graph in topological order. Every
data tensor it has seen is bound to one of:

- :class:`Edge`: a *materialized* stream, the output of the IR node ``source`` (or of the
  network input): binary activations, input codes, or integers (an add-join's sum or the codes
  of a multi-bit quantizer), with the float value of one integer unit (``scale``) and the
  stream layout of the ONNX tensor (:class:`~hwbnn.frontend.lower_conv.Stream`);
- :class:`Tail`: a value not yet materialized: per-channel ops applied to the accumulators of a
  product (:class:`Product`, possibly through a CI-BCNN interaction), to an integer edge, or
  to the window counts of an average pool of bits (:class:`WindowCount`); the next quantizer
  (or the graph output) turns it into IR nodes;
- :class:`PendingPad`: a ``Pad`` of an edge waiting for the Conv it feeds.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from onnx import NodeProto
from qonnx.core.modelwrapper import ModelWrapper

from hwbnn.errors import ModelError
from hwbnn.frontend.graph import channel_function, node_label, run_piece
from hwbnn.frontend.limits import MAX_ACCUMULATOR_VALUES
from hwbnn.frontend.lower_conv import Stream
from hwbnn.ir.types import INPUT, InputFormat, Layer, Shape3, SlidingWindow, ValueKind


@dataclass(frozen=True)
class Edge:
    """A materialized stream: the ONNX tensor is ``scale`` times the integer value of the
    elements of IR node ``source``'s output (a bit is -1/+1, codes and ints as themselves).
    ``column_negate`` (stream order): the input thresholds negated these elements, so the
    dense layer reading them must negate its matching weight columns."""

    source: str
    stream: Stream
    scale: float
    kind: ValueKind
    low: int
    high: int
    column_negate: np.ndarray | None = None

    def unnegated(self, node: NodeProto) -> Edge:
        """This edge, for ``node`` that is not a dense product (a pool, an add): an error when
        its bits are negated (``column_negate``), which only a MatMul can undo."""
        if self.column_negate is not None:
            raise ModelError(
                f"{node_label(node)}: reads an input binarization that decreases with the input "
                f"(e.g. sign(0.5 - x)); only a MatMul may read it directly: make the input "
                f"scaling increasing (x - 0.5)"
            )
        return self

    def input_precision(self, node: NodeProto) -> tuple[int, int]:
        """(input_bits, input_levels) of a product reading this edge."""
        if self.kind is ValueKind.BITS:
            return 1, 2
        if self.kind is ValueKind.CODES:
            return max(1, int(np.ceil(np.log2(self.high + 1)))), self.high + 1
        raise ModelError(
            f"{node_label(node)}: multiplies an integer sum (range [{self.low}, {self.high}]); "
            f"put a binary activation quantizer between the add and the product"
        )


@dataclass
class Product:
    """A MatMul or Conv with binary weights in IR order (rows may still be negated); its float
    output is ``acc * factor`` per output channel."""

    node: NodeProto
    weights: np.ndarray
    factor: np.ndarray  # float32 s_in * s_c
    pixels: int
    out_image: Shape3 | None
    in_bits: int
    in_levels: int
    source: str  # the IR node it reads

    def __post_init__(self) -> None:
        low, high = self.variable_range
        if high - low + 1 > MAX_ACCUMULATOR_VALUES:
            raise ModelError(
                f"{node_label(self.node)}: its accumulator takes {high - low + 1} values "
                f"({self.weights.shape[1]} inputs of {self.in_levels} levels), more than the "
                f"{MAX_ACCUMULATOR_VALUES} hwbnn evaluates per channel; use fewer input levels"
            )
        largest = float(np.max(np.abs(self.factor), initial=0.0)) * max(abs(low), abs(high))
        if not largest < float(np.finfo(np.float32).max) / 2:  # NaN fails too
            raise ModelError(
                f"{node_label(self.node)}: its scales (up to {np.max(np.abs(self.factor)):g}) "
                f"overflow float32 in the model's own arithmetic; the scales must be smaller"
            )

    @property
    def mh(self) -> int:
        return int(self.weights.shape[0])

    @property
    def variable_range(self) -> tuple[int, int]:
        """Range of the accumulator variable ``v``: the popcount of an XNOR product
        (``acc = 2 v - MW``), else the integer sum itself."""
        mw = int(self.weights.shape[1])
        if self.in_bits == 1:
            return 0, mw
        bound = mw * (self.in_levels - 1)
        return -bound, bound

    def accumulator(self, v: np.ndarray) -> np.ndarray:
        mw = int(self.weights.shape[1])
        return 2 * v - mw if self.in_bits == 1 else v

    def of_variable(
        self, model: ModelWrapper, nodes: list[NodeProto]
    ) -> Callable[[np.ndarray], np.ndarray]:
        """``nodes`` (per-channel ops after the product) as a function of the accumulator
        variable ``v`` (m,) -> (m, MH)."""
        fn = channel_function(model, nodes, self.node.output[0], self.mh)
        factor = self.factor

        def run(v: np.ndarray) -> np.ndarray:
            return fn(self.accumulator(v).astype(np.float32)[:, None] * factor[None, :])

        return run


@dataclass
class BasisProduct:
    """A Deterministic Binary Filter layer (:mod:`hwbnn.ir.dbf`): the ``basis`` product (its
    weights the +-1 codes, one scale for every basis) combined by ``node`` with the integer
    ``alpha`` (MH, M) (rows may still be negated); its float output is ``y_c * factor_c`` of
    the integer ``y_c = sum_m alpha_cm d_m``."""

    node: NodeProto
    basis: Product
    alpha: np.ndarray
    factor: np.ndarray  # float32 s_in * s_basis * s_c

    def __post_init__(self) -> None:
        low, high = self.variable_range
        if high - low + 1 > MAX_ACCUMULATOR_VALUES:
            raise ModelError(
                f"{node_label(self.node)}: the DBF combination takes {high - low + 1} values, "
                f"more than the {MAX_ACCUMULATOR_VALUES} hwbnn evaluates per channel; use "
                f"fewer bases or alpha bits"
            )

    @property
    def mh(self) -> int:
        return int(self.alpha.shape[0])

    @property
    def pixels(self) -> int:
        return self.basis.pixels

    @property
    def out_image(self) -> Shape3 | None:
        image = self.basis.out_image
        return None if image is None else (image[0], image[1], self.mh)

    @property
    def variable_range(self) -> tuple[int, int]:
        """Range of ``y`` over every channel: +-(bound of d) * max_c sum_m |alpha_cm|."""
        _, high = self.basis.variable_range  # d: [-MW, MW] of a popcount 0..MW, else +-high
        bound = int(self.basis.weights.shape[1]) if self.basis.in_bits == 1 else high
        bound *= int(np.abs(self.alpha).sum(axis=1).max())
        return -bound, bound

    def of_variable(
        self, model: ModelWrapper, nodes: list[NodeProto]
    ) -> Callable[[np.ndarray], np.ndarray]:
        """``nodes`` (per-channel ops after the combination) as a function of ``y`` (m,) ->
        (m, MH)."""
        fn = channel_function(model, nodes, self.node.output[0], self.mh)
        factor = self.factor
        return lambda v: fn(v.astype(np.float32)[:, None] * factor[None, :])


@dataclass
class WindowCount:
    """An ``AveragePool`` (``node``: kernel K, stride S, no pads) of the binary image ``edge``,
    padded with -1 as ``window`` says (its geometry, pad code 0): per channel a function of
    the window's count ``v`` in ``[0, K*K]`` of +1 values (:mod:`hwbnn.ir.majority`)."""

    node: NodeProto
    edge: Edge
    window: SlidingWindow

    @property
    def mh(self) -> int:
        return self.window.channels

    @property
    def variable_range(self) -> tuple[int, int]:
        return 0, self.window.kernel**2

    @property
    def out_image(self) -> Shape3:
        oh, ow, _ = self.window.out_shape
        return (oh, ow, self.mh)

    def of_variable(
        self, model: ModelWrapper, nodes: list[NodeProto]
    ) -> Callable[[np.ndarray], np.ndarray]:
        """The AveragePool and ``nodes`` (per-channel ops after it) as a function of the count
        ``v`` (m,) -> (m, C): the model's own AveragePool runs on a K x K window whose first
        ``v`` positions (raster order) are ``+s`` and the others ``-s``, in every channel."""
        k, channels = self.window.kernel, self.mh
        scale = np.float32(self.edge.scale)
        fn = channel_function(model, nodes, self.node.output[0], channels)
        positions = np.arange(k * k)

        def run(v: np.ndarray) -> np.ndarray:
            signs = np.where(positions[None, :] < v[:, None], scale, -scale)
            x = np.repeat(signs.astype(np.float32).reshape(len(v), 1, k, k), channels, axis=1)
            pooled = run_piece(model, [self.node], self.node.input[0], x, [len(v), channels, 1, 1])
            return fn(np.asarray(pooled, dtype=np.float32).reshape(len(v), channels))

        return run


@dataclass
class SideAdd:
    """An ``Add`` of a product's tail (ops ``before``) and the binary edge ``side``."""

    add: NodeProto
    side: Edge
    before: list[NodeProto]


@dataclass
class Tail:
    """Per-channel ops ``nodes`` (affine, layout, max pool) applied to ``root``: a product's
    accumulators, or an integer edge whose ONNX tensor is ``start``; ``side`` once a binary
    shortcut has been added; ``interaction`` the collapsed CI-BCNN interaction node applied to
    the product's accumulators before ``nodes`` (:mod:`.passes.lower_interaction`)."""

    root: Product | BasisProduct | WindowCount | Edge
    nodes: list[NodeProto] = field(default_factory=list)
    side: SideAdd | None = None
    start: str = ""
    interaction: NodeProto | None = None

    def extend(self, node: NodeProto) -> Tail:
        return Tail(self.root, [*self.nodes, node], self.side, self.start, self.interaction)


@dataclass
class PendingPad:
    pad: NodeProto
    edge: Edge


Value = Edge | Tail | PendingPad


class LoweringState:
    """The IR built so far (``layers``, unique names) and the binding of ONNX data tensors."""

    def __init__(self, model: ModelWrapper, fmt: InputFormat, consumers: dict[str, int]) -> None:
        self.model = model
        self.fmt = fmt
        self.consumers = consumers  # data tensor -> number of data-path nodes reading it
        self.layers: list[Layer] = []
        self.names: set[str] = {INPUT}
        self.values: dict[str, Value] = {}
        self.fresh: list[str] = []  # tensors bound to new edges, for the fork pass

    def unique(self, stem: str, fallback: str) -> str:
        """An unused IR node name derived from an ONNX name (``fallback`` when empty)."""
        base = stem or fallback
        name, n = base, 1
        while name in self.names:
            n += 1
            name = f"{base}_{n}"
        return name

    def emit(self, layer: Layer) -> str:
        """Append ``layer``; its ``inputs`` are dropped when they are the default (the
        previous node), so chain networks are built exactly as before graphs existed."""
        if layer.name in self.names:
            raise ModelError(f"{layer.name}: two IR nodes would have this name")
        previous = self.layers[-1].name if self.layers else INPUT
        if layer.inputs == (previous,):
            layer = replace(layer, inputs=())
        self.names.add(layer.name)
        self.layers.append(layer)
        return layer.name

    def bind(self, tensor: str, value: Value) -> None:
        """Bind an ONNX data tensor; only a quantized edge may branch (InsertForks)."""
        readers = self.consumers.get(tensor, 0)
        if readers > 1 and not isinstance(value, Edge):
            raise ModelError(
                f"tensor {tensor} is read by {readers} nodes but is not quantized; hwbnn "
                f"branches only activation-quantizer outputs: quantize it before it branches"
            )
        self.values[tensor] = value
        if isinstance(value, Edge):
            self.fresh.append(tensor)

    def data_inputs(self, node: NodeProto) -> list[str]:
        """The node's inputs on the data path (bound tensors), in input order."""
        return [name for name in node.input if name in self.values]

    def only_input(self, node: NodeProto) -> Value:
        """The value of the node's one data input (an error naming the node otherwise)."""
        names = self.data_inputs(node)
        if len(names) != 1:
            raise ModelError(f"{node_label(node)}: takes {len(names)} non-constant inputs")
        return self.values[names[0]]


class NodePass(ABC):
    """A lowering pass for ONNX data-path nodes of ``op_types``: ``apply`` reads the values bound
    to the node's data inputs, emits IR nodes into ``state`` and binds the node's output."""

    op_types: frozenset[str] = frozenset()

    @abstractmethod
    def apply(self, state: LoweringState, node: NodeProto) -> None: ...
