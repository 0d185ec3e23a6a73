"""Genotype: the file form round-trips and bad files fail in one line naming the field."""

from __future__ import annotations

import json

import pytest

from hwbnn.errors import ConfigError
from hwbnn.nn.genotype import Cell, CellKind, Edge, Genotype, Op, load_genotype


def _genotype() -> Genotype:
    normal = Cell(((Edge(Op.CONV_3X3, 0), Edge(Op.IDENTITY, 1)), (Edge(Op.AVG_POOL_3X3, 2),)))
    reduce = Cell(((Edge(Op.MAX_POOL_3X3, 1),), (Edge(Op.DIL_CONV_3X3, 0), Edge(Op.CONV_5X5, 2))))
    return Genotype(normal, reduce, ("normal", "reduce"), 8, 16, {"method": "bnas", "seed": 3})


def test_round_trip_through_the_file(tmp_path):
    g = _genotype()
    g.save(tmp_path / "genotype.json")
    back = load_genotype(tmp_path / "genotype.json")
    assert back == g and back.search == {"method": "bnas", "seed": 3}
    assert back.layout == (CellKind.NORMAL, CellKind.REDUCE)
    data = json.loads((tmp_path / "genotype.json").read_text())
    assert data["normal"] == [[["conv_3x3", 0], ["identity", 1]], [["avg_pool_3x3", 2]]]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "darts"}, "format is 'darts'"),
        ({"normal": [[["conv_7x7", 0]]]}, "normal: not a list"),
        ({"reduce": [[["conv_3x3", 2]], [["identity", 0]]]}, "reduce: node 2: source 2"),
        ({"normal": [[["zero", 0]], [["identity", 1]]]}, "zero edges"),
        ({"layout": ["normal", "wide"]}, "'wide' is not a valid CellKind"),
        ({"channels": 0}, "channels and stem_channels must be positive"),
    ],
)
def test_bad_files_fail_naming_the_field(tmp_path, change, message):
    data = _genotype().to_dict() | change
    path = tmp_path / "g.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=message):
        load_genotype(path)


def test_missing_file_and_missing_field(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the genotype"):
        load_genotype(tmp_path / "none.json")
    data = _genotype().to_dict()
    del data["stem_channels"]
    (tmp_path / "g.json").write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="missing field 'stem_channels'"):
        load_genotype(tmp_path / "g.json")
