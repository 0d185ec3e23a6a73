"""Folding: how many processing elements (PE) and SIMD lanes each layer gets.

For a matrix-vector unit with MH outputs and MW inputs, PE must divide MH and SIMD must divide
MW; one frame takes ``(MH / PE) * (MW / SIMD) * pixels`` cycles. An input-thresholding unit
handles SIMD elements per cycle (``N / SIMD`` cycles per frame; its PE is 1). A sliding window
or a max pool moves SIMD elements of one pixel per beat (PE 1, SIMD divides the channels C); it
takes ``max(in, out) / SIMD`` cycles per frame, where ``out`` counts every K*K*C window element
it emits (a max pool is a sliding window followed by an OR over each window). Forks, add-joins
and thresholds move SIMD elements per beat (SIMD divides the channels of their input), a
concatenation SIMD elements of its output (SIMD divides every input's channels); each takes
``elements / SIMD`` cycles. A node's output stream carries PE (MVAU) or SIMD (the others)
elements per beat and each reader reads its own SIMD per beat; a width converter joins them, so
one of the two must divide the other. The network's initiation interval is the slowest node's
cycle count.

The chooser picks, for a target cycles/frame, the per-node (PE, SIMD) with the fewest lanes in
total (PE * SIMD, the XNOR-popcount lane count) such that every node meets the target,
preferring fewer PEs and wider SIMD (one shared input word) on ties: exactly for a chain, node
by node in topological order for a graph.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from hwbnn.errors import ConfigError
from hwbnn.ir.types import (
    INPUT,
    Concat,
    InputThreshold,
    Layer,
    LayerKind,
    MatrixVector,
    MaxPool,
    Network,
    SlidingWindow,
)


@dataclass(frozen=True)
class LayerFolding:
    pe: int
    simd: int


@dataclass(frozen=True)
class Folding:
    """Per-layer folding, in the order of ``Network.layers``."""

    layers: tuple[LayerFolding, ...]

    def to_json(self, net: Network) -> str:
        rows = [
            {"layer": layer.name, "pe": f.pe, "simd": f.simd}
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
    if isinstance(layer, SlidingWindow):
        return max(layer.in_elements, layer.out_elements) // fold.simd
    if isinstance(layer, MaxPool):
        emitted = layer.pixels * layer.kernel * layer.kernel * layer.channels
        return max(layer.in_elements, emitted) // fold.simd
    if isinstance(layer, MatrixVector):
        return (layer.mh // fold.pe) * (layer.mw // fold.simd) * layer.pixels
    if net is None:
        raise TypeError(f"{layer.name}: the cycles of a {layer.kind.value} need its network")
    return net.edge(layer.name).elements // fold.simd


def vector_width(layer: Layer, net: Network | None = None) -> int:
    """Elements SIMD must divide: the channels of an image stage, MW of an MVAU, the channels
    of a fork's, join's or threshold's input (every input's for a concat), else all."""
    if isinstance(layer, SlidingWindow | MaxPool):
        return layer.channels
    if isinstance(layer, MatrixVector):
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
    """Elements per beat of a layer's output stream."""
    return fold.pe if isinstance(layer, MatrixVector) else fold.simd


_WHAT = {
    LayerKind.INPUT_THRESHOLD: "input thresholding",
    LayerKind.SLIDING_WINDOW: "a sliding window",
    LayerKind.MAX_POOL: "max pooling",
    LayerKind.FORK: "a fork",
    LayerKind.ADD_JOIN: "an add-join",
    LayerKind.CONCAT: "a concatenation",
    LayerKind.THRESHOLD: "a threshold",
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
        if not isinstance(layer, MatrixVector):
            if fold.pe != 1:
                raise ConfigError(f"layer {layer.name}: {_what(layer)} has PE=1")
        elif layer.mh % fold.pe:
            raise ConfigError(f"layer {layer.name}: PE={fold.pe} does not divide MH={layer.mh}")
        width = vector_width(layer, net)
        if width % fold.simd:
            what = "MW" if isinstance(layer, MatrixVector | InputThreshold) else "C"
            raise ConfigError(
                f"layer {layer.name}: SIMD={fold.simd} does not divide {what}={width}"
            )
        for src in net.inputs_of(layer.name):
            produced = widths.get(src)
            if produced is not None and produced % fold.simd and fold.simd % produced:
                raise ConfigError(
                    f"layer {layer.name}: SIMD={fold.simd} and the output width {produced} of "
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


def _options(layer: Layer, net: Network) -> list[LayerFolding]:
    if not isinstance(layer, MatrixVector):
        return [LayerFolding(1, s) for s in _divisors(vector_width(layer, net))]
    return [LayerFolding(p, s) for p in _divisors(layer.mh) for s in _divisors(layer.mw)]


def _compatible(previous: int | None, simd: int) -> bool:
    return previous is None or previous % simd == 0 or simd % previous == 0


def choose_folding(net: Network, target_cycles: int) -> Folding:
    """The folding with the fewest lanes in total (sum of PE * SIMD) that has every layer at or
    below ``target_cycles`` cycles per frame and width-compatible neighbours.

    Feasible whenever every layer can meet the target on its own, except that an image stage's
    SIMD must also divide its channels (raises ConfigError when nothing fits). Solved
    exactly by dynamic programming over the previous layer's output width; ties go to fewer PEs,
    then to wider SIMD.
    """
    if target_cycles < 1:
        raise ConfigError(f"target cycles per frame must be >= 1, got {target_cycles}")
    if not net.is_chain:
        return _choose_graph_folding(net, target_cycles)
    # previous output width -> (cost key, choices so far)
    states: dict[int | None, tuple[tuple[int, int, int], tuple[LayerFolding, ...]]] = {
        None: ((0, 0, 0), ())
    }
    for layer in net.layers:
        meeting = [f for f in _options(layer, net) if layer_cycles(layer, f, net) <= target_cycles]
        following: dict[int | None, tuple[tuple[int, int, int], tuple[LayerFolding, ...]]] = {}
        for previous, ((lanes, pes, simds), chosen) in states.items():
            for fold in meeting:
                if not _compatible(previous, fold.simd):
                    continue
                key = (lanes + fold.pe * fold.simd, pes + fold.pe, simds - fold.simd)
                width = out_width(layer, fold)
                if width not in following or key < following[width][0]:
                    following[width] = (key, (*chosen, fold))
        states = following
        if not states:
            best = min(layer_cycles(layer, f, net) for f in _options(layer, net))
            raise ConfigError(
                f"layer {layer.name}: no folding reaches {target_cycles} cycles/frame with "
                f"stream widths that divide one another (best alone: {best}); raise the target"
            )
    folding = Folding(min(states.values(), key=lambda item: item[0])[1])
    check_folding(net, folding)
    return folding


def _choose_graph_folding(net: Network, target_cycles: int) -> Folding:
    """Node by node in topological order: the cheapest folding (fewest lanes, then fewer PEs,
    then wider SIMD) meeting the target whose SIMD fits every input's stream width."""
    widths: dict[str, int] = {}
    chosen: list[LayerFolding] = []
    for layer in net.layers:
        options = _options(layer, net)
        meeting = [f for f in options if layer_cycles(layer, f, net) <= target_cycles]
        produced = [widths[s] for s in net.inputs_of(layer.name) if s != INPUT]
        fitting = [f for f in meeting if all(_compatible(w, f.simd) for w in produced)]
        if not fitting:
            best = min(layer_cycles(layer, f, net) for f in options)
            raise ConfigError(
                f"layer {layer.name}: no folding reaches {target_cycles} cycles/frame with "
                f"stream widths that divide its inputs' {produced} (best alone: {best}); raise "
                f"the target or give a folding file"
            )
        fold = min(fitting, key=lambda f: (f.pe * f.simd, f.pe, -f.simd))
        chosen.append(fold)
        widths[layer.name] = out_width(layer, fold)
    folding = Folding(tuple(chosen))
    check_folding(net, folding)
    return folding


def load_folding(path: Path, net: Network) -> Folding:
    """Read a folding file: ``{"layers": [{"layer": NAME, "pe": P, "simd": S}, ...]}``."""
    try:
        doc = json.loads(Path(path).read_text())
        rows = doc["layers"]
        by_name = {row["layer"]: LayerFolding(int(row["pe"]), int(row["simd"])) for row in rows}
    except FileNotFoundError:
        raise ConfigError(f"{path}: folding file not found") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: not a folding file ({type(exc).__name__}: {exc})") from None
    names = [layer.name for layer in net.layers]
    unknown = sorted(set(by_name) - set(names))
    if unknown:
        raise ConfigError(f"{path}: unknown layer {unknown[0]!r}; layers are {names}")
    missing = [n for n in names if n not in by_name]
    if missing:
        raise ConfigError(f"{path}: no folding for layer {missing[0]!r}")
    folding = Folding(tuple(by_name[n] for n in names))
    check_folding(net, folding)
    return folding
