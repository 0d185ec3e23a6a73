"""The IR as a graph: validation of edges and names, save/load (format 2 and the chain format
1), folding over a graph, and the reference's join semantics against plain NumPy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hwbnn.errors import ModelError
from hwbnn.ir.folding import choose_folding, initiation_interval, node_cycles
from hwbnn.ir.serialize import load_network, save_network
from hwbnn.ir.types import (
    AddJoin,
    Concat,
    EdgeType,
    Fork,
    InputFormat,
    InputThreshold,
    MatrixVector,
    Network,
    Threshold,
    ValueKind,
)
from hwbnn.reference import Reference, run_node
from hwbnn.sim.random_graphs import BLOCKS, random_graph_net

FMT = InputFormat((8,), np.arange(4, dtype=np.float32))


def _mv(name: str, mh: int, mw: int, inputs: tuple[str, ...], *, acc: bool = False, out=False):
    rng = np.random.default_rng(len(name) + mh)
    weights = rng.integers(0, 2, (mh, mw)).astype(bool)
    if out:
        return MatrixVector(
            name, weights, 1, 2, out_scale=np.ones(mh), out_bias=np.zeros(mh), inputs=inputs
        )
    thresholds = None if acc else np.full(mh, mw // 2)
    return MatrixVector(name, weights, 1, 2, thresholds=thresholds, inputs=inputs)


def _residual() -> Network:
    """input -> bits -> fork -> (fc acc, shortcut) -> side threshold -> output."""
    side = np.stack([np.full((8, 1), 1), np.full((8, 1), -1)], axis=1)
    return Network(
        FMT,
        (
            InputThreshold("bin", np.full(8, 2), 4),
            Fork("fork", ("bin",)),
            _mv("fc", 8, 8, ("fork",), acc=True),
            Threshold("join", side, ("fc", "fork")),
            _mv("out", 3, 8, ("join",), out=True),
        ),
    )


def test_edges_are_typed_and_ordered() -> None:
    net = _residual()
    assert not net.is_chain
    assert net.edge("fc") == EdgeType(8, None, ValueKind.INT, -8, 8)
    assert net.edge("join").kind is ValueKind.BITS
    assert net.consumers_of("fork") == ("fc", "join")
    assert net.inputs_of("join") == ("fc", "fork")


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        (
            lambda: (InputThreshold("x", np.full(8, 2), 4), _mv("x", 3, 8, (), out=True)),
            "x: duplicate node name",
        ),
        (
            lambda: (InputThreshold("a", np.full(8, 2), 4), _mv("o", 3, 8, ("b",), out=True)),
            "reads 'b', which is not an earlier node",
        ),
        (
            lambda: (
                InputThreshold("a", np.full(8, 2), 4),
                _mv("h", 8, 8, ("a",)),
                _mv("o", 3, 8, ("a",), out=True),
            ),
            "a: read by 2 nodes",
        ),
        (
            lambda: (
                InputThreshold("a", np.full(8, 2), 4),
                Fork("f", ("a",)),
                Threshold("t", np.zeros((8, 2, 1), dtype=int), ("f", "f")),
                _mv("o", 3, 8, ("t",), out=True),
            ),
            "t: thresholds integers, not 8 bits",
        ),
    ],
)
def test_bad_graphs_are_refused(layers, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Network(FMT, layers())


def test_save_load_round_trip_and_duplicate_names_refused(tmp_path: Path) -> None:
    net = _residual()
    save_network(net, tmp_path)
    again = load_network(tmp_path)
    assert [n.name for n in again.layers] == [n.name for n in net.layers]
    assert [again.inputs_of(n.name) for n in again.layers] == [
        net.inputs_of(n.name) for n in net.layers
    ]
    codes = np.random.default_rng(0).integers(0, 4, (20, 8))
    np.testing.assert_array_equal(
        Reference(again).run_codes(codes).accumulators, Reference(net).run_codes(codes).accumulators
    )
    # regression: two layers of one name used to be merged silently by save/load
    doc = json.loads((tmp_path / "ir.json").read_text())
    doc["layers"][2]["name"] = "bin"
    (tmp_path / "ir.json").write_text(json.dumps(doc))
    with pytest.raises(ModelError, match="ir.json: invalid IR .*duplicate node name"):
        load_network(tmp_path)


def test_chain_builds_of_format_1_still_load(tmp_path: Path) -> None:
    chain = Network(FMT, (InputThreshold("bin", np.full(8, 2), 4), _mv("out", 3, 8, (), out=True)))
    save_network(chain, tmp_path)
    doc = json.loads((tmp_path / "ir.json").read_text())
    doc["format"] = "hwbnn-ir-1"
    for entry in doc["layers"]:
        del entry["inputs"]
        entry.pop("emits_acc", None)
    (tmp_path / "ir.json").write_text(json.dumps(doc))
    assert load_network(tmp_path).is_chain
    doc["format"] = "hwbnn-ir-0"
    (tmp_path / "ir.json").write_text(json.dumps(doc))
    with pytest.raises(ModelError, match="compile the model again"):
        load_network(tmp_path)


def test_reference_joins_match_numpy() -> None:
    rng = np.random.default_rng(1)
    acc = rng.integers(-5, 6, (6, 12))
    bits = rng.integers(0, 2, (6, 12))
    t = rng.integers(-3, 4, (4, 2, 2))
    t.sort(axis=2)
    out = run_node(Threshold("t", t, ("a", "b"), out_base=-1), [acc, bits])
    channel = np.arange(12) % 4
    expected = -1 + (acc[..., None] >= t[channel[None, :], bits]).sum(axis=2)
    np.testing.assert_array_equal(out, expected)
    edges = [
        EdgeType(12, (1, 3, 4), ValueKind.INT, -5, 5),
        EdgeType(12, (1, 3, 4), ValueKind.BITS, 0, 1),
    ]
    np.testing.assert_array_equal(
        run_node(AddJoin("s", ("a", "b")), [acc, bits], edges), acc + 2 * bits - 1
    )
    cat = run_node(Concat("c", ("a", "b")), [acc, bits], edges)
    np.testing.assert_array_equal(
        cat.reshape(6, 3, 8), np.concatenate([acc.reshape(6, 3, 4), bits.reshape(6, 3, 4)], axis=2)
    )


@pytest.mark.parametrize("kind", BLOCKS)
def test_graph_folding_meets_the_target(kind: str) -> None:
    net = random_graph_net(np.random.default_rng(2), (1, 6, 6), 4, (kind,), 3)
    folding = choose_folding(net, 400)
    cycles = node_cycles(net, folding)
    assert max(cycles) == initiation_interval(net, folding) <= 400
