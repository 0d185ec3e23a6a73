"""The chooser's cost argument: the dynamic program is exact for any additive per-layer cost
(brute force over every combination), the default is the lanes key, and graphs take the
cheapest fitting folding node by node."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hwbnn.ir.folding import (
    Folding,
    LayerFolding,
    check_folding,
    choose_folding,
    in_width,
    initiation_interval,
    lanes_cost,
    layer_cycles,
    out_width,
)
from hwbnn.ir.types import InputThreshold, Layer, MatrixVector
from hwbnn.sim.random_nets import random_mlp


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _options(layer: Layer) -> list[LayerFolding]:
    if isinstance(layer, InputThreshold):
        return [LayerFolding(1, s) for s in _divisors(layer.in_elements)]
    assert isinstance(layer, MatrixVector)
    return [LayerFolding(p, s) for p in _divisors(layer.mh) for s in _divisors(layer.mw)]


def _random_cost(seed: int):
    """A made-up additive cost: two random integers per (layer, folding)."""
    rng = np.random.default_rng(seed)
    table: dict[tuple[str, LayerFolding], tuple[int, int]] = {}

    def cost(layer: Layer, fold: LayerFolding) -> tuple[int, int]:
        key = (layer.name, fold)
        if key not in table:
            table[key] = (int(rng.integers(0, 20)), int(rng.integers(0, 3)))
        return table[key]

    return cost


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("target", [1, 6, 24, 96])
def test_chooser_is_exact_for_any_cost(seed: int, target: int) -> None:
    """The folding chosen for a random cost has the least summed cost (lexicographic) over
    every width-compatible combination meeting the target."""
    net = random_mlp(np.random.default_rng(seed), 12, [8, 6], 4, 16)
    cost = _random_cost(seed)
    folding = choose_folding(net, target, cost)
    check_folding(net, folding)
    assert initiation_interval(net, folding) <= target

    def total(combo: tuple[LayerFolding, ...]) -> tuple[int, int]:
        parts = [cost(layer, f) for layer, f in zip(net.layers, combo, strict=True)]
        return (sum(p[0] for p in parts), sum(p[1] for p in parts))

    per_layer = [[f for f in _options(la) if layer_cycles(la, f) <= target] for la in net.layers]
    best = None
    for combo in itertools.product(*per_layer):
        previous = None
        ok = True
        for layer, fold in zip(net.layers, combo, strict=True):
            reads = in_width(layer, fold)
            ok = ok and (previous is None or previous % reads == 0 or reads % previous == 0)
            previous = out_width(layer, fold)
        if ok:
            best = total(combo) if best is None else min(best, total(combo))
    assert total(folding.layers) == best


class _ConverterCost:
    """A made-up cost with converters: random per (layer, folding), and the width difference
    for a converter between layers of different stream widths."""

    def __init__(self, seed: int) -> None:
        self.layer_cost = _random_cost(seed)

    def __call__(self, layer: Layer, fold: LayerFolding) -> tuple[int, int]:
        return self.layer_cost(layer, fold)

    def converter(self, layer: Layer, previous: int, simd: int) -> tuple[int, int]:
        return (abs(previous - simd), 0)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("target", [1, 24])
def test_chooser_prices_converters_exactly(seed: int, target: int) -> None:
    """With a cost that prices converters the chosen folding has the least summed cost over
    every combination, converters between layers of different widths included."""
    net = random_mlp(np.random.default_rng(seed), 12, [8, 6], 4, 16)
    cost = _ConverterCost(seed)
    folding = choose_folding(net, target, cost)

    def total(combo: tuple[LayerFolding, ...]) -> tuple[int, int] | None:
        first = second = 0
        previous = None
        for layer, fold in zip(net.layers, combo, strict=True):
            reads = in_width(layer, fold)
            if previous is not None and previous % reads != 0 and reads % previous != 0:
                return None
            a, b = cost(layer, fold)
            first, second = first + a, second + b
            if previous is not None and previous != reads:
                first += cost.converter(layer, previous, reads)[0]
            previous = out_width(layer, fold)
        return (first, second)

    per_layer = [[f for f in _options(la) if layer_cycles(la, f) <= target] for la in net.layers]
    totals = [t for combo in itertools.product(*per_layer) if (t := total(combo)) is not None]
    assert total(folding.layers) == min(totals)


def test_default_cost_is_the_lanes_key() -> None:
    net = random_mlp(np.random.default_rng(1), 12, [8, 6], 4, 16)
    for target in (1, 10, 40):
        assert choose_folding(net, target) == choose_folding(net, target, lanes_cost)
    assert lanes_cost(net.layers[1], LayerFolding(2, 4)) == (8, 2, -4)


def test_cost_decides_between_foldings() -> None:
    """A cost that penalises wide SIMD picks more PEs at the same target."""
    net = random_mlp(np.random.default_rng(2), 12, [8], 4, 16)

    def narrow(layer: Layer, fold: LayerFolding) -> tuple[int]:
        return (fold.simd**2 + fold.pe,)

    lanes = choose_folding(net, 6)
    cheap = choose_folding(net, 6, narrow)
    assert lanes != cheap
    fc0 = 1
    assert cheap.layers[fc0].simd < lanes.layers[fc0].simd
    assert initiation_interval(net, cheap) <= 6


def test_cost_of_a_changing_length_is_refused() -> None:
    net = random_mlp(np.random.default_rng(3), 12, [8], 4, 16)

    def ragged(layer: Layer, fold: LayerFolding) -> tuple[int, ...]:
        return (1,) if isinstance(layer, InputThreshold) else (1, 2)

    with pytest.raises(ValueError, match="must keep its length"):
        choose_folding(net, 12, ragged)


def test_graph_chooser_takes_the_cost() -> None:
    from hwbnn.sim.random_graphs import random_graph_net

    net = random_graph_net(np.random.default_rng(0), (1, 6, 6), 4, ("identity", "add"), 3)
    assert not net.is_chain
    lanes = choose_folding(net, 400)
    widest = choose_folding(net, 400, lambda layer, fold: (-fold.simd * fold.pe,))
    check_folding(net, widest)
    assert sum(f.pe * f.simd for f in widest.layers) > sum(f.pe * f.simd for f in lanes.layers)
    assert isinstance(widest, Folding) and initiation_interval(net, widest) <= 400
