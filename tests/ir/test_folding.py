"""Folding: the cycles formula, the chooser's contract, folding files and their errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hwbnn.errors import ConfigError
from hwbnn.ir.folding import (
    Folding,
    LayerFolding,
    WeightStorage,
    check_folding,
    choose_folding,
    in_width,
    initiation_interval,
    layer_cycles,
    load_folding,
    max_cycles,
    out_width,
)
from hwbnn.ir.types import InputThreshold, MatrixVector, Network
from hwbnn.sim.random_nets import random_mlp


def _net() -> Network:
    # input_threshold (12) -> fc0 12x8 -> fc1 8x6 -> fc2 6x4
    return random_mlp(np.random.default_rng(0), 12, [8, 6], 4, 16)


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _compatible(previous: int | None, simd: int) -> bool:
    return previous is None or previous % simd == 0 or simd % previous == 0


def _out_width(layer, fold: LayerFolding) -> int:
    return fold.simd if isinstance(layer, InputThreshold) else fold.pe


def test_cycles_formula() -> None:
    net = _net()
    thresholds, fc0, fc1, fc2 = net.layers
    assert layer_cycles(thresholds, LayerFolding(1, 3)) == 12 // 3
    assert layer_cycles(fc0, LayerFolding(2, 4)) == (8 // 2) * (12 // 4)
    assert layer_cycles(fc1, LayerFolding(6, 8)) == 1
    assert layer_cycles(fc2, LayerFolding(1, 1)) == 4 * 6
    folding = Folding(
        (LayerFolding(1, 3), LayerFolding(2, 4), LayerFolding(6, 8), LayerFolding(1, 1))
    )
    assert initiation_interval(net, folding) == max(4, 12, 1, 24) == 24
    assert max_cycles(net) == max(12, 8 * 12, 6 * 8, 4 * 6) == 96


@settings(max_examples=40, deadline=None, database=None)
@given(
    seed=st.integers(0, 2**16),
    inputs=st.sampled_from([4, 6, 8, 9, 12]),
    hidden=st.lists(st.sampled_from([2, 3, 4, 6, 8, 9, 12]), min_size=1, max_size=2),
    classes=st.sampled_from([2, 3, 5, 10]),
    binarize=st.booleans(),
    target=st.integers(1, 200),
)
def test_chooser_meets_target_at_least_lanes(
    seed: int, inputs: int, hidden: list[int], classes: int, binarize: bool, target: int
) -> None:
    """Every layer meets the target, widths are compatible, and the total lane count is the
    minimum over ALL foldings that do so (brute force over every combination)."""
    import itertools

    net = random_mlp(np.random.default_rng(seed), inputs, hidden, classes, 4, binarize)
    folding = choose_folding(net, target)
    check_folding(net, folding)
    assert initiation_interval(net, folding) <= target
    per_layer = []
    for layer in net.layers:
        if isinstance(layer, InputThreshold):
            options = [LayerFolding(1, s) for s in _divisors(layer.in_elements)]
        else:
            assert isinstance(layer, MatrixVector)
            options = [LayerFolding(p, s) for p in _divisors(layer.mh) for s in _divisors(layer.mw)]
        per_layer.append([f for f in options if layer_cycles(layer, f) <= target])
    best = None
    for combo in itertools.product(*per_layer):
        previous: int | None = None
        ok = True
        for layer, fold in zip(net.layers, combo, strict=True):
            ok = ok and _compatible(previous, fold.simd)
            previous = _out_width(layer, fold)
        if ok:
            lanes = sum(f.pe * f.simd for f in combo)
            best = lanes if best is None else min(best, lanes)
    assert sum(f.pe * f.simd for f in folding.layers) == best


def test_chooser_defaults_and_extremes() -> None:
    net = _net()
    slowest = choose_folding(net, max_cycles(net))
    assert all(f == LayerFolding(1, 1) for f in slowest.layers)
    fastest = choose_folding(net, 1)
    assert initiation_interval(net, fastest) == 1
    assert [(f.pe, f.simd) for f in fastest.layers] == [(1, 12), (8, 12), (6, 8), (4, 6)]
    with pytest.raises(ConfigError, match="must be >= 1"):
        choose_folding(net, 0)


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text(json.dumps({"layers": rows}))
    return path


def test_load_folding_round_trip(tmp_path: Path) -> None:
    net = _net()
    folding = choose_folding(net, 10)
    path = tmp_path / "folding.json"
    path.write_text(folding.to_json(net))
    assert load_folding(path, net) == folding
    # the order of the rows does not matter, the names do
    rows = json.loads(path.read_text())["layers"][::-1]
    assert load_folding(_write(tmp_path / "rev.json", rows), net) == folding


def test_folding_file_weight_storage(tmp_path: Path) -> None:
    """A row's optional "weights" overrides the plan's storage and survives to_json."""
    net = _net()
    rows = json.loads(Folding(tuple(LayerFolding(1, 1) for _ in net.layers)).to_json(net))
    assert all("weights" not in row for row in rows["layers"])
    rows["layers"][1]["weights"] = "lut_rom"
    folding = load_folding(_write(tmp_path / "f.json", rows["layers"]), net)
    assert folding.layers[1] == LayerFolding(1, 1, WeightStorage.LUT_ROM)
    assert folding.layers[2].weights is None
    assert json.loads(folding.to_json(net))["layers"][1]["weights"] == "lut_rom"
    rows["layers"][1]["weights"] = "distributed"
    with pytest.raises(ConfigError, match="weights 'distributed' is not one of"):
        load_folding(_write(tmp_path / "g.json", rows["layers"]), net)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda rows: rows + [{"layer": "fc9", "pe": 1, "simd": 1}], "unknown layer 'fc9'"),
        (lambda rows: rows[:2] + rows[3:], "no folding for layer 'fc1'"),
        (
            lambda rows: [dict(r, pe=3) if r["layer"] == "fc0" else r for r in rows],
            "layer fc0: PE=3 does not divide MH=8",
        ),
        (
            lambda rows: [dict(r, simd=5) if r["layer"] == "fc1" else r for r in rows],
            "layer fc1: SIMD=5 does not divide MW=8",
        ),
        (
            lambda rows: [dict(r, simd=5) if r["layer"] == "input_threshold" else r for r in rows],
            "layer input_threshold: SIMD=5 does not divide MW=12",
        ),
        (
            lambda rows: [dict(r, pe=2) if r["layer"] == "input_threshold" else r for r in rows],
            "layer input_threshold: input thresholding has PE=1",
        ),
        (
            lambda rows: [dict(r, pe=0) if r["layer"] == "fc2" else r for r in rows],
            "layer fc2: PE and SIMD must be >= 1",
        ),
    ],
    ids=["unknown", "missing", "pe-divides", "simd-divides", "input-simd", "input-pe", "zero"],
)
def test_load_folding_errors_name_the_layer(tmp_path: Path, edit, message: str) -> None:
    net = _net()
    rows = json.loads(Folding(tuple(LayerFolding(1, 1) for _ in net.layers)).to_json(net))
    path = _write(tmp_path / "f.json", edit(rows["layers"]))
    with pytest.raises(ConfigError) as info:
        load_folding(path, net)
    assert message in str(info.value)


def test_width_compatibility_is_checked(tmp_path: Path) -> None:
    """Adjacent stream widths must divide one another (a width converter joins them)."""
    net = _net()
    rows = [
        {"layer": "input_threshold", "pe": 1, "simd": 4},
        {"layer": "fc0", "pe": 4, "simd": 3},  # SIMD 3 vs input-threshold width 4
        {"layer": "fc1", "pe": 1, "simd": 1},
        {"layer": "fc2", "pe": 1, "simd": 1},
    ]
    with pytest.raises(
        ConfigError, match="layer fc0: SIMD=3 and the output width 4 of input_threshold"
    ):
        load_folding(_write(tmp_path / "f.json", rows), net)
    rows[1]["simd"] = 2  # 4 % 2 == 0: a narrowing converter
    rows[2]["simd"] = 8  # 8 % 4 == 0: a widening converter
    folding = load_folding(_write(tmp_path / "g.json", rows), net)
    check_folding(net, folding)
    with pytest.raises(ConfigError, match="folding has 3 entries"):
        check_folding(net, Folding(folding.layers[:3]))


def test_load_folding_bad_files(tmp_path: Path) -> None:
    net = _net()
    with pytest.raises(ConfigError, match="folding file not found"):
        load_folding(tmp_path / "absent.json", net)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not a folding file"):
        load_folding(tmp_path / "bad.json", net)
    (tmp_path / "nokey.json").write_text(json.dumps({"layers": [{"layer": "fc0"}]}))
    with pytest.raises(ConfigError, match="nokey.json: layer 'fc0': 'pe' missing"):
        load_folding(tmp_path / "nokey.json", net)


def test_image_layers_fold_by_channels_and_count_pixels():
    from hwbnn.ir.folding import layer_cycles, vector_width
    from hwbnn.ir.types import InputFormat, MaxPool, SlidingWindow

    fmt = InputFormat((2, 6, 6), np.array([0.0, 1.0], dtype=np.float32))
    swg = SlidingWindow("swg", (6, 6, 2), 3, 1, (1, 1, 1, 1))
    conv = MatrixVector(
        "conv", np.ones((4, 18), dtype=bool), 1, 2, thresholds=np.full(4, 9), pixels=36
    )
    pool = MaxPool("pool", (6, 6, 4), 2, 2)
    fc = MatrixVector(
        "fc", np.ones((3, 36), dtype=bool), 1, 2, out_scale=np.ones(3), out_bias=np.zeros(3)
    )
    net = Network(fmt, (swg, conv, pool, fc))
    assert [vector_width(layer) for layer in net.layers] == [2, 18, 4, 36]
    assert layer_cycles(swg, LayerFolding(1, 1)) == 36 * 18
    assert layer_cycles(conv, LayerFolding(2, 9)) == 2 * 2 * 36
    assert layer_cycles(pool, LayerFolding(1, 2)) == 144 // 2
    folding = choose_folding(net, 400)
    check_folding(net, folding)
    assert initiation_interval(net, folding) <= 400
    # SIMD = m*C with m | K*K: m window positions per output beat, one input pixel per beat
    assert layer_cycles(swg, LayerFolding(1, 2)) == 36 * 18 // 2
    assert layer_cycles(swg, LayerFolding(1, 6)) == 36 * 18 // 6
    assert layer_cycles(swg, LayerFolding(1, 18)) == 36  # input-bound: 36 pixels
    assert choose_folding(net, 200).layers[0] == LayerFolding(1, 6)
    assert choose_folding(net, 36).layers[0] == LayerFolding(1, 18)
    with pytest.raises(ConfigError, match="layer swg: no folding reaches 35 cycles/frame"):
        choose_folding(net, 35)
    with pytest.raises(ConfigError, match="layer swg: SIMD=4 does not divide C=2"):
        check_folding(net, Folding((LayerFolding(1, 4), *folding.layers[1:])))
    with pytest.raises(ConfigError, match="layer swg: SIMD=12 does not divide C=2 and is not"):
        check_folding(net, Folding((LayerFolding(1, 12), *folding.layers[1:])))
    # a pool at SIMD = m*C: m positions per window beat, one pixel (C) in and out per beat
    assert layer_cycles(pool, LayerFolding(1, 8)) == 144 // 4
    assert out_width(pool, LayerFolding(1, 8)) == in_width(pool, LayerFolding(1, 8)) == 4
    fc_at_4 = LayerFolding(3, 4)  # reads the pool's 4-element beats
    check_folding(net, Folding((*folding.layers[:2], LayerFolding(1, 16), fc_at_4)))
    with pytest.raises(ConfigError, match="layer pool: SIMD=12 does not divide C=4 and is not"):
        check_folding(net, Folding((*folding.layers[:2], LayerFolding(1, 12), fc_at_4)))
    with pytest.raises(ConfigError, match="layer pool: max pooling has PE=1"):
        check_folding(net, Folding((*folding.layers[:2], LayerFolding(2, 1), folding.layers[3])))
