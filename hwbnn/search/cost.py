"""The FPGA cost of each candidate operation, for the search's hardware term.

Every operation on an edge of an (H, W, C) +-1 image with stride s is priced in LUTs by the
project's own resource model at a target initiation interval (cycles per frame): a tiny IR
chain holding the operation's hardware units is folded by
:func:`hwbnn.ir.folding.choose_folding` with the LUT/block-RAM cost of
:func:`hwbnn.fpga.estimate_cost.estimate_cost` (the folding ``hwbnn compile --target-cycles``
picks), and the LUTs of the operation's units at that folding are its cost:

- ``conv_KxK``: a sliding window (K x K, stride s, padding K // 2 with -1) and a binary
  matrix-vector unit of ``K*K*C`` inputs and C outputs per output pixel;
- ``dil_conv_3x3``: the window of a 5 x 5 kernel (the dilated field spans 5 rows) and the
  matrix-vector unit of a 3 x 3 kernel (9 C inputs);
- ``max_pool_3x3``: the IR max pool (a window and an OR per lane) on the image padded by 1;
- ``avg_pool_3x3`` (the majority of 9 bits): the max pool's window plus, per SIMD lane, a
  9-input popcount (:func:`hwbnn.fpga.estimate.adder_tree_luts`) and its 4-bit compare;
- ``identity`` and ``zero``: 0 (a wire; the stride-2 identity only drops pixels).

Simplifications: the cost is each operation alone at the target (the FIFOs, joins and the
node's sign between operations are the same for every choice and left out), a supernet edge
carries all C channels (partial channels only save search time), and identity's decimation
is free. The search term is ``cost_weight * sum_edges softmax(alpha_e) . c_e / c_max``
(:func:`cost_table`), c_max the dearest operation of the network.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from hwbnn.errors import ConfigError
from hwbnn.fpga.boards import LFE5U_85F, Device
from hwbnn.fpga.estimate_cost import estimate_cost
from hwbnn.fpga.estimate_mvau import adder_tree_luts
from hwbnn.ir.edges import InputFormat
from hwbnn.ir.folding import choose_folding, folding_options, layer_cycles
from hwbnn.ir.layers import InputThreshold, MatrixVector, MaxPool, SlidingWindow
from hwbnn.ir.types import Layer, Network
from hwbnn.nn.cellnet import cell_geometry
from hwbnn.nn.genotype import OPS, CellKind, Genotype, Op

#: the device priced by default (the default board of ``hwbnn run``: ULX3S 85F)
DEFAULT_DEVICE = LFE5U_85F


@dataclass(frozen=True)
class EdgeShape:
    """Where an edge's operation runs: its input image (H, W, C) and stride."""

    height: int
    width: int
    channels: int
    stride: int


def _price(layers: list[Layer], cycles: int, device: Device) -> list[float]:
    """LUTs of each of ``layers`` folded (with a binarizing input and an output layer around
    them) at ``cycles`` per frame."""
    first = layers[0]
    assert isinstance(first, SlidingWindow | MaxPool)
    h, w, c = first.in_shape
    fmt = InputFormat((c, h, w), np.array([0.0, 1.0], dtype=np.float32))
    head = InputThreshold("in", np.ones(h * w * c, dtype=np.int64), 2)
    last = layers[-1]
    assert isinstance(last, MatrixVector | MaxPool)
    out_elements = int(last.out_elements)
    tail = MatrixVector(
        "out",
        np.ones((1, out_elements), dtype=bool),
        1,
        2,
        out_scale=np.ones(1),
        out_bias=np.zeros(1),
    )
    net = Network(fmt, (head, *layers, tail), source="search-cost")
    folding = choose_folding(net, cycles, estimate_cost(net, device))
    price = estimate_cost(net, device)
    names = {layer.name for layer in layers}
    return [
        float(price(layer, fold)[0])
        for layer, fold in zip(net.layers, folding.layers, strict=True)
        if layer.name in names
    ]


def _conv_units(kernel: int, shape: EdgeShape) -> list[Layer]:
    h, w, c, s = shape.height, shape.width, shape.channels, shape.stride
    p = kernel // 2
    window = SlidingWindow("window", (h, w, c), kernel, s, (p, p, p, p), 2, pad_code=0)
    mvau = MatrixVector(
        "conv",
        np.ones((c, window.window), dtype=bool),
        1,
        2,
        thresholds=np.full(c, window.window // 2, dtype=np.int64),
        pixels=window.pixels,
    )
    return [window, mvau]


@functools.lru_cache(maxsize=256)
def op_luts(op: Op, shape: EdgeShape, cycles: int, device: Device = DEFAULT_DEVICE) -> float:
    """The LUTs of ``op`` on an edge of ``shape`` at ``cycles`` per frame (module docstring).

    Raises:
        ConfigError: no folding of the operation reaches ``cycles``.
    """
    try:
        return _op_luts(op, shape, cycles, device)
    except ConfigError as exc:
        raise ConfigError(
            f"search cost: {op.value} on a {shape.height}x{shape.width}x{shape.channels} "
            f"image cannot run at {cycles} cycles/frame ({exc}); raise --cycles"
        ) from None


def _op_luts(op: Op, shape: EdgeShape, cycles: int, device: Device) -> float:
    if op in (Op.IDENTITY, Op.ZERO):
        return 0.0
    if op in (Op.CONV_3X3, Op.CONV_5X5):
        kernel = 3 if op is Op.CONV_3X3 else 5
        return sum(_price(_conv_units(kernel, shape), cycles, device))
    if op is Op.DIL_CONV_3X3:
        window = _price(_conv_units(5, shape), cycles, device)[0]
        mvau = _price(_conv_units(3, shape), cycles, device)[1]
        return window + mvau
    h, w, c, s = shape.height, shape.width, shape.channels, shape.stride
    pool = MaxPool("pool", (h + 2, w + 2, c), 3, s)
    (luts,) = _price([pool], cycles, device)
    if op is Op.MAX_POOL_3X3:
        return luts
    assert op is Op.AVG_POOL_3X3
    net_simd = _pool_simd(pool, cycles)
    return luts + net_simd * (adder_tree_luts(9, 1) + 4)


def _pool_simd(pool: MaxPool, cycles: int) -> int:
    """The least SIMD of the chooser's options for the pool
    (:func:`hwbnn.ir.folding.folding_options`) that meets ``cycles`` (the pool alone was
    folded to ``cycles`` by :func:`_price` before, so one exists)."""
    return min(f.simd for f in folding_options(pool) if layer_cycles(pool, f) <= cycles)


def cell_shapes(
    layout: tuple[CellKind, ...], height: int, width: int, channels: int, steps: int
) -> list[tuple[CellKind, list[EdgeShape]]]:
    """Each cell's edge shapes, in layout and DARTS edge order, from the network's own geometry
    (:func:`hwbnn.nn.cellnet.cell_geometry`): a reduction cell's edges from its inputs (nodes
    0, 1) have stride 2 on its input's map, its other edges run on its halved map."""
    cells = []
    for cell in cell_geometry(layout, height, width, channels):
        reduce = cell.kind is CellKind.REDUCE
        edges = []
        for j in range(2, 2 + steps):
            for i in range(j):
                if reduce and i < 2:
                    edges.append(EdgeShape(cell.in_height, cell.in_width, cell.channels, 2))
                else:
                    edges.append(EdgeShape(cell.height, cell.width, cell.channels, 1))
        cells.append((cell.kind, edges))
    return cells


def cost_table(
    layout: tuple[CellKind, ...],
    image: tuple[int, int],
    channels: int,
    steps: int,
    cycles: int,
    device: Device = DEFAULT_DEVICE,
) -> dict[CellKind, np.ndarray]:
    """Per cell kind, ``(edges, len(OPS))``: the normalised LUT cost of each operation on each
    edge, summed over the cells of that kind (they share one alpha), divided by the dearest
    single operation of the network."""
    raw = {kind: np.zeros((sum(2 + s for s in range(steps)), len(OPS))) for kind in CellKind}
    dearest = 0.0
    for kind, edges in cell_shapes(layout, *image, channels, steps):
        for e, shape in enumerate(edges):
            for o, op in enumerate(OPS):
                luts = op_luts(op, shape, cycles, device)
                raw[kind][e, o] += luts
                dearest = max(dearest, luts)
    return {kind: table / max(dearest, 1.0) for kind, table in raw.items()}


def genotype_luts(
    genotype: Genotype, image: tuple[int, int], cycles: int, device: Device = DEFAULT_DEVICE
) -> int:
    """The estimated LUTs of the operations of every cell of ``genotype`` (not the stem,
    classifier, preprocessing or joins) at ``cycles`` per frame."""
    steps = genotype.normal.steps
    total = 0.0
    shapes = cell_shapes(genotype.layout, *image, genotype.channels, steps)
    for kind, edges in shapes:
        cell = genotype.cell(kind)
        for j, node in enumerate(cell.nodes, start=2):
            first = sum(range(2, j))  # edges of the nodes before j
            for edge in node:
                total += op_luts(edge.op, edges[first + edge.source], cycles, device)
    return round(total)
