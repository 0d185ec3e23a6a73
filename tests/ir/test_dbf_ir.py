"""DBFMatrixVector (hwbnn.ir.dbf): its arithmetic on a hand-computed example, its ranges, its
checks, its round trip through ir.json/ir.npz, and its folding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hwbnn.errors import ConfigError, ModelError
from hwbnn.ir.folding import (
    Folding,
    LayerFolding,
    check_folding,
    choose_folding,
    initiation_interval,
    layer_cycles,
    load_folding,
)
from hwbnn.ir.serialize import load_network, save_network
from hwbnn.ir.types import DBFMatrixVector, InputFormat, Network
from hwbnn.nn.ovsf import filter_codes
from hwbnn.reference import Reference, run_layer

#: the 2 OVSF codes of a 4-element filter: [+1 +1 +1 +1], [+1 -1 +1 -1]
CODES = filter_codes(4, 2) > 0
ALPHA = np.array([[1, 2], [-3, 1], [0, -1]])


def test_hand_computed_example() -> None:
    # x = [+1 -1 -1 +1]: d_0 = 1 - 1 - 1 + 1 = 0, d_1 = 1 + 1 - 1 - 1 = 0
    # x = [+1 +1 +1 -1]: d_0 = 2, d_1 = 1 - 1 + 1 + 1 = 2 -> y = (1*2 + 2*2, -6 + 2, -2)
    x = np.array([[1, 0, 0, 1], [1, 1, 1, 0]])
    out = DBFMatrixVector("d", CODES, ALPHA, 1, 2, out_scale=np.ones(3), out_bias=np.zeros(3))
    assert run_layer(out, x).tolist() == [[0, 0, 0], [6, -4, -2]]
    hidden = DBFMatrixVector("d", CODES, ALPHA, 1, 2, thresholds=np.array([6, -4, -1]))
    assert run_layer(hidden, x).tolist() == [[0, 1, 1], [1, 1, 0]]
    # |d| <= 4, max_c sum_m |alpha_cm| = 4: y in [-16, 16]
    assert out.acc_range == (-16, 16) and out.acc_bits == 6 and out.basis_bits == 4
    assert out.alpha_bits == 3


def test_integer_input() -> None:
    # codes k = [3, 0, 1, 2]: d_0 = 6, d_1 = 3 - 0 + 1 - 2 = 2
    out = DBFMatrixVector("d", CODES, ALPHA, 2, 4, out_scale=np.ones(3), out_bias=np.zeros(3))
    assert run_layer(out, np.array([[3, 0, 1, 2]])).tolist() == [[10, -16, -2]]
    assert out.basis_range == (-12, 12)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"thresholds": np.array([0, 0, 18])}, "thresholds must be"),
        ({"alpha": np.ones((3, 3), dtype=np.int64)}, "alpha must be an integer"),
        ({"alpha": ALPHA.astype(np.float64)}, "alpha must be an integer"),
        ({"codes": CODES.astype(np.int64)}, "codes must be"),
        ({"thresholds": None}, "either thresholds or out_scale"),
    ],
)
def test_invalid_nodes_are_refused(kwargs: dict, message: str) -> None:
    args = {"codes": CODES, "alpha": ALPHA, "thresholds": np.zeros(3, dtype=np.int64)} | kwargs
    with pytest.raises(ValueError, match=message):
        DBFMatrixVector("d", args["codes"], args["alpha"], 1, 2, thresholds=args["thresholds"])


def _network() -> Network:
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 2, (4, 16)).astype(bool)
    hidden = DBFMatrixVector(
        "h", codes, rng.integers(-7, 8, (8, 4)), 1, 2, thresholds=rng.integers(-20, 20, 8)
    )
    out = DBFMatrixVector(
        "o",
        rng.integers(0, 2, (2, 8)).astype(bool),
        rng.integers(-3, 4, (3, 2)),
        1,
        2,
        out_scale=np.array([0.5, 1.0, 0.25]),
        out_bias=np.array([0.0, -1.0, 2.0]),
    )
    return Network(InputFormat((16,), np.array([0.0, 1.0])), (hidden, out))


def test_round_trip(tmp_path: Path) -> None:
    net = _network()
    save_network(net, tmp_path)
    back = load_network(tmp_path)
    for a, b in zip(net.layers, back.layers, strict=True):
        assert isinstance(a, DBFMatrixVector) and isinstance(b, DBFMatrixVector)
        assert np.array_equal(a.codes, b.codes) and np.array_equal(a.alpha, b.alpha)
        assert (a.thresholds is None) == (b.thresholds is None)
        if a.thresholds is not None:
            assert np.array_equal(a.thresholds, b.thresholds)
    codes = np.random.default_rng(1).integers(0, 2, (50, 16))
    assert np.array_equal(
        Reference(net).run_codes(codes).accumulators, Reference(back).run_codes(codes).accumulators
    )


def test_damaged_alpha_is_refused(tmp_path: Path) -> None:
    save_network(_network(), tmp_path)
    arrays = dict(np.load(tmp_path / "ir.npz"))
    arrays["h.alpha"] = arrays["h.alpha"][:, :3]
    np.savez(tmp_path / "ir.npz", **arrays)
    with pytest.raises(ModelError, match="node h: ir.npz alpha is"):
        load_network(tmp_path)


def test_folding_overlaps_the_two_stages(tmp_path: Path) -> None:
    net = _network()
    hidden = net.layers[0]  # MH 8, MW 16, M 4
    assert layer_cycles(hidden, LayerFolding(2, 4)) == max(8 // 2, 16 // 4)
    assert layer_cycles(hidden, LayerFolding(1, 16)) == 8
    assert layer_cycles(hidden, LayerFolding(2, 16, bases=1)) == (8 // 2) * 4
    folding = Folding((LayerFolding(2, 4, bases=2), LayerFolding(3, 2)))
    check_folding(net, folding)
    (tmp_path / "f.json").write_text(folding.to_json(net))
    assert load_folding(tmp_path / "f.json", net) == folding
    with pytest.raises(ConfigError, match="PE=3 does not divide MH=8"):
        check_folding(net, Folding((LayerFolding(3, 4), LayerFolding(1, 1))))
    with pytest.raises(ConfigError, match="bases=3 does not divide its M=4 bases"):
        check_folding(net, Folding((LayerFolding(2, 4, bases=3), LayerFolding(1, 1))))


def test_chooser_folds_the_bases() -> None:
    """At a slow target the chooser combines fewer bases per cycle (fewer multipliers)."""
    net = _network()
    fast, slow = choose_folding(net, 2), choose_folding(net, 32)
    assert initiation_interval(net, fast) <= 2 and initiation_interval(net, slow) <= 32
    hidden = net.layers[0]
    assert fast.layers[0].bases_per_cycle(hidden) == 4
    assert slow.layers[0].bases_per_cycle(hidden) == 1
