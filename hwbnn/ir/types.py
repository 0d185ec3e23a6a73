"""The typed hardware IR of a binary network.

A :class:`Network` is an input format and a directed acyclic graph of nodes, listed in
topological order (:attr:`Network.layers`). Every node names the nodes it reads (``inputs``;
``"input"`` is the network input; empty means the previous node, so a chain needs no names).
Every edge (a node's output) is one stream with an :class:`~hwbnn.ir.edges.EdgeType`: elements
per frame, an (H, W, C) image or not, and the value kind: bits (0/1 meaning -1/+1), unsigned
input codes, or signed integers in a range. Each node's output is read by exactly one node,
except a :class:`~hwbnn.ir.joins.Fork` (read by k >= 2) and the last node, the network output
(read by none). Node names are unique. Layer semantics (the
numeric contract of DESIGN.md; bit 1 is +1, bit 0 is -1):

- :class:`InputThreshold`: ``bit_i = code_i >= T_i`` for unsigned input codes, ``T_i`` in
  ``[0, levels]`` (0: always +1, ``levels``: always -1).
- :class:`MatrixVector` with ``input_bits == 1`` (XNOR-popcount):
  ``popcount_c = #{i : x_i == w_ci}``; hidden: ``out_c = popcount_c >= T_c`` with ``T_c`` in
  ``[0, MW + 1]``; output layer: ``acc_c = 2 * popcount_c - MW``.
- :class:`DBFMatrixVector` (a Deterministic Binary Filter layer): ``M`` basis products
  ``d_m`` against fixed +-1 codes, combined by an integer matrix, ``y_c = sum_m alpha_cm d_m``;
  hidden ``out_c = y_c >= T_c``, output layer ``y_c`` (:mod:`hwbnn.ir.dbf`).
- :class:`MatrixVector` with ``input_bits > 1`` (integer input times +-1 weights):
  ``acc_c = sum_i (w_ci ? +k_i : -k_i)``; hidden: ``out_c = acc_c >= T_c``; output layer: acc_c.

The output layer carries the per-class float affine of the exported model:
``logit_c = out_scale_c * acc_c + out_bias_c``; the label is the argmax (lowest index on ties).

Convolutional networks (images, streamed pixel by pixel):

- Stream order: an image of height H, width W and C channels is a stream of H*W pixels in
  raster order (row by row), the C elements of a pixel contiguous (channel innermost), i.e.
  element ``(y, x, c)`` is number ``(y*W + x)*C + c``. A model input of ONNX shape (C, H, W)
  is streamed in this order (:meth:`InputFormat.to_stream`); a 1-D or 2-D input in its own order.
- :class:`SlidingWindow`: for each output pixel ``(oy, ox)`` in raster order, the window vector
  of K*K*C elements ordered ``(ky, kx, c)`` (c innermost): input element
  ``(oy*S - pad_top + ky*D, ox*S - pad_left + kx*D, c)`` with dilation D (1: a plain window),
  or ``pad_code`` where that lies outside the image (binary convolutions pad with -1: code 0).
  ``OH = (H + pad_top + pad_bottom - D*(K-1) - 1) // S + 1``, likewise OW; each padding is at
  most D*(K-1).
- :class:`MatrixVector` with ``pixels = P > 1`` applies the same unit to P consecutive vectors
  of MW elements (one per output pixel of the preceding :class:`SlidingWindow`); its output is
  the (OH, OW, MH) image in stream order. A convolution is a SlidingWindow followed by such a
  MatrixVector whose weight columns are ordered ``(ky, kx, c)``.
- :class:`MaxPool` on bits: ``out(oy, ox, c) = OR over ky, kx < K of
  in(oy*S - pad_top + ky, ox*S - pad_left + kx, c)`` (max of +-1 values; valid behind the
  monotone thresholds, DESIGN.md), positions outside the image are bit 0 (torch's -inf pad is
  -1 on +-1 values), each padding < K, floor mode: ``OH = (H + pad_top + pad_bottom - K) // S
  + 1``.
- :class:`MajorityPool` on bits (the sign of an average pool of +-1 values, padded with -1):
  ``out(oy, ox, c) = #{(ky, kx) : in(oy*S - pad_top + ky, ox*S - pad_left + kx, c) == 1} >= T_c``,
  positions outside the image counting as 0 (:mod:`hwbnn.ir.majority`).
- A dense layer after a convolution reads the image in stream order; lowering permutes its
  weight columns from the ONNX (C, H, W) flatten order.

Graph nodes (forks, add-joins, concatenation, thresholds with a side input) and hidden
matrix-vector units that emit accumulators: :mod:`hwbnn.ir.joins`; the CI-BCNN channel
interaction of such accumulators: :mod:`hwbnn.ir.interaction`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hwbnn.ir.dbf import DBFMatrixVector
from hwbnn.ir.edges import (
    EdgeType,
    InputFormat,
    LayerKind,
    Shape3,
    ValueKind,
    bits_edge,
    bits_for_range,
)
from hwbnn.ir.interaction import Interaction
from hwbnn.ir.joins import AddJoin, Concat, Fork, Threshold
from hwbnn.ir.layers import InputThreshold, MatrixVector, MaxPool, SlidingWindow
from hwbnn.ir.majority import MajorityPool

__all__ = [
    "INPUT",
    "AddJoin",
    "Concat",
    "DBFMatrixVector",
    "EdgeType",
    "Fork",
    "InputFormat",
    "InputThreshold",
    "Interaction",
    "Layer",
    "LayerKind",
    "MajorityPool",
    "MatrixVector",
    "MaxPool",
    "Network",
    "ProductUnit",
    "Shape3",
    "SlidingWindow",
    "Threshold",
    "ValueKind",
    "bits_for_range",
]

#: The name of the network input in ``inputs``.
INPUT = "input"

Layer = (
    InputThreshold
    | MatrixVector
    | DBFMatrixVector
    | SlidingWindow
    | MaxPool
    | Fork
    | AddJoin
    | Concat
    | Threshold
    | Interaction
    | MajorityPool
)
#: The units that multiply (and emit the network's output): XNOR-popcount and DBF.
ProductUnit = MatrixVector | DBFMatrixVector


def input_edge(fmt: InputFormat) -> EdgeType:
    """The network input's stream in stream order: bits for a 2-level input (code 1 is +1),
    else unsigned codes."""
    if fmt.levels == 2:
        return bits_edge(fmt.elements, fmt.image_shape)
    return EdgeType(fmt.elements, fmt.image_shape, ValueKind.CODES, 0, fmt.levels - 1)


def _need(node: Layer, ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(f"{node.name}: {message}")


def _reads_levels(node: Layer, edge: EdgeType, levels: int) -> None:
    """A unit reading bits (levels 2) or input codes of ``levels`` levels."""
    if levels == 2:
        _need(node, edge.kind is ValueKind.BITS, f"expects bits, gets {edge.describe()}")
    else:
        _need(
            node,
            edge.kind is ValueKind.CODES and edge.levels == levels,
            f"expects {levels}-level input codes, gets {edge.describe()}",
        )


def _image_edge(node: SlidingWindow | MaxPool | MajorityPool, edge: EdgeType) -> None:
    _need(
        node,
        edge.image == node.in_shape,
        f"expects a {node.in_shape} (H, W, C) image, previous stage gives "
        f"{edge.image if edge.image is not None else edge.describe()}",
    )


def _matrix_vector_edge(node: ProductUnit, edge: EdgeType) -> EdgeType:
    _reads_levels(node, edge, node.input_levels)
    image = edge.image
    if image is not None and image[0] * image[1] == node.pixels and image[2] == node.mw:
        out_image: Shape3 | None = (image[0], image[1], node.mh)
    else:
        _need(
            node,
            node.pixels == 1,
            f"expects {node.pixels} vectors of {node.mw}, previous stage gives {edge.describe()}",
        )
        _need(
            node,
            edge.elements == node.mw,
            f"expects {node.in_elements} inputs, previous stage gives {edge.elements}",
        )
        out_image = None
    if node.emits_acc:
        low, high = node.acc_range
        return EdgeType(node.out_elements, out_image, ValueKind.INT, low, high)
    return bits_edge(node.out_elements, out_image)


def _join_edges(node: AddJoin | Concat, edges: list[EdgeType]) -> EdgeType:
    first = edges[0]
    if isinstance(node, AddJoin):
        for edge in edges:
            _need(
                node,
                edge.kind is not ValueKind.CODES,
                f"adds bits or integers, not {edge.describe()}",
            )
            _need(
                node,
                (edge.elements, edge.image) == (first.elements, first.image),
                f"inputs of different shapes ({first.describe()} and {edge.describe()})",
            )
        low = sum(e.value_range[0] for e in edges)
        high = sum(e.value_range[1] for e in edges)
        return EdgeType(first.elements, first.image, ValueKind.INT, low, high)
    hw = first.image[:2] if first.image is not None else None
    for edge in edges:
        same_pixels = (edge.image[:2] if edge.image is not None else None) == hw
        _need(
            node,
            same_pixels,
            f"inputs of different pixels ({first.describe()} and {edge.describe()})",
        )
        _need(
            node,
            edge.kind is first.kind and edge.bits == first.bits,
            f"inputs of different element types ({first.describe()} and {edge.describe()})",
        )
    channels = sum(e.channels for e in edges)
    image = (hw[0], hw[1], channels) if hw is not None else None
    low = min(e.low for e in edges)
    high = max(e.high for e in edges)
    return EdgeType(sum(e.elements for e in edges), image, first.kind, low, high)


def _threshold_edge(node: Threshold, edges: list[EdgeType]) -> EdgeType:
    data = edges[0]
    _need(node, len(edges) == node.thresholds.shape[1], "side input and thresholds disagree")
    _need(node, data.kind is ValueKind.INT, f"thresholds integers, not {data.describe()}")
    _need(
        node,
        data.channels == node.channels,
        f"has thresholds for {node.channels} channels, its input has {data.channels}",
    )
    if node.has_side:
        side = edges[1]
        _need(
            node,
            side.kind is ValueKind.BITS
            and (side.elements, side.image) == (data.elements, data.image),
            f"side input must be bits of the data's shape ({data.describe()}), "
            f"gets {side.describe()}",
        )
    t = node.thresholds
    _need(
        node,
        int(t.min()) >= data.low and int(t.max()) <= data.high + 1,
        f"thresholds outside [{data.low}, {data.high + 1}]",
    )
    if node.binary_output:
        return bits_edge(data.elements, data.image)
    low, high = node.out_range
    return EdgeType(data.elements, data.image, ValueKind.INT, low, high)


def _interaction_edge(node: Interaction, edge: EdgeType) -> EdgeType:
    _need(node, edge.kind is ValueKind.INT, f"interacts integers, not {edge.describe()}")
    _need(
        node,
        edge.channels == node.channels,
        f"has a graph of {node.channels} channels, its input has {edge.channels}",
    )
    low, high = node.out_range(edge.low, edge.high)
    return EdgeType(edge.elements, edge.image, ValueKind.INT, low, high)


def node_edge(node: Layer, edges: list[EdgeType], first: bool) -> EdgeType:
    """The output stream of ``node`` given its input streams (raises ValueError naming it)."""
    edge = edges[0]
    if isinstance(node, InputThreshold):
        _need(node, first, "input thresholds must read the network input")
        _need(
            node,
            edge.kind is not ValueKind.INT and edge.levels == node.levels,
            "input thresholds must come first",
        )
        _need(
            node,
            edge.elements == node.in_elements,
            f"expects {node.in_elements} inputs, previous stage gives {edge.elements}",
        )
        return bits_edge(edge.elements, edge.image)
    if isinstance(node, MatrixVector | DBFMatrixVector):
        return _matrix_vector_edge(node, edge)
    if isinstance(node, SlidingWindow):
        _reads_levels(node, edge, node.input_levels)
        _image_edge(node, edge)
        oh, ow, window = node.out_shape
        return EdgeType(node.out_elements, (oh, ow, window), edge.kind, edge.low, edge.high)
    if isinstance(node, MaxPool):
        _need(node, edge.kind is ValueKind.BITS, "max pooling needs binary inputs")
        _image_edge(node, edge)
        return bits_edge(node.out_elements, node.out_shape)
    if isinstance(node, MajorityPool):
        _need(node, edge.kind is ValueKind.BITS, "majority pooling needs binary inputs")
        _image_edge(node, edge)
        return bits_edge(node.out_elements, node.out_shape)
    if isinstance(node, Fork):
        return edge
    if isinstance(node, AddJoin | Concat):
        return _join_edges(node, edges)
    if isinstance(node, Interaction):
        return _interaction_edge(node, edge)
    return _threshold_edge(node, edges)


@dataclass(frozen=True)
class Network:
    """Input format plus the nodes in topological order; validated when built."""

    input: InputFormat
    layers: tuple[Layer, ...]
    source: str = ""
    _inputs: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)
    _edges: dict[str, EdgeType] = field(init=False, repr=False, compare=False)
    _consumers: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        if not self.layers:
            raise ValueError("network has no layers")
        edges: dict[str, EdgeType] = {INPUT: input_edge(self.input)}
        inputs: dict[str, tuple[str, ...]] = {}
        consumers: dict[str, list[str]] = {INPUT: []}
        previous = INPUT
        for node in self.layers:
            if node.name in edges:
                raise ValueError(
                    f"{node.name}: duplicate node name (names must be unique and not {INPUT!r})"
                )
            reads = node.inputs or (previous,)
            for src in reads:
                if src not in edges:
                    raise ValueError(
                        f"{node.name}: reads {src!r}, which is not an earlier node "
                        f"(nodes must be listed in topological order)"
                    )
            edges[node.name] = node_edge(node, [edges[s] for s in reads], reads == (INPUT,))
            inputs[node.name] = reads
            consumers[node.name] = []
            for src in reads:
                consumers[src].append(node.name)
            previous = node.name
        last = self.layers[-1]
        readers: tuple[Layer | None, ...] = (None, *self.layers)
        for reader in readers:
            name = INPUT if reader is None else reader.name
            count = len(consumers[name])
            if reader is last:
                wanted = "none (it is the network output)"
                ok = count == 0
            elif isinstance(reader, Fork):
                wanted, ok = "2 or more", count >= 2
            else:
                wanted, ok = "exactly 1 (add a fork to read it twice)", count == 1
            if not ok:
                raise ValueError(f"{name}: read by {count} nodes {consumers[name]}, needs {wanted}")
        if not (isinstance(last, MatrixVector | DBFMatrixVector) and last.is_output):
            raise ValueError("the last layer must be a matrix-vector unit")
        outputs = [
            n.name
            for n in self.layers
            if isinstance(n, MatrixVector | DBFMatrixVector) and n.is_output
        ]
        if len(outputs) != 1:
            raise ValueError(f"{outputs[0]}: only the last layer emits the network's output")
        object.__setattr__(self, "_edges", edges)
        object.__setattr__(self, "_inputs", inputs)
        object.__setattr__(self, "_consumers", {k: tuple(v) for k, v in consumers.items()})

    def inputs_of(self, name: str) -> tuple[str, ...]:
        """The names of the nodes (or ``"input"``) that node ``name`` reads, in port order."""
        return self._inputs[name]

    def consumers_of(self, name: str) -> tuple[str, ...]:
        """The nodes reading ``name`` (or ``"input"``), in layer order (a fork's outputs)."""
        return self._consumers[name]

    def edge(self, name: str) -> EdgeType:
        """The stream that node ``name`` (or ``"input"``) writes."""
        return self._edges[name]

    def in_edges(self, name: str) -> list[EdgeType]:
        return [self._edges[s] for s in self._inputs[name]]

    @property
    def is_chain(self) -> bool:
        """True when every node reads the one before it (no forks or joins)."""
        previous = INPUT
        for node in self.layers:
            if self._inputs[node.name] != (previous,):
                return False
            previous = node.name
        return True

    @property
    def is_dense(self) -> bool:
        """True when the network has no image layers (no sliding windows or pools)."""
        kinds = InputThreshold | MatrixVector | DBFMatrixVector
        return all(isinstance(layer, kinds) for layer in self.layers)

    @property
    def output_layer(self) -> ProductUnit:
        layer = self.layers[-1]
        assert isinstance(layer, MatrixVector | DBFMatrixVector)
        return layer

    @property
    def classes(self) -> int:
        return self.output_layer.mh
