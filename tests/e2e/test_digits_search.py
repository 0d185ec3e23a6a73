"""Issue 19's acceptance, per search method: a small ``hwbnn search`` on digits produces a
genotype; the network trained from it for 5 epochs (``hwbnn train --genotype``'s path) gives
L0, L1 (qonnx execute_onnx) and L2 labels equal on the whole test split, its generated RTL is
bit-exact on 20 test images under random input gaps and output backpressure (the fast
Verilator engine), and its generated HLS C-simulates exactly on the whole split.

The search is the smallest that runs the whole reduction schedule: 4 channels per node, a stem
of 8, 6 epochs (one of warm-up, then a reduction after every epoch until one operation is left
on every edge)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cells_checks import csim_exact, rtl_exact
from trained_nets import _train_export_lower

from hwbnn.cli import main
from hwbnn.data import load_digits
from hwbnn.export import load_qonnx
from hwbnn.nn.genotype import OPS, Op, load_genotype
from hwbnn.train import load_checkpoint
from hwbnn.verify.ladder import run_ladder
from hwbnn.verify.record import Level

SEARCH = ["--dataset", "digits", "--epochs", "6", "--warmup", "1", "--every", "1"]
SEARCH += ["--channels", "4", "--stem-channels", "8", "--seed", "1", "--json"]


@pytest.mark.slow
@pytest.mark.verilator
@pytest.mark.parametrize("method", ["bnas", "cpnas"])
def test_found_network_trains_and_runs_exactly(tmp_path: Path, method: str) -> None:
    """One test per method (a search's fixture would run once per xdist worker)."""
    search = tmp_path / "search"
    assert main(["search", "--method", method, *SEARCH, "--out", str(search)]) == 0
    genotype = load_genotype(search / "genotype.json")
    assert genotype.search["method"] == method and genotype.channels == 4
    ops = {edge.op for cell in (genotype.normal, genotype.reduce) for n in cell.nodes for edge in n}
    assert ops <= set(OPS) - {Op.ZERO}
    record = json.loads((search / "genotype.json").read_text())["search"]
    assert len(record["reductions"]) == len(OPS) - 1  # every edge reduced to one operation

    trained = _train_export_lower(
        tmp_path / "train", "binary", 5, "digits-mlp", genotype=search / "genotype.json"
    )
    model, checkpoint = load_checkpoint(trained.checkpoint)
    assert checkpoint["model"]["genotype"]["normal"] == genotype.to_dict()["normal"]
    assert trained.test_accuracy > 0.3  # it learnt something in 5 epochs (10 classes)

    data = load_digits()
    records = run_ladder(trained.net, data.x_test, data.y_test, model, load_qonnx(trained.onnx))
    assert [r.level for r in records] == [Level.L0, Level.L1, Level.L2]
    assert all(r.ok for r in records), [r.first_mismatch for r in records]
    assert records[2].frames == 360 and records[2].details["label_mismatches"] == 0
    assert records[2].details["accumulators_vs_torch_mismatches"] == 0

    rtl_exact(trained.onnx, tmp_path / "rtl", 20)
    csim_exact(trained.onnx, tmp_path / "hls")
