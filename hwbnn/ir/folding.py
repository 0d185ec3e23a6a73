"""Folding: how many processing elements (PE) and SIMD lanes each layer gets.

For a matrix-vector unit with MH outputs and MW inputs, PE must divide MH and SIMD must divide
MW; one frame takes ``(MH / PE) * (MW / SIMD) * pixels`` cycles. A DBF unit
(:mod:`hwbnn.ir.dbf`) has PE and SIMD and a third number, ``bases`` (B, dividing its M bases,
all M by default): its basis stage adds SIMD inputs to all M basis products per cycle, its
combination stage B products with alpha to each of PE channels per cycle, and the two
overlap: ``max((MH / PE) * (M / B), MW / SIMD) * pixels`` cycles. An input-thresholding unit
handles SIMD elements per cycle (``N / SIMD`` cycles per frame; its PE is 1). A sliding window
or a max or majority pool moves SIMD elements of one pixel per beat (PE 1, SIMD divides the
channels C), or, with SIMD = m*C where m divides K*K, its window stream carries m whole window
positions (all C channels each) per beat, in window order, while it still reads at most one
input pixel per beat (``min(SIMD, C)`` elements; a pool also writes ``min(SIMD, C)``). Either
takes ``max(in / min(SIMD, C), out / SIMD)`` cycles per frame, where ``in`` counts the input
elements and ``out`` every K*K*C window element it emits (a max pool is a sliding window
followed by an OR over each window, a majority pool by a thresholded count over each window).
Forks, add-joins, thresholds and CI-BCNN interactions move SIMD elements per beat (SIMD divides
the channels of their input), a concatenation SIMD elements of its output (SIMD divides every
input's channels); each takes ``elements / SIMD`` cycles. A node's output stream carries PE
(MVAU) or SIMD (the others) elements per beat and each reader reads its own SIMD per beat; a
width converter joins them, so one of the two must divide the other. The network's initiation
interval is the slowest node's cycle count.

The chooser picks, for a target cycles/frame, the per-node (PE, SIMD) of least total cost such
that every node meets the target: exactly for a chain (dynamic programming over the previous
node's output width), node by node in topological order for a graph. A cost is a tuple of
numbers per node (:data:`LayerCost`), summed element by element over the nodes and compared
lexicographically; the default, :func:`lanes_cost`, counts lanes (PE * SIMD, the
XNOR-popcount lane count), then PEs, then prefers wider SIMD (one shared input word), so this
layer needs nothing above it. The pipeline passes the resource estimate of its device instead
(:func:`hwbnn.fpga.estimate_cost.estimate_cost`: LUTs, then block RAMs).
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from hwbnn.errors import ConfigError
from hwbnn.ir.types import (
    INPUT,
    Concat,
    DBFMatrixVector,
    InputThreshold,
    Layer,
    LayerKind,
    MajorityPool,
    MatrixVector,
    MaxPool,
    Network,
    SlidingWindow,
)


class WeightStorage(enum.Enum):
    """Where a matrix-vector unit's weight words live (FINN's ``mem_mode``/``ram_style``).

    ROM: a ROM whose block RAM or logic synthesis picks by its own cost; BLOCK_RAM / LUT_ROM:
    that ROM forced to block RAM / LUTs; CONSTANT: at most two words (PE*SIMD covers the layer,
    or half of it), wired as constants into the XNOR-popcount lanes, no memory.
    """

    ROM = "rom"
    BLOCK_RAM = "block_ram"
    LUT_ROM = "lut_rom"
    CONSTANT = "constant"


@dataclass(frozen=True)
class LayerFolding:
    pe: int
    simd: int
    #: where an MVAU's weights live; None: the plan decides (hwbnn.plan.build.weight_storage)
    weights: WeightStorage | None = None
    #: a DBF unit's basis products combined per channel per cycle (divides M); None: all M
    bases: int | None = None

    def bases_per_cycle(self, layer: Layer) -> int:
        """The basis fold of a DBF unit (all its M bases unless set); 1 for other nodes."""
        if isinstance(layer, DBFMatrixVector):
            return layer.bases if self.bases is None else self.bases
        return 1


@dataclass(frozen=True)
class Folding:
    """Per-layer folding, in the order of ``Network.layers``."""

    layers: tuple[LayerFolding, ...]

    def to_json(self, net: Network) -> str:
        rows = [
            {"layer": layer.name, "pe": f.pe, "simd": f.simd}
            | ({"weights": f.weights.value} if f.weights is not None else {})
            | ({"bases": f.bases} if f.bases is not None else {})
            for layer, f in zip(net.layers, self.layers, strict=True)
        ]
        return json.dumps({"layers": rows}, indent=2) + "\n"


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def layer_cycles(layer: Layer, fold: LayerFolding, net: Network | None = None) -> int:
    """Cycles per frame of one node at a folding (assumes it divides). Forks, joins and
    thresholds need their network (their sizes are their streams')."""
    if isinstance(layer, InputThreshold):
        return layer.in_elements // fold.simd
    if isinstance(layer, SlidingWindow | MaxPool | MajorityPool):
        emitted = layer.pixels * layer.kernel * layer.kernel * layer.channels
        reads = layer.in_elements // min(fold.simd, layer.channels)
        return max(reads, emitted // fold.simd)
    if isinstance(layer, MatrixVector):
        return (layer.mh // fold.pe) * (layer.mw // fold.simd) * layer.pixels
    if isinstance(layer, DBFMatrixVector):  # basis and combination stages overlap
        combine = (layer.mh // fold.pe) * (layer.bases // fold.bases_per_cycle(layer))
        return max(combine, layer.mw // fold.simd) * layer.pixels
    if net is None:
        raise TypeError(f"{layer.name}: the cycles of a {layer.kind.value} need its network")
    return net.edge(layer.name).elements // fold.simd


def vector_width(layer: Layer, net: Network | None = None) -> int:
    """Elements SIMD must divide: the channels of an image stage (or, for a sliding window,
    be m times with m dividing K*K: :func:`window_positions`), MW of an MVAU, the channels
    of a fork's, join's or threshold's input (every input's for a concat), else all."""
    if isinstance(layer, SlidingWindow | MaxPool | MajorityPool):
        return layer.channels
    if isinstance(layer, MatrixVector | DBFMatrixVector):
        return layer.mw
    if isinstance(layer, InputThreshold):
        return layer.in_elements
    if net is None:
        raise TypeError(f"{layer.name}: the width of a {layer.kind.value} needs its network")
    edges = net.in_edges(layer.name)
    if isinstance(layer, Concat):
        return math.gcd(*(edge.channels for edge in edges))
    return edges[0].channels


def out_width(layer: Layer, fold: LayerFolding) -> int:
    """Elements per beat of a layer's output stream: PE of an MVAU, ``min(SIMD, C)`` of a max
    pool (one output pixel per beat at most), SIMD otherwise."""
    if isinstance(layer, MatrixVector | DBFMatrixVector):
        return fold.pe
    if isinstance(layer, MaxPool | MajorityPool):
        return min(fold.simd, layer.channels)
    return fold.simd


def in_width(layer: Layer, fold: LayerFolding) -> int:
    """Elements per beat of a layer's input stream: ``min(SIMD, C)`` for a sliding window or
    max pool (one input pixel per beat at most), SIMD otherwise."""
    if isinstance(layer, SlidingWindow | MaxPool | MajorityPool):
        return min(fold.simd, layer.channels)
    return fold.simd


def window_positions(layer: SlidingWindow | MaxPool | MajorityPool, simd: int) -> int:
    """Window positions m per beat of a sliding window's (a max pool's window) stream at
    ``simd``: ``simd // C`` for SIMD = m*C with m dividing K*K, else 1 (SIMD divides C).
    Raises ConfigError naming the layer for any other SIMD."""
    c, positions = layer.channels, layer.kernel * layer.kernel
    if simd >= 1 and c % simd == 0:
        return 1
    if simd % c == 0 and positions % (simd // c) == 0:
        return simd // c
    raise ConfigError(
        f"layer {layer.name}: SIMD={simd} does not divide C={c} and is not m*C with m "
        f"dividing K*K={positions} (m whole window positions per beat)"
    )


_WHAT = {
    LayerKind.INPUT_THRESHOLD: "input thresholding",
    LayerKind.SLIDING_WINDOW: "a sliding window",
    LayerKind.MAX_POOL: "max pooling",
    LayerKind.MAJORITY_POOL: "majority pooling",
    LayerKind.FORK: "a fork",
    LayerKind.ADD_JOIN: "an add-join",
    LayerKind.CONCAT: "a concatenation",
    LayerKind.THRESHOLD: "a threshold",
    LayerKind.INTERACTION: "a CI-BCNN interaction",
}


def _what(layer: Layer) -> str:
    return _WHAT[layer.kind]


def check_folding(net: Network, folding: Folding) -> None:
    """Raise ConfigError naming the node if a folding does not fit the network."""
    if len(folding.layers) != len(net.layers):
        raise ConfigError(
            f"folding has {len(folding.layers)} entries, network has {len(net.layers)} layers"
        )
    widths: dict[str, int] = {}
    for layer, fold in zip(net.layers, folding.layers, strict=True):
        if fold.pe < 1 or fold.simd < 1:
            raise ConfigError(f"layer {layer.name}: PE and SIMD must be >= 1")
        if not isinstance(layer, MatrixVector | DBFMatrixVector):
            if fold.pe != 1:
                raise ConfigError(f"layer {layer.name}: {_what(layer)} has PE=1")
        elif layer.mh % fold.pe:
            raise ConfigError(f"layer {layer.name}: PE={fold.pe} does not divide MH={layer.mh}")
        if isinstance(layer, DBFMatrixVector):
            if fold.weights is not None:
                raise ConfigError(
                    f"layer {layer.name}: a DBF unit stores no weights (its codes and alpha "
                    f"are constants); remove its weights setting"
                )
            per = fold.bases_per_cycle(layer)
            if per < 1 or layer.bases % per:
                raise ConfigError(
                    f"layer {layer.name}: bases={per} does not divide its M={layer.bases} bases"
                )
        elif fold.bases is not None:
            raise ConfigError(f"layer {layer.name}: only a DBF unit has a bases setting")
        width = vector_width(layer, net)
        if isinstance(layer, SlidingWindow | MaxPool | MajorityPool):
            window_positions(layer, fold.simd)
        elif width % fold.simd:
            what = (
                "MW" if isinstance(layer, MatrixVector | DBFMatrixVector | InputThreshold) else "C"
            )
            raise ConfigError(
                f"layer {layer.name}: SIMD={fold.simd} does not divide {what}={width}"
            )
        for src in net.inputs_of(layer.name):
            produced = widths.get(src)
            reads = in_width(layer, fold)
            if produced is not None and produced % reads and reads % produced:
                raise ConfigError(
                    f"layer {layer.name}: SIMD={reads} and the output width {produced} of "
                    f"{src} do not divide one another (no width converter between them)"
                )
        widths[layer.name] = out_width(layer, fold)


def max_cycles(net: Network) -> int:
    """Cycles per frame of the slowest layer when every layer is fully folded (PE=SIMD=1)."""
    return max(layer_cycles(layer, LayerFolding(1, 1), net) for layer in net.layers)


def node_cycles(net: Network, folding: Folding) -> list[int]:
    """Cycles per frame of every node, in layer order."""
    return [layer_cycles(n, f, net) for n, f in zip(net.layers, folding.layers, strict=True)]


def initiation_interval(net: Network, folding: Folding) -> int:
    return max(node_cycles(net, folding))


def folding_options(layer: Layer, net: Network | None = None) -> list[LayerFolding]:
    """Every (PE, SIMD) the chooser considers for one node: an image stage's SIMD divides C
    or is m*C with m > 1 dividing K*K (ascending, in that order); PE and SIMD divide MH and MW
    of an MVAU (and B the bases of a DBF unit); SIMD divides :func:`vector_width` for the
    other nodes, which need ``net``."""
    if isinstance(layer, SlidingWindow | MaxPool | MajorityPool):
        c, positions = layer.channels, layer.kernel * layer.kernel
        wide = [m * c for m in _divisors(positions) if m > 1]
        return [LayerFolding(1, s) for s in [*_divisors(c), *wide]]
    if isinstance(layer, DBFMatrixVector):
        return [
            LayerFolding(p, s, bases=b)
            for p in _divisors(layer.mh)
            for s in _divisors(layer.mw)
            for b in _divisors(layer.bases)
        ]
    if not isinstance(layer, MatrixVector):
        return [LayerFolding(1, s) for s in _divisors(vector_width(layer, net))]
    return [LayerFolding(p, s) for p in _divisors(layer.mh) for s in _divisors(layer.mw)]


def _compatible(previous: int | None, simd: int) -> bool:
    return previous is None or previous % simd == 0 or simd % previous == 0


#: the cost of one node at one folding: a tuple of numbers, summed element by element over the
#: nodes and compared lexicographically (first element first)
LayerCost = Callable[[Layer, LayerFolding], Sequence[float]]


def lanes_cost(layer: Layer, fold: LayerFolding) -> tuple[int, int, int]:
    """The default cost: lanes (PE * SIMD; a DBF unit's M * SIMD basis lanes plus its
    PE * bases-per-cycle products), then PEs, then wider SIMD (negated)."""
    if isinstance(layer, DBFMatrixVector):
        lanes = layer.bases * fold.simd + fold.pe * fold.bases_per_cycle(layer)
        return (lanes, fold.pe, -fold.simd)
    return (fold.pe * fold.simd, fold.pe, -fold.simd)


def _add(total: tuple[float, ...], cost: Sequence[float]) -> tuple[float, ...]:
    if not total:
        return tuple(cost)
    if len(total) != len(cost):
        raise ValueError(f"a folding cost must keep its length: {len(total)} then {len(cost)}")
    return tuple(a + b for a, b in zip(total, cost, strict=True))


def _meeting(layer: Layer, net: Network, target_cycles: int) -> list[LayerFolding]:
    return [f for f in folding_options(layer, net) if layer_cycles(layer, f, net) <= target_cycles]


def choose_folding(net: Network, target_cycles: int, cost: LayerCost = lanes_cost) -> Folding:
    """The folding of least total ``cost`` (default :func:`lanes_cost`: the fewest lanes, then
    fewer PEs, then wider SIMD) that has every layer at or below ``target_cycles`` cycles per
    frame and width-compatible neighbours.

    A ``cost`` with a ``converter(layer, previous, simd)`` method also prices the width
    converter in front of a chain layer whose input width (``simd`` elements) differs from the
    previous layer's output width (``previous`` elements), in the same units.
    Feasible whenever every layer can meet the target on its own, except that an image stage's
    SIMD must also divide its channels (raises ConfigError when nothing fits). Solved
    exactly for a chain by dynamic programming over the previous layer's output width (the
    optimum over every combination of per-layer foldings; ``cost`` is called once per layer
    and folding); a graph node by node (:func:`_choose_graph_folding`).
    """
    if target_cycles < 1:
        raise ConfigError(f"target cycles per frame must be >= 1, got {target_cycles}")
    if not net.is_chain:
        return _choose_graph_folding(net, target_cycles, cost)
    # previous output width -> (total cost, choices so far)
    Total = tuple[tuple[float, ...], tuple[LayerFolding, ...]]
    states: dict[int | None, Total] = {None: ((), ())}
    converter = getattr(cost, "converter", None)
    for layer in net.layers:
        priced = [(f, tuple(cost(layer, f))) for f in _meeting(layer, net, target_cycles)]
        following: dict[int | None, Total] = {}
        for previous, (total, chosen) in states.items():
            for fold, price in priced:
                width_in = in_width(layer, fold)
                if not _compatible(previous, width_in):
                    continue
                key = _add(total, price)
                if converter is not None and previous is not None and previous != width_in:
                    key = _add(key, converter(layer, previous, width_in))
                width = out_width(layer, fold)
                if width not in following or key < following[width][0]:
                    following[width] = (key, (*chosen, fold))
        states = following
        if not states:
            best = min(layer_cycles(layer, f, net) for f in folding_options(layer, net))
            raise ConfigError(
                f"layer {layer.name}: no folding reaches {target_cycles} cycles/frame with "
                f"stream widths that divide one another (best alone: {best}); raise the target"
            )
    folding = Folding(min(states.values(), key=lambda item: item[0])[1])
    check_folding(net, folding)
    return folding


def _choose_graph_folding(
    net: Network, target_cycles: int, cost: LayerCost = lanes_cost
) -> Folding:
    """Node by node in topological order: the cheapest folding (least ``cost``) meeting the
    target whose input width fits every input's stream width."""
    widths: dict[str, int] = {}
    chosen: list[LayerFolding] = []
    for layer in net.layers:
        meeting = _meeting(layer, net, target_cycles)
        produced = [widths[s] for s in net.inputs_of(layer.name) if s != INPUT]
        fitting = [f for f in meeting if all(_compatible(w, in_width(layer, f)) for w in produced)]
        if not fitting:
            best = min(layer_cycles(layer, f, net) for f in folding_options(layer, net))
            raise ConfigError(
                f"layer {layer.name}: no folding reaches {target_cycles} cycles/frame with "
                f"stream widths that divide its inputs' {produced} (best alone: {best}); raise "
                f"the target or give a folding file"
            )
        fold = min(fitting, key=lambda f: tuple(cost(layer, f)))
        chosen.append(fold)
        widths[layer.name] = out_width(layer, fold)
    folding = Folding(tuple(chosen))
    check_folding(net, folding)
    return folding


#: the keys a folding file's row may have
ROW_KEYS = ("layer", "pe", "simd", "weights", "bases")


def _layer_folding(row: object, index: int) -> tuple[str, LayerFolding]:
    """One row of a folding file, strictly typed: PE and SIMD are JSON integers (``2.5``,
    ``2.0``, ``"2"`` and ``true`` are refused, not truncated; :func:`check_folding` wants them
    >= 1), no key but :data:`ROW_KEYS`."""
    if not isinstance(row, dict):
        raise ValueError(f"row {index} is not an object like {{'layer': NAME, 'pe': P, 'simd': S}}")
    name = row.get("layer")
    if not isinstance(name, str) or not name:
        raise ValueError(f"row {index}: 'layer' must be a layer name, got {name!r}")
    unknown = sorted(set(row) - set(ROW_KEYS))
    if unknown:
        raise ValueError(f"layer {name!r}: unknown key {unknown[0]!r} (a row has {ROW_KEYS})")
    numbers = []
    for key in ("pe", "simd"):
        if key not in row:
            raise ValueError(f"layer {name!r}: {key!r} missing")
        value = row[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"layer {name!r}: {key} must be a whole number, got {value!r}")
        numbers.append(value)
    storage = row.get("weights")
    choices = [s.value for s in WeightStorage]
    if storage is not None and storage not in choices:
        raise ValueError(f"layer {name!r}: weights {storage!r} is not one of {choices}")
    bases = row.get("bases")
    if bases is not None and (isinstance(bases, bool) or not isinstance(bases, int)):
        raise ValueError(f"layer {name!r}: bases must be a whole number, got {bases!r}")
    return name, LayerFolding(
        numbers[0], numbers[1], WeightStorage(storage) if storage is not None else None, bases
    )


def load_folding(path: Path, net: Network) -> Folding:
    """Read a folding file: ``{"layers": [{"layer": NAME, "pe": P, "simd": S}, ...]}``, each
    row optionally with ``"weights"``: a :class:`WeightStorage` value (``"constant"``,
    ``"lut_rom"``, ``"block_ram"``, ``"rom"``) that overrides the plan's choice, and a DBF
    unit's row with ``"bases"``: its basis products combined per channel per cycle.

    Raises:
        ConfigError: naming the file (and the layer): unreadable JSON, a row that is not
            strictly typed (:func:`_layer_folding`), a layer named twice, a layer the network
            does not have or lacks, or a folding that does not fit (:func:`check_folding`).
    """
    try:
        doc = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: folding file not found") from None
    except (OSError, ValueError, RecursionError) as exc:
        raise ConfigError(f"{path}: not a folding file ({type(exc).__name__}: {exc})") from None
    rows = doc.get("layers") if isinstance(doc, dict) else None
    if not isinstance(rows, list):
        raise ConfigError(f'{path}: not a folding file (expected {{"layers": [...]}})')
    by_name: dict[str, LayerFolding] = {}
    try:
        for index, row in enumerate(rows):
            name, fold = _layer_folding(row, index)
            if name in by_name:
                raise ValueError(f"layer {name!r} has two rows")
            by_name[name] = fold
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    names = [layer.name for layer in net.layers]
    unknown = [n for n in by_name if n not in names]
    if unknown:
        raise ConfigError(f"{path}: unknown layer {unknown[0]!r}; layers are {names}")
    missing = [n for n in names if n not in by_name]
    if missing:
        raise ConfigError(f"{path}: no folding for layer {missing[0]!r}")
    folding = Folding(tuple(by_name[n] for n in names))
    try:
        check_folding(net, folding)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return folding
