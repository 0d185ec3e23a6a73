"""L4: the trained digits conv net (digits-cnn) as generated RTL, bit-exact against the reference.

The network: input thresholds, two padded 3x3 convolutions (sliding window + per-pixel MVAU of 64
pixels), an OR max pool 2x2, an unpadded 3x3 convolution, a dense classifier. Compiled through the
command line at two foldings and simulated under random input gaps and output backpressure (the
cocotb bench on Icarus on 20 digits test images at the fast folding; the same bench on Verilator on
the whole test split at the fast folding and on 100 images at the slow one): every frame must come
out exactly once with the reference's accumulators, and with frames back to back the measured
cycles per frame must be the slowest layer's analytical count
(hwbnn.ir.folding.initiation_interval) within 1%.

- ``ii576``: the fastest folding (the 8x8x16 window generator emits 64*9*16/16 = 576 beats per
  frame), with six layers tied at 576 cycles: every stage runs flat out, so any bubble shows;
- ``ii2304``: four times slower, the MVAUs are the slowest layers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hwbnn.cli import main
from hwbnn.data import load_digits
from hwbnn.ir.folding import choose_folding, initiation_interval, layer_cycles
from hwbnn.ir.serialize import load_network
from hwbnn.ir.types import MatrixVector, MaxPool, SlidingWindow
from hwbnn.reference import Reference, to_codes
from hwbnn.sim.top import SimConfig
from hwbnn.verify.rtl import verify_rtl

TARGETS = {"ii576": 576, "ii2304": 2304}
#: (folding, simulator, test images): Icarus on a few frames (CI time), Verilator on many
CASES = [
    ("ii576", "icarus", 20),
    pytest.param("ii576", "verilator", 360, marks=pytest.mark.verilator),
    pytest.param("ii2304", "verilator", 100, marks=pytest.mark.verilator),
]


def _compile(tmp_path: Path, cnn, name: str) -> Path:
    """compile --target rtl with the cheapest folding meeting the target, as a folding file."""
    folding = choose_folding(cnn.net, TARGETS[name])
    folding_file = tmp_path / f"{name}.json"
    folding_file.write_text(folding.to_json(cnn.net))
    build = tmp_path / name
    argv = ["compile", str(cnn.onnx), "-o", str(build), "--target", "rtl"]
    assert main([*argv, "--folding", str(folding_file)]) == 0
    return build


@pytest.mark.slow
@pytest.mark.parametrize(("name", "simulator", "frames"), CASES)
def test_rtl_under_backpressure(
    tmp_path: Path, digits_cnn, name: str, simulator: str, frames: int
) -> None:
    build = _compile(tmp_path, digits_cnn, name)
    net = load_network(build)
    kinds = {type(layer) for layer in net.layers}
    assert {SlidingWindow, MaxPool, MatrixVector} <= kinds
    assert any(isinstance(la, MatrixVector) and la.pixels > 1 for la in net.layers)
    codes = to_codes(net.input, load_digits().x_test[:frames])
    expected = Reference(net).run_codes(codes)
    assert len(np.unique(expected.accumulators, axis=0)) > frames // 2  # a test that can fail
    cfg = SimConfig(seed=11, gap_prob=0.3, backpressure_prob=0.5, ii_frames=8, simulator=simulator)
    record = verify_rtl(build, codes, cfg)
    assert record.ok, record.problem
    for phase in record.details["phases"]:  # nothing lost, nothing duplicated
        assert phase["frames_received"] == phase["frames"] and phase["mismatches"] == 0
    assert record.details["phases"][0]["frames"] == frames
    assert record.frames == frames  # test frames; the throughput phase resends 8
    ii = record.details["initiation_interval"]
    spacings = record.details["cycle_spacings"]
    assert ii == TARGETS[name]
    folding = json.loads((build / "folding.json").read_text())
    assert len(folding["layers"]) == len(net.layers)
    assert spacings, "no steady-state frame spacing measured"
    # the analytical bound of the slowest layer, within 1%
    assert all(abs(s - ii) <= 0.01 * ii for s in spacings), spacings
    assert record.cycles_per_frame is not None
    assert abs(record.cycles_per_frame - ii) <= 0.01 * ii


def test_tied_folding_is_what_the_test_claims(digits_cnn) -> None:
    """ii576 has several layers at exactly 576 cycles (the hardest case for the pipeline)."""
    net = digits_cnn.net
    folding = choose_folding(net, 576)
    cycles = [layer_cycles(la, f) for la, f in zip(net.layers, folding.layers, strict=True)]
    assert initiation_interval(net, folding) == 576 and cycles.count(576) >= 4, cycles
